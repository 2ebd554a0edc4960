"""Latency of the factory dashboard endpoints on the demo data (p50/p95), cached and uncached.

Usage: python benchmarks/bench_dashboard.py [--requests 100]

Seeds a fresh data folder with the demo tenants and factories (7 days of simulated history for
`saigon-precision`, 8 machines), signs in, and times each endpoint through the ASGI app
in-process. "uncached" clears the 0.5 s dashboard cache before each request, so every request
runs the KPI queries; "cached" is what a second viewer polling the same page sees.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from lighthouse_os.app import create_app
from lighthouse_os.auth.demo import DEMO_PASSWORD, seed_identity
from lighthouse_os.bootstrap import initialise
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.kpi.demo import seed_factories
from lighthouse_os.settings import Settings

SITE = "saigon-precision"
ENDPOINTS = (
    ("live partial, shift", f"/sites/{SITE}/kpi/live?period=shift", True),
    ("live partial, day", f"/sites/{SITE}/kpi/live?period=day", True),
    ("live partial, month", f"/sites/{SITE}/kpi/live?period=month", True),
    ("API oee machine/day (14 d)", f"/api/v1/sites/{SITE}/kpi/oee?level=machine&period=day", False),
    ("API oee site/shift (2 d)", f"/api/v1/sites/{SITE}/kpi/oee?level=site&period=shift", False),
    ("API energy line/day (14 d)", f"/api/v1/sites/{SITE}/kpi/energy?level=line&period=day", False),
    ("API power-factor (7 d)", f"/api/v1/sites/{SITE}/kpi/power-factor", False),
)


def seed(data_dir: Path) -> Settings:
    """A data folder with the demo identity and factories."""
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    initialise(settings)
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        seed_identity(settings, session)
        session.commit()
        began = time.perf_counter()
        print(seed_factories(settings, session), f"({time.perf_counter() - began:.1f} s)")
    engine.dispose()
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


def main() -> None:
    """Seed, warm up, then time every endpoint."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    print(f"os.cpu_count() = {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        settings = seed(Path(tmp))
        with TestClient(create_app(settings)) as client:
            sign_in(client)
            print("| endpoint | mode | p50 ms | p95 ms | requests |")
            print("|---|---|---:|---:|---:|")
            for label, path, cached in ENDPOINTS:
                modes = ("uncached", "cached") if cached else ("uncached",)
                for mode in modes:
                    times = measure(client, path, args.requests, clear=mode == "uncached")
                    p50, p95 = statistics.median(times), percentile(times, 0.95)
                    print(f"| {label} | {mode} | {p50:.1f} | {p95:.1f} | {len(times)} |")


def measure(client: TestClient, path: str, n: int, *, clear: bool) -> list[float]:
    """Milliseconds of `n` requests after one warm-up."""
    assert client.get(path).status_code == 200, path
    times = []
    for _ in range(n):
        if clear:
            getattr(client.app.state, "kpi_boards", {}).clear()  # type: ignore[attr-defined]
        began = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
    return times


if __name__ == "__main__":
    main()
