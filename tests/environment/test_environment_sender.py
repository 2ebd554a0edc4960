"""The sender role: station files from a site's own telemetry, pushed by FTP with a buffer."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from lighthouse_os.assets import service as assets
from lighthouse_os.auth.models import Site
from lighthouse_os.environment import monitoring, sender
from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.feed import parse_feed
from lighthouse_os.environment.ftp import FeedFtpServer
from lighthouse_os.environment.models import MonitoringStation
from lighthouse_os.environment.schemas import MonitoringStationInput
from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry.points import RawPoint
from lighthouse_os.telemetry.service import TelemetryService

NOW = datetime(2025, 3, 1, 10, 32, 40, tzinfo=ICT)
WWTP_TAGS = b"""
nodes:
  - {path: wwtp, level: area}
tags:
  - {path: wwtp/cod, unit: mg/L, kind: gauge}
  - {path: wwtp/ph, unit: "[pH]", kind: gauge}
  - {path: wwtp/temp, unit: Cel, kind: gauge}
"""


@pytest.fixture
def own_station(env_session: Session, env_sink: TelemetryService) -> MonitoringStation:
    site = env_session.query(Site).filter(Site.code == "a1").one()
    assets.import_assets(env_session, site, assets.rows_from_file("t.yaml", WWTP_TAGS))
    data = MonitoringStationInput(
        code="HCM_ABC_NUO001", site="a1", kind="wastewater",
        tag_map={"COD": "wwtp/cod", "pH": "wwtp/ph", "Temp": "wwtp/temp"},
    )  # fmt: skip
    station = monitoring.register_monitoring_station(env_session, data)
    points = [
        RawPoint("wwtp/cod", NOW - timedelta(minutes=1), 51.25),
        RawPoint("wwtp/ph", NOW - timedelta(minutes=2), 7.1),
        RawPoint("wwtp/temp", NOW - timedelta(hours=2), 30.0),  # stale: no value lately
    ]
    env_sink.ingest("a1", points, source="test")
    return station


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://u:secret@host/", ("host", 21, "u", "secret", "/")),
        ("ftp://u%40x:p%2Fq@10.0.0.5:2121/in/box", ("10.0.0.5", 2121, "u@x", "p/q", "/in/box")),
    ],
)
def test_parse_ftp_url(url: str, expected: tuple[object, ...]) -> None:
    target = sender.parse_ftp_url(url)
    assert (target.host, target.port, target.user, target.password, target.folder) == expected
    assert target.password not in repr(target)


@pytest.mark.parametrize("url", ["http://u:p@host/", "ftp://host/", "ftp://u@host/"])
def test_parse_ftp_url_refuses_other_schemes_and_missing_credentials(url: str) -> None:
    with pytest.raises(InvalidInput):
        sender.parse_ftp_url(url)


def test_build_file_writes_the_latest_values_and_marks_stale_tags_as_faults(
    env_session: Session, env_sink: TelemetryService, own_station: MonitoringStation
) -> None:
    site = env_session.query(Site).filter(Site.code == "a1").one()
    name, body = sender.build_file(env_session, env_sink.store, own_station, site, now=NOW)
    assert name == "HCM_ABC_NUO001_20250301103000.txt"  # the 5-minute cycle holding NOW
    feed = parse_feed(body, name)
    got = [(r.symbol, r.value, r.unit, r.status) for r in feed.readings]
    assert got == [
        ("COD", 51.25, "mg/L", "00"), ("pH", 7.1, "-", "00"), ("Temp", None, "oC", "02")
    ]  # fmt: skip
    assert feed.readings[0].time == NOW - timedelta(minutes=1)
    assert feed.problems == ()


def test_build_file_needs_a_tag_map(
    env_session: Session, env_sink: TelemetryService, water_station: MonitoringStation
) -> None:
    site = env_session.query(Site).filter(Site.code == "a1").one()
    with pytest.raises(InvalidInput, match="maps no tags"):
        sender.build_file(env_session, env_sink.store, water_station, site, now=NOW)


def test_outbox_sends_oldest_first_whatever_the_names_sort_as(tmp_path: Path) -> None:
    box = sender.Outbox(tmp_path)
    for name in (
        "HCM_ABC_NUO001_20250301101000.txt",
        "HCM_A_NUO001_20250301100500.txt",
        "HCM_ABC_NUO001_20250301100000.txt",
    ):
        box.put(name, b"x")
    assert [p.name[-18:-4] for p in box.pending()] == [
        "20250301100000", "20250301100500", "20250301101000"
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sender_buffers_while_the_server_is_down_and_resends_in_order(
    tmp_path: Path, env_session: Session, env_sink: TelemetryService, own_station: MonitoringStation
) -> None:
    site = env_session.query(Site).filter(Site.code == "a1").one()
    inbox, received = tmp_path / "inbox", []
    port = free_port()

    def server() -> FeedFtpServer:
        return FeedFtpServer(
            inbox, user="logger", password="pw-123456", port=port,
            on_received=lambda p: received.append(p.name),
        )  # fmt: skip

    clock = [NOW]
    job = sender.Sender(
        lambda now: sender.build_file(env_session, env_sink.store, own_station, site, now=now),
        sender.Outbox(tmp_path / "outbox"),
        sender.parse_ftp_url(f"ftp://logger:pw-123456@127.0.0.1:{port}/"),
        clock=lambda: clock[0],
    )
    ftp = server()
    ftp.start()
    try:
        first = job.tick()
    finally:
        ftp.stop()
    assert (first.sent, first.waiting, first.error) == (1, 0, None)
    for _ in range(2):  # the server is down: files wait in the outbox
        clock[0] += timedelta(minutes=5)
        report = job.tick()
        assert report.sent == 0
        assert report.error is not None
    assert report.waiting == 2
    clock[0] += timedelta(minutes=5)
    ftp = server()
    ftp.start()
    try:
        last = job.tick()
    finally:
        ftp.stop()
    assert (last.sent, last.waiting) == (3, 0)
    stamps = [name[-18:-4] for name in received]
    assert stamps == ["20250301103000", "20250301103500", "20250301104000", "20250301104500"]
    assert (inbox / "2025" / "03" / "01" / received[-1]).exists()
