"""Benchmark: HTTP ingestion through the real app (uvicorn, token auth, SQLite + DuckDB).

Seeds a fresh data folder (a site, `--tags` tags and a site-scoped write token), starts
`lhos serve` in a child process, and lets `--clients` threads POST `--requests` JSON (or
`--ndjson`) batches each of `--batch` points (distinct timestamps, so every point is new). The
bodies are encoded before the clock starts, so the timed part is the server's work plus HTTP.
Printed: points/s stored, requests/s, request latency p50/p95/max, and the machine's core count.
The client runs on the same machine, so it takes a little of the CPU the server could use.

    python benchmarks/bench_http_ingest.py --batch 10000 --clients 2 --requests 50 [--epoch-ms]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

SECRET = "benchmark-secret-key-0123456789-abcdefghij"
LOAD_BEFORE = (
    Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else "?"
)


@dataclass
class Tally:
    """Counts shared by the client threads."""

    points: int = 0
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def seed(data_dir: Path, tags: int) -> str:
    """Create the site, its tags and a write token; return the token."""
    from lighthouse_os.assets import service as assets
    from lighthouse_os.auth.tenants import SiteInput, create_org, create_site
    from lighthouse_os.auth.tokens import create_token
    from lighthouse_os.bootstrap import initialise
    from lighthouse_os.db.engine import make_engine, make_session_factory
    from lighthouse_os.settings import Settings

    settings = Settings(data_dir=data_dir, secret_key=SECRET)  # type: ignore[arg-type]
    initialise(settings)
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        create_org(session, name="Bench", kind="manufacturer", code="bench-org")
        site = create_site(
            session, org_ref="bench-org", data=SiteInput("Bench", "2592", code="bench")
        )
        yaml = "nodes:\n  - {path: line1, level: line}\ntags:\n" + "".join(
            f"  - {{path: line1/t{i}, unit: kW, kind: gauge}}\n" for i in range(tags)
        )
        assets.import_assets(session, site, assets.rows_from_file("b.yaml", yaml.encode()))
        _token, plaintext = create_token(
            session, org_ref="bench-org", site_ref="bench", scope="write"
        )
    engine.dispose()
    return plaintext


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LHOS_DATA_DIR": str(data_dir), "LHOS_SECRET_KEY": SECRET}
    code = (
        "import uvicorn; from lighthouse_os.app import create_app; "
        "from lighthouse_os.settings import Settings; "
        f"uvicorn.run(create_app(Settings()), port={port}, log_level='warning', access_log=False)"
    )
    server = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def bodies(args: argparse.Namespace, offset: int) -> list[bytes]:
    """The request bodies of client `offset`, each in its own timestamp range."""
    start = datetime.now(UTC) - timedelta(days=30) + timedelta(days=offset)
    encoded = []
    for step in range(args.requests):
        points = batch(start, step, args)
        if args.ndjson:
            encoded.append(b"\n".join(orjson.dumps(point) for point in points))
        else:
            encoded.append(orjson.dumps({"points": points}))
    return encoded


def client(url: str, token: str, args: argparse.Namespace, work: list[bytes], tally: Tally) -> None:
    """POST the prepared bodies one after the other."""
    kind = "application/x-ndjson" if args.ndjson else "application/json"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": kind}
    with httpx.Client(timeout=120) as http:
        for body in work:
            began = time.perf_counter()
            answer = http.post(url, content=body, headers=headers)
            elapsed = time.perf_counter() - began
            with tally.lock:
                tally.requests += 1
                tally.latencies.append(elapsed)
                if answer.status_code == 200:
                    tally.points += int(answer.json()["accepted"])
                else:
                    tally.errors += 1


def batch(start: datetime, step: int, args: argparse.Namespace) -> list[dict[str, object]]:
    """`--batch` points spread over the tags, one second apart per tag, never repeated."""
    per_tag = max(1, args.batch // args.tags)
    base = start + timedelta(seconds=step * per_tag)
    points: list[dict[str, object]] = []
    for i in range(args.batch):
        instant = base + timedelta(seconds=i // args.tags)
        stamp = round(instant.timestamp() * 1000) if args.epoch_ms else instant.isoformat()
        points.append({"tag": f"line1/t{i % args.tags}", "ts": stamp, "value": float(i)})
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=1000, help="points per request")
    parser.add_argument("--clients", type=int, default=2, help="concurrent client threads")
    parser.add_argument("--requests", type=int, default=50, help="requests per client")
    parser.add_argument("--ndjson", action="store_true", help="NDJSON bodies instead of JSON")
    parser.add_argument("--tags", type=int, default=100)
    parser.add_argument(
        "--epoch-ms", action="store_true", help="epoch milliseconds as time stamps, not ISO text"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        token = seed(data_dir, args.tags)
        port = free_port()
        server = start_server(data_dir, port)
        try:
            tally = Tally()
            url = f"http://127.0.0.1:{port}/api/v1/telemetry"
            work = [bodies(args, k) for k in range(args.clients)]
            threads = [
                threading.Thread(target=client, args=(url, token, args, work[k], tally))
                for k in range(args.clients)
            ]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
        finally:
            server.terminate()
            server.wait(timeout=30)
    report(args, tally, elapsed)


def report(args: argparse.Namespace, tally: Tally, elapsed: float) -> None:
    latencies = sorted(tally.latencies) or [0.0]
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    print(f"machine: {platform.processor() or platform.machine()}, cores: {os.cpu_count()}")
    print(f"load average before the run: {LOAD_BEFORE}")
    body = ("NDJSON" if args.ndjson else "JSON") + (", epoch ms" if args.epoch_ms else "")
    setup = f"{args.clients} client thread(s), {args.tags} tags, {elapsed:.1f} s"
    print(f"batch {args.batch} points ({body}), {setup}")
    rate = f"requests/s {tally.requests / elapsed:,.1f}, errors {tally.errors}"
    print(f"stored points/s: {tally.points / elapsed:,.0f}  ({rate})")
    print(
        f"request latency ms: p50 {statistics.median(latencies) * 1e3:.1f}  "
        f"p95 {p95 * 1e3:.1f}  max {latencies[-1] * 1e3:.1f}"
    )


if __name__ == "__main__":
    main()
