"""Test helpers for runs against the real sink and a private broker the test may restart.

`seed_site` gives a site its tags through the real services; `stored` reads points back from
the real time-series store; `PrivateBroker` runs a Mosquitto of the test's own on a free
loopback port, with persistence in the test's folder, so it can be stopped and started again
(the shared broker cannot) and configured (e.g. a small `max_queued_messages`).
"""

from __future__ import annotations

import contextlib
import getpass
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from lighthouse_os.assets import service as assets
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.tenants import SiteInput, create_site
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.store import open_store
from tests.support import service_missing

TAGS = b"""
nodes:
  - {path: line1, level: line}
tags:
  - {path: line1/kwh, unit: kW.h, kind: counter}
  - {path: probe, unit: "1", kind: gauge}
"""
T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC: epoch seconds the validation accepts


def seed_site(settings: Settings, code: str) -> None:
    """Create site `code` in org `org-a` of the access-test world, with the tags of `TAGS`."""
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        site = create_site(
            session, org_ref="org-a", data=SiteInput(f"Site {code}", "2592", code=code)
        )
        assets.import_assets(session, site, assets.rows_from_file("t.yaml", TAGS))
    engine.dispose()


def stored(settings: Settings, code: str, tag: str) -> list[tuple[int, float]]:
    """(epoch seconds, value) of every raw point of a tag, read from the real store."""
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        site = session.query(Site).filter_by(code=code).one()
        series = assets.get_tag(session, site, tag).id
    engine.dispose()
    with open_store(settings.resolved_timeseries_url) as store:
        table = store.raw([series], datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC))
    stamps = [int(ts.timestamp()) for ts in table["ts"].to_pylist()]
    return list(zip(stamps, table["value"].to_pylist(), strict=True))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateBroker:
    """A Mosquitto of our own on 127.0.0.1:<free port>; `stop()` saves its persistence file."""

    def __init__(self, folder: Path, **settings: int | str) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            service_missing("mosquitto (the broker program)", "not installed")
        self.binary = binary
        self.port = _free_port()
        folder.mkdir(parents=True, exist_ok=True)
        lines = {
            "listener": f"{self.port} 127.0.0.1",
            "allow_anonymous": "true",
            "persistence": "true",
            "persistence_location": f"{folder}/",
            "log_dest": f"file {folder}/mosquitto.log",
            # Started as root, Mosquitto would switch to its own user, who cannot write here.
            "user": getpass.getuser(),
            **{k: str(v) for k, v in settings.items()},
        }
        self.config = folder / "mosquitto.conf"
        self.config.write_text("".join(f"{k} {v}\n" for k, v in lines.items()))
        self.log = folder / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._process = subprocess.Popen([self.binary, "-c", str(self.config)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"private mosquitto did not start: {self.log.read_text()[-2000:]}")

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Suspend the broker (SIGSTOP) for the block: what clients send stays unread."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM: Mosquitto writes its sessions and queued messages to disk, then exits."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        self._process = None
