"""Latency of the factory dashboard endpoints on the demo data (p50/p95), by cache mode.

Usage: python benchmarks/bench_dashboard.py [--requests 200] [--only TEXT] [--data-dir DIR]

Seeds a data folder with the demo tenants and factories (7 days of simulated history for
`saigon-precision`, 8 machines; reused when `--data-dir` already holds them), signs in, and times
each endpoint through the ASGI app in-process. Modes:

- `cold`: every KPI cache of the app is emptied before each request (the live board's 0.5 s
  cache and the cache of closed periods), so every period is computed from the store;
- `uncached`: only the live board's 0.5 s cache is emptied: what a page sees on each poll when
  no other viewer shares its computation (closed periods come from their cache while the store
  has no new data for them);
- `cached`: what a second viewer polling the same page within 0.5 s sees.

Each row prints the 1-minute load average before and after it, so figures taken on a shared
machine can be read with their load.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
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
LIVE = ("cold", "uncached", "cached")
API = ("cold", "uncached")
ENDPOINTS = (
    ("live partial, shift", f"/sites/{SITE}/kpi/live?period=shift", LIVE),
    ("live partial, day", f"/sites/{SITE}/kpi/live?period=day", LIVE),
    ("live partial, month", f"/sites/{SITE}/kpi/live?period=month", LIVE),
    ("API oee machine/day (14 d)", f"/api/v1/sites/{SITE}/kpi/oee?level=machine&period=day", API),
    ("API oee site/shift (2 d)", f"/api/v1/sites/{SITE}/kpi/oee?level=site&period=shift", API),
    ("API energy line/day (14 d)", f"/api/v1/sites/{SITE}/kpi/energy?level=line&period=day", API),
    ("API power-factor (7 d)", f"/api/v1/sites/{SITE}/kpi/power-factor", API),
)


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
    """The 1-minute load average (other processes on this machine count too)."""
    return os.getloadavg()[0]


def source() -> str:
    """Where `lighthouse_os` was imported from, and its git commit when known."""
    where = Path(lighthouse_os.__file__).parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    dirty = subprocess.run(
        ["git", "-C", str(where), "status", "--porcelain", "--", "."],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{where} (commit {commit}{', with local changes' if dirty else ''})"


def clearer(app: object, mode: str) -> Callable[[], None]:
    """What to empty before each request of `mode`."""
    state = app.state  # type: ignore[attr-defined]

    def clear() -> None:
        if mode == "cached":
            return
        getattr(state, "kpi_boards", {}).clear()
        if mode == "cold":
            closed = getattr(state, "kpi_closed_periods", None)
            if closed is not None:
                closed.clear()

    return clear


def main() -> None:
    """Seed, warm up, then time every endpoint."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per row")
    parser.add_argument("--only", default="", help="only endpoints whose label contains this")
    parser.add_argument("--data-dir", type=Path, help="seed here once and reuse (default: temp)")
    args = parser.parse_args()
    print(f"os.cpu_count() = {os.cpu_count()}; lighthouse_os from {source()}")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        settings = seed(data_dir)
        with TestClient(create_app(settings)) as client:
            sign_in(client)
            print("| endpoint | mode | p50 ms | p95 ms | max ms | requests | load before/after |")
            print("|---|---|---:|---:|---:|---:|---|")
            for label, path, modes in ENDPOINTS:
                if args.only not in label:
                    continue
                for mode in modes:
                    before = load_average()
                    clear = clearer(client.app, mode)
                    times = measure(client, path, args.requests, clear)
                    p50, p95 = statistics.median(times), percentile(times, 0.95)
                    print(
                        f"| {label} | {mode} | {p50:.1f} | {p95:.1f} | {max(times):.1f} | "
                        f"{len(times)} | {before:.2f} / {load_average():.2f} |",
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


if __name__ == "__main__":
    main()
