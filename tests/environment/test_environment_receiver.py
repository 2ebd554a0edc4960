"""The receiver role: storing files, compliance, the inbox watcher, the FTP server, the commands."""

from __future__ import annotations

import ftplib
import io
import json
import socket
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from lighthouse_os.assets import service as assets
from lighthouse_os.auth.models import Site
from lighthouse_os.environment import monitoring
from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.commands import register
from lighthouse_os.environment.feed import FeedReading, feed_file_name, write_feed
from lighthouse_os.environment.ftp import FeedFtpServer
from lighthouse_os.environment.models import (
    MonitoringExceedance,
    MonitoringFile,
    MonitoringReading,
    MonitoringStation,
)
from lighthouse_os.environment.receiver import Receiver
from lighthouse_os.environment.schemas import MonitoringStationInput
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.models import DeadLetter
from lighthouse_os.telemetry.service import TelemetryService
from tests.environment.environment_support import ENV_NOW, drop

T = "20250301103000"
AT = datetime(2025, 3, 1, 10, 30, tzinfo=ICT)
NAME = f"HCM_ABC_NUO001_{T}.txt"


def group(symbol: str, value: str, unit: str, status: str = "00", time: str = T) -> str:
    return "\t".join([symbol, value, unit, time, status])


WATER = [group("pH", "7.12", "-"), group("COD", "45.6", "mg/L"), group("TSS", "12.0", "mg/L")]
EXPECTED = [("pH", 7.12, "00"), ("COD", 45.6, "00"), ("TSS", 12.0, "00")]

# Every quirk of MONITORING-FEED.md as an inbox file: (relative path, body, expected readings).
QUIRKS = {
    "bom_crlf": (NAME, ("\ufeff" + "\r\n".join(WATER) + "\r\n").encode(), EXPECTED),
    "lf": (NAME, ("\n".join(WATER) + "\n").encode(), EXPECTED),
    "single_line": (NAME, ("\t".join(WATER) + "\r\n").encode(), EXPECTED),
    "trailing_tab": (NAME, ("\t\n".join(WATER) + "\t\n").encode(), EXPECTED),
    "date_folders": (f"2025/03/01/{NAME}", "\n".join(WATER).encode(), EXPECTED),
    "station_folder_first": (f"NUO001/2025/03/01/{NAME}", "\n".join(WATER).encode(), EXPECTED),
    "missing_markers": (
        NAME,
        "\n".join(
            [
                group("pH", "---", "-", "02"),
                group("COD", "", "mg/L", "02"),
                group("TSS", "0", "mg/L", "02"),
                group("NH4", "0", "mg/L", "00"),
            ]
        ).encode(),
        [("pH", None, "02"), ("COD", None, "02"), ("TSS", None, "02"), ("NH4", 0.0, "00")],
    ),
    "calibrating": (
        NAME,
        "\n".join([group("pH", "7.0", "-", "01"), group("COD", "50.0", "mg/L")]).encode(),
        [("pH", 7.0, "01"), ("COD", 50.0, "00")],
    ),
}


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return tmp_path / "inbox"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_receiver(
    inbox: Path, sessions: sessionmaker[Session], sink: TelemetryService, **options: object
) -> Receiver:
    return Receiver(inbox, sessions, sink, clock=lambda: ENV_NOW, checks=(), **options)  # type: ignore[arg-type]


def _readings(session: Session) -> list[tuple[str, float | None, str]]:
    rows = session.scalars(select(MonitoringReading).order_by(MonitoringReading.id))
    return [(r.symbol, r.value, r.status) for r in rows]


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_receiver_stores_every_sender_quirk_and_files_it_by_date(
    quirk: str,
    inbox: Path,
    env_sessions: sessionmaker[Session],
    env_sink: TelemetryService,
    water_station: MonitoringStation,
) -> None:
    relative, body, expected = QUIRKS[quirk]
    drop(inbox, relative, body)
    [outcome] = make_receiver(inbox, env_sessions, env_sink, settle_s=0).poll()
    assert outcome.status == "processed", outcome.reason
    assert outcome.moved_to == inbox / "processed" / "2025" / "03" / "01" / NAME
    assert not (inbox / relative).exists()
    with env_sessions() as session:
        assert _readings(session) == expected


def test_receive_file_keeps_statuses_but_judges_only_measuring_values(
    env_session: Session, env_sink: TelemetryService, water_station: MonitoringStation
) -> None:
    # Column B × Kq 0.9 × Kf 1.1: COD may reach 148.5 mg/L. The 500 sent while calibrating
    # would push the mean over it, but only status 00 counts.
    times = [AT + timedelta(minutes=5 * k) for k in range(4)]
    readings = [FeedReading("COD", 160.0, "mg/L", t, "00") for t in times[:2]]
    readings += [FeedReading("COD", 500.0, "mg/L", times[2], "01")]
    readings += [FeedReading("COD", 140.0, "mg/L", times[3], "00")]
    readings += [FeedReading("pH", 4.9, "-", times[3], "00")]
    received = monitoring.receive_file(
        env_session, env_sink, NAME, write_feed(readings), now=ENV_NOW
    )
    assert (received.stored, received.points, received.exceeded_windows) == (5, 4, 2)
    found = {
        e.parameter: (e.mean, e.samples, e.high, e.low, e.limit_source)
        for e in env_session.scalars(select(MonitoringExceedance))
    }
    assert found["COD"][:3] == (pytest.approx(460 / 3), 3, pytest.approx(148.5))
    assert found["COD"][4] == "QCVN 40:2011/BTNMT column B, coefficient 0.99"
    assert found["pH"][2:4] == (9.0, 5.5)  # pH has no coefficients


def test_receive_file_drops_an_exceedance_that_more_data_brought_back_under_the_limit(
    env_session: Session, env_sink: TelemetryService, water_station: MonitoringStation
) -> None:
    def send(at: datetime, cod: float) -> None:
        body = write_feed([FeedReading("COD", cod, "mg/L", at, "00")])
        name = feed_file_name("HCM", "ABC", "NUO001", at)
        monitoring.receive_file(env_session, env_sink, name, body, now=ENV_NOW)

    send(AT, 200.0)
    assert len(env_session.scalars(select(MonitoringExceedance)).all()) == 1
    send(AT + timedelta(minutes=5), 40.0)
    send(AT + timedelta(minutes=10), 40.0)
    assert env_session.scalars(select(MonitoringExceedance)).all() == []


def test_receive_file_charts_measuring_values_under_the_station_node(
    env_session: Session, env_sink: TelemetryService, water_station: MonitoringStation
) -> None:
    body = "\n".join(
        [group("pH", "7.1", "-"), group("Temp", "30.5", "oC"), group("Flow", "12", "m3/h"),
         group("COD", "45", "mg/L", "01"), group("Color", "20", "weird-unit")]
    ).encode()  # fmt: skip
    received = monitoring.receive_file(env_session, env_sink, NAME, body, now=ENV_NOW)
    assert received.points == 3
    site = env_session.get(Site, water_station.site_id)
    assert site is not None
    tags = {t.path: t.unit for t in assets.tags_of_site(env_session, site.id)}
    assert tags == {
        "monitoring/nuo001/ph": "[pH]", "monitoring/nuo001/temp": "Cel",
        "monitoring/nuo001/flow": "m3/h",
    }  # fmt: skip
    assert len(_readings(env_session)) == 5  # everything is kept in the relational record


def test_receive_file_ignores_a_file_received_twice_and_reports_unregistered_stations(
    env_session: Session, env_sink: TelemetryService, water_station: MonitoringStation
) -> None:
    body = "\n".join(WATER).encode()
    first = monitoring.receive_file(env_session, env_sink, NAME, body, now=ENV_NOW)
    again = monitoring.receive_file(env_session, env_sink, NAME, body, now=ENV_NOW)
    assert (first.stored, again.stored, again.duplicate_file) == (3, 0, True)
    assert [p["code"] for p in again.to_json_dict()["problems"]] == ["duplicate_file"]
    other = monitoring.receive_file(
        env_session, env_sink, NAME.replace("ABC", "XYZ"), body, now=ENV_NOW
    )
    out = other.to_json_dict()
    assert out["stored"]["registered"] is False
    assert out["problems"][0]["code"] == "unregistered_station"
    assert out["problems"][0]["message_vi"]
    assert len(env_session.scalars(select(MonitoringFile)).all()) == 1


def test_receive_file_judges_stack_gas_against_qcvn_19_with_nox_from_no_and_no2(
    env_session: Session, env_sink: TelemetryService
) -> None:
    data = MonitoringStationInput(code="HCM_ABC_KHI001", site="a1", kind="stack", kp=0.9, kv=1.0)
    monitoring.register_monitoring_station(env_session, data)
    body = "\n".join(
        [group("NO", "400", "mg/Nm3"), group("NO2", "200", "mg/Nm3"),
         group("SO2", "100", "mg/Nm3"), group("PM", "50", "mg/Nm3")]
    ).encode()  # fmt: skip
    monitoring.receive_file(env_session, env_sink, NAME.replace("NUO", "KHI"), body, now=ENV_NOW)
    [nox] = env_session.scalars(select(MonitoringExceedance)).all()
    assert nox.parameter == "NOx"
    assert nox.mean == pytest.approx(200 + 400 * 46.0055 / 30.006)
    assert nox.high == pytest.approx(850 * 0.9)


def test_receiver_waits_until_a_growing_file_is_stable(
    inbox: Path,
    env_sessions: sessionmaker[Session],
    env_sink: TelemetryService,
    water_station: MonitoringStation,
) -> None:
    clock = Clock()
    watcher = make_receiver(inbox, env_sessions, env_sink, settle_s=2.0, monotonic=clock)
    path = drop(inbox, NAME, WATER[0].encode() + b"\n")
    assert watcher.poll() == []  # first sight
    clock.now += 1.5
    with path.open("ab") as handle:  # the sender is still writing
        handle.write(WATER[1].encode() + b"\n")
    assert watcher.poll() == []
    clock.now += 1.5
    assert watcher.poll() == []  # unchanged, but only for 1.5 s
    clock.now += 1.0
    [outcome] = watcher.poll()
    assert outcome.status == "processed"
    with env_sessions() as session:
        assert [r[0] for r in _readings(session)] == ["pH", "COD"]


def test_receiver_skips_busy_and_partial_files_and_takes_marked_ones_at_once(
    inbox: Path,
    env_sessions: sessionmaker[Session],
    env_sink: TelemetryService,
    water_station: MonitoringStation,
) -> None:
    busy: set[Path] = set()
    watcher = make_receiver(
        inbox, env_sessions, env_sink, settle_s=60.0, busy=lambda p: p.resolve() in busy
    )
    path = drop(inbox, NAME, "\n".join(WATER).encode())
    drop(inbox, NAME + ".part", b"half")
    busy.add(path.resolve())
    watcher.mark_complete(path)
    assert watcher.poll() == []  # still uploading
    busy.clear()
    watcher.mark_complete(path)
    [outcome] = watcher.poll()  # no settling needed once the upload ended
    assert outcome.status == "processed"
    assert (inbox / (NAME + ".part")).exists()


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("readme.txt", b"hello", "bad_file_name"),
        (NAME, b"\xff\xfe\x00garbage", "not_utf8"),
        (NAME, b"just some words\n", "no_readings"),
        (NAME.replace("ABC", "XYZ"), "\n".join(WATER).encode(), "unregistered_station"),
    ],
)
def test_receiver_moves_unusable_files_to_failed_with_a_dead_letter(
    name: str,
    body: bytes,
    reason: str,
    inbox: Path,
    env_sessions: sessionmaker[Session],
    env_sink: TelemetryService,
    water_station: MonitoringStation,
) -> None:
    drop(inbox, name, body)
    [outcome] = make_receiver(inbox, env_sessions, env_sink, settle_s=0).poll()
    assert outcome.status == "failed"
    assert outcome.moved_to == inbox / "failed" / name
    assert outcome.moved_to.read_bytes() == body
    with env_sessions() as session:
        [letter] = session.scalars(select(DeadLetter)).all()
    assert letter.source == "monitoring-feed"
    assert letter.reason.startswith(reason)
    assert letter.payload == body
    assert _readings_count(env_sessions) == 0


def _readings_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(MonitoringReading)).all())


def test_receiver_keeps_both_copies_when_a_processed_name_repeats(
    inbox: Path,
    env_sessions: sessionmaker[Session],
    env_sink: TelemetryService,
    water_station: MonitoringStation,
) -> None:
    watcher = make_receiver(inbox, env_sessions, env_sink, settle_s=0)
    drop(inbox, NAME, "\n".join(WATER).encode())
    [first] = watcher.poll()
    drop(inbox, NAME, "\n".join(WATER).encode())
    [second] = watcher.poll()
    assert second.moved_to == first.moved_to.with_name(NAME + ".1")
    assert second.result is not None
    assert second.result["stored"]["readings"] == 0  # the same file again stores nothing


def test_receiver_runs_periodic_checks_when_due(
    inbox: Path, env_sessions: sessionmaker[Session], env_sink: TelemetryService
) -> None:
    calls: list[datetime] = []
    clock = Clock()
    watcher = Receiver(
        inbox, env_sessions, env_sink, clock=lambda: ENV_NOW, monotonic=clock,
        checks=((60.0, lambda _s, now: calls.append(now)),),
    )  # fmt: skip
    watcher.periodic()
    clock.now += 30
    watcher.periodic()
    clock.now += 31
    watcher.periodic()
    assert calls == [ENV_NOW, ENV_NOW]


# -- the embedded FTP server ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ftp_uploads_land_in_the_inbox_and_are_received(
    inbox: Path,
    env_sessions: sessionmaker[Session],
    env_sink: TelemetryService,
    water_station: MonitoringStation,
) -> None:
    server = FeedFtpServer(inbox, user="logger", password="s3cret-pass", port=free_port())
    watcher = make_receiver(inbox, env_sessions, env_sink, settle_s=60.0, busy=server.uploading)
    server.on_received = watcher.mark_complete
    server.start()
    try:
        with ftplib.FTP() as ftp:
            ftp.connect(*server.address, timeout=10)
            ftp.login("logger", "s3cret-pass")
            for folder in ("/2025", "/2025/03", "/2025/03/01"):
                ftp.mkd(folder)
            ftp.storbinary(f"STOR /2025/03/01/{NAME}", io.BytesIO("\n".join(WATER).encode()))
        [outcome] = watcher.poll()  # taken at once: the server said the upload ended
    finally:
        server.stop()
    assert outcome.status == "processed"
    assert _readings_count(env_sessions) == 3


def test_ftp_refuses_a_wrong_password_and_deleting(inbox: Path) -> None:
    server = FeedFtpServer(inbox, user="logger", password="s3cret-pass", port=free_port())
    drop(inbox, NAME, b"x")
    server.start()
    try:
        with ftplib.FTP() as ftp:
            ftp.connect(*server.address, timeout=10)
            with pytest.raises(ftplib.error_perm):
                ftp.login("logger", "wrong")
        with ftplib.FTP() as ftp:
            ftp.connect(*server.address, timeout=10)
            ftp.login("logger", "s3cret-pass")
            with pytest.raises(ftplib.error_perm):
                ftp.delete(NAME)
    finally:
        server.stop()
    assert (inbox / NAME).exists()


# -- commands -------------------------------------------------------------------------------

runner = CliRunner()


def _cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_monitoring_import_stores_registered_stations_and_keeps_the_json_shape(
    tmp_path: Path,
    initialised_settings: Settings,
    water_station: MonitoringStation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LHOS_DATA_DIR", str(initialised_settings.data_dir))
    good = drop(tmp_path, NAME, "\n".join(WATER).encode())
    other = drop(tmp_path, NAME.replace("ABC", "XYZ"), "\n".join(WATER).encode())
    bad = drop(tmp_path, "junk.txt", b"x")
    result = runner.invoke(
        _cli(), ["monitoring", "import", str(good), str(other), str(bad), "--json"]
    )
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)
    assert [sorted(r) for r in rows[:2]] == [
        ["file", "problems", "readings", "station", "stored"]
    ] * 2
    assert rows[0]["station"] == {
        "province": "HCM", "facility": "ABC", "code": "NUO001", "kind": "water",
        "file_time": "2025-03-01T10:30:00+07:00",
    }  # fmt: skip
    assert rows[0]["stored"]["readings"] == 3
    assert rows[1]["problems"][0]["code"] == "unregistered_station"
    assert rows[2]["error"]["code"] == "bad_file_name"


def test_monitoring_station_add_receive_once_and_gaps_commands(
    tmp_path: Path,
    initialised_settings: Settings,
    env_sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LHOS_DATA_DIR", str(initialised_settings.data_dir))
    app = _cli()
    add = ["monitoring", "station", "add", "--code", "HCM_ABC_NUO001", "--site", "a1"]
    result = runner.invoke(app, [*add, "--kind", "wastewater", "--kq", "0.9", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kq"] == 0.9
    bad = runner.invoke(app, [*add, "--kind", "wastewater", "--kp", "1"])
    assert bad.exit_code != 0
    inbox = tmp_path / "inbox"
    drop(inbox, f"2025/03/01/{NAME}", "\n".join(WATER).encode())
    result = runner.invoke(
        app, ["monitoring", "receive", "--inbox", str(inbox), "--once", "--settle", "0", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in json.loads(result.stdout)] == ["processed"]
    result = runner.invoke(app, ["monitoring", "gaps", "--json"])
    assert result.exit_code == 0, result.output
    # Registered a moment ago, so not yet overdue (its only file is an old one).
    assert json.loads(result.stdout) == []
    listed = runner.invoke(app, ["monitoring", "station", "list", "--json"])
    assert [r["site"] for r in json.loads(listed.stdout)] == ["a1"]
