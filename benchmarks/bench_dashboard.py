"""Latency of the factory dashboard endpoints on the demo data (p50/p95), cached and uncached.

Usage: python benchmarks/bench_dashboard.py [--requests 200] [--only TEXT] [--data-dir DIR]
           [--baseline SRC_DIR [--rounds 2]]

Seeds a data folder with the demo tenants and factories (7 days of simulated history for
`saigon-precision`, 8 machines, 2-minute samples; reused when `--data-dir` already holds them),
signs in, and times each endpoint through the ASGI app in-process (no network). Modes:

- `uncached`: the live board's 0.5 s cache is emptied before each request, so every request runs
  the KPI queries and renders the partial (what one viewer polling alone sees each second);
- `cached`: what a second viewer polling the same board within 0.5 s sees.

Each row gives the 1-minute load average before and after it (this benchmark itself adds about 1
while it runs; other processes on the machine count too).

`--baseline SRC_DIR` compares with another version of the code, in the same conditions: each
row runs alternately with `lighthouse_os` imported from SRC_DIR and from this checkout, in
`--rounds` pairs of fresh processes on the same seeded data. Make SRC_DIR with e.g.
`git archive <commit> src | tar -x -C /tmp/before` and pass `/tmp/before/src`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

import lighthouse_os
from lighthouse_os.app import create_app
from lighthouse_os.auth.demo import DEMO_PASSWORD, seed_identity
from lighthouse_os.bootstrap import initialise
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.kpi.demo import seed_factories
from lighthouse_os.settings import Settings

SITE = "saigon-precision"
LIVE = ("uncached", "cached")
API = ("uncached",)
ENDPOINTS = (
    ("live partial, shift", f"/sites/{SITE}/kpi/live?period=shift", LIVE),
    ("live partial, day", f"/sites/{SITE}/kpi/live?period=day", LIVE),
    ("live partial, month", f"/sites/{SITE}/kpi/live?period=month", LIVE),
    ("API oee machine/day (14 d)", f"/api/v1/sites/{SITE}/kpi/oee?level=machine&period=day", API),
    ("API oee site/shift (2 d)", f"/api/v1/sites/{SITE}/kpi/oee?level=site&period=shift", API),
    ("API energy line/day (14 d)", f"/api/v1/sites/{SITE}/kpi/energy?level=line&period=day", API),
    ("API power-factor (7 d)", f"/api/v1/sites/{SITE}/kpi/power-factor", API),
)
ROW = "ROW "  # a child process's machine-readable result line (with --baseline)


def seed(data_dir: Path) -> Settings:
    """A data folder with the demo identity and factories (seeded once per folder)."""
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    marker = data_dir / ".bench-dashboard-seeded"
    if marker.exists():
        print(f"reusing the seeded data folder {data_dir}")
        return settings
    initialise(settings)
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        seed_identity(settings, session)
        session.commit()
        began = time.perf_counter()
        print(seed_factories(settings, session), f"({time.perf_counter() - began:.1f} s)")
    engine.dispose()
    marker.touch()
    return settings


def sign_in(client: TestClient) -> None:
    """Sign in as the demo factory admin through the form."""
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    token = found.group(1) if found else ""
    form = {
        "email": "factory@demo.lighthouse-os.vn",
        "password": DEMO_PASSWORD,
        "csrf_token": token,
    }
    client.post("/login", data={**form, "next": "/"}, follow_redirects=False)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def load_average() -> float:
    """The 1-minute load average (this process and every other one on the machine)."""
    return os.getloadavg()[0]


def source(package_dir: Path) -> str:
    """`package_dir` and its git commit when it is in a checkout."""
    run = subprocess.run(
        ["git", "-C", str(package_dir), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        return str(package_dir)
    dirty = subprocess.run(
        ["git", "-C", str(package_dir), "status", "--porcelain", "--", "."],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{package_dir} (commit {run.stdout.strip()}{', with local changes' if dirty else ''})"


def clearer(app: object, mode: str) -> Callable[[], None]:
    """What to empty before each request of `mode`."""
    state = app.state  # type: ignore[attr-defined]

    def clear() -> None:
        if mode == "uncached":
            getattr(state, "kpi_boards", {}).clear()

    return clear


def rows(only: str) -> list[tuple[str, str, str]]:
    """(label, path, mode) of every row whose label contains `only`."""
    return [(label, path, m) for label, path, modes in ENDPOINTS if only in label for m in modes]


def main() -> None:
    """Seed, then time every endpoint (or compare with `--baseline`)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per row")
    parser.add_argument("--only", default="", help="only endpoints whose label contains this")
    parser.add_argument("--mode", choices=("uncached", "cached"), help="only this mode")
    parser.add_argument("--data-dir", type=Path, help="seed here once and reuse (default: temp)")
    parser.add_argument("--baseline", type=Path, help="a src/ folder to compare with")
    parser.add_argument("--rounds", type=int, default=2, help="process pairs per row (baseline)")
    parser.add_argument("--emit-rows", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    here = Path(lighthouse_os.__file__).parent
    if not args.emit_rows:
        print(f"os.cpu_count() = {os.cpu_count()}; lighthouse_os from {source(here)}")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        settings = seed(data_dir)
        if args.baseline:
            compare(args, data_dir)
            return
        selected = [r for r in rows(args.only) if args.mode in (None, r[2])]
        with TestClient(create_app(settings)) as client:
            sign_in(client)
            if not args.emit_rows:
                print("| endpoint | mode | p50 ms | p95 ms | max ms | requests | load |")
                print("|---|---|---:|---:|---:|---:|---|")
            for label, path, mode in selected:
                before = load_average()
                times = measure(client, path, args.requests, clearer(client.app, mode))
                load = f"{before:.2f} / {load_average():.2f}"
                if args.emit_rows:
                    print(ROW + json.dumps({"times": times, "load": load}), flush=True)
                    continue
                p50, p95 = statistics.median(times), percentile(times, 0.95)
                print(
                    f"| {label} | {mode} | {p50:.1f} | {p95:.1f} | {max(times):.1f} | "
                    f"{len(times)} | {load} |",
                    flush=True,
                )


def measure(client: TestClient, path: str, n: int, clear: Callable[[], None]) -> list[float]:
    """Milliseconds of `n` requests after one warm-up, `clear` run before each."""
    assert client.get(path).status_code == 200, path
    times = []
    for _ in range(n):
        clear()
        began = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
    return times


def compare(args: argparse.Namespace, data_dir: Path) -> None:
    """Each row alternately on the baseline code and on this checkout, in fresh processes."""
    baseline = args.baseline.resolve()
    print(f"baseline: lighthouse_os from {source(baseline / 'lighthouse_os')}")
    per_round = max(1, args.requests // args.rounds)
    print(f"{args.rounds} alternating process pairs of {per_round} requests per row")
    print("| endpoint | mode | before p50 | before p95 | after p50 | after p95 | load |")
    print("|---|---|---:|---:|---:|---:|---|")
    for label, _path, mode in rows(args.only):
        if args.mode not in (None, mode):
            continue
        times: dict[str, list[float]] = {"before": [], "after": []}
        loads = []
        for _ in range(args.rounds):
            for side, src in (("before", str(baseline)), ("after", None)):
                result = child(label, mode, per_round, data_dir, src)
                times[side] += result["times"]
                loads.append(result["load"])
        cells = [
            f"{statistics.median(times[s]):.1f} | {percentile(times[s], 0.95):.1f}"
            for s in ("before", "after")
        ]
        first, last = loads[0].split(" / ")[0], loads[-1].split(" / ")[1]
        print(f"| {label} | {mode} | {cells[0]} | {cells[1]} | {first} → {last} |", flush=True)


def child(label: str, mode: str, n: int, data_dir: Path, src: str | None) -> dict[str, object]:
    """Run one row in a fresh process, importing lighthouse_os from `src` when given."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    command = [sys.executable, __file__, "--emit-rows", "--only", label, "--mode", mode]
    command += ["--requests", str(n), "--data-dir", str(data_dir)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in run.stdout.splitlines():
        if line.startswith(ROW):
            result: dict[str, object] = json.loads(line.removeprefix(ROW))
            return result
    raise SystemExit(f"{label} [{mode}] failed:\n{run.stdout}\n{run.stderr}")


if __name__ == "__main__":
    main()
