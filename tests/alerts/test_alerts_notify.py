"""Notifications: webhook against a local HTTP server, e-mail against a local SMTP sink."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lighthouse_os.alerts import notify, service
from lighthouse_os.alerts.models import AlertDelivery
from lighthouse_os.alerts.notify import Notifier, RetryPolicy
from lighthouse_os.alerts.rules import AlertRaised, Severity
from lighthouse_os.alerts.schemas import ChannelIn
from tests.alerts.conftest import T0, Plant


class _Hook(ThreadingHTTPServer):
    """Answers 503 to the first `failures` POSTs, then 204; keeps every body."""

    def __init__(self, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.failures, self.bodies = failures, []  # type: list[dict[str, object]]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _HookHandler(BaseHTTPRequestHandler):
    server: _Hook

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        failing = len(self.server.bodies) <= self.server.failures
        self.send_response(503 if failing else 204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


class _SmtpSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP (RFC 5321) to accept messages; keeps (recipients, raw message)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[tuple[list[str], bytes]] = []


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: _SmtpSink

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._reply("220 sink ESMTP")
        recipients: list[str] = []
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ")[0].upper()
            if verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                self.server.messages.append((recipients, self._data()))
                recipients = []
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                if verb == "RCPT":
                    recipients.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                self._reply("250 ok")

    def _data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


@pytest.fixture
def hook() -> Iterator[_Hook]:
    server = _Hook(failures=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp() -> Iterator[_SmtpSink]:
    server = _SmtpSink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _queued(plant: Plant, channel: ChannelIn, severity: Severity = Severity.WARNING) -> int:
    """Open an alert and queue its notice for one channel; the delivery id."""
    with plant.sessions() as session:
        site = plant.site(session)
        service.create_channel(session, site, channel, actor=plant.actor(session))
        raised = AlertRaised("rule:1", "line-1/press-1/power_kw", T0, 171.5, severity)
        found = service.record_events(session, site.id, [raised], now=T0, titles={"rule:1": "Hot"})
        notify.queue(session, site, found, T0)
        session.commit()
        return session.query(AlertDelivery.id).scalar() or 0


def _delivery(plant: Plant, delivery_id: int) -> AlertDelivery:
    with plant.sessions() as session:
        found = session.get(AlertDelivery, delivery_id)
        assert found is not None
        return found


def _notifier(plant: Plant, pauses: list[float], **policy: object) -> Notifier:
    return Notifier(plant.sessions, policy=RetryPolicy(**policy), sleep=pauses.append)  # type: ignore[arg-type]


def test_webhook_is_retried_after_a_failed_attempt_and_logged(plant: Plant, hook: _Hook) -> None:
    delivery_id = _queued(plant, ChannelIn(name="ops", kind="webhook", url=hook.url))
    pauses: list[float] = []
    notifier = _notifier(plant, pauses)
    assert notifier.send_due(T0) == 1
    notifier.close()
    delivery = _delivery(plant, delivery_id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    assert pauses == [0.5]
    assert len(hook.bodies) == 2
    assert hook.bodies[0] == hook.bodies[1]
    body = hook.bodies[1]
    assert body["event"] == "opened"
    assert body["site"] == "a1"
    assert body["alert"]["title"] == "Hot"
    assert body["alert"]["value"] == 171.5


def test_webhook_backs_off_between_runs_then_gives_up(plant: Plant, hook: _Hook) -> None:
    hook.failures = 100
    delivery_id = _queued(plant, ChannelIn(name="ops", kind="webhook", url=hook.url))
    notifier = _notifier(plant, [], max_attempts=5, backoff=timedelta(seconds=30))
    notifier.send_due(T0)
    first = _delivery(plant, delivery_id)
    assert (first.status, first.attempts, first.last_error) == ("pending", 2, "HTTP 503")
    assert notifier.send_due(T0 + timedelta(seconds=29)) == 0  # not due yet
    assert _delivery(plant, delivery_id).attempts == 2
    notifier.send_due(T0 + timedelta(seconds=30))
    third = T0 + timedelta(seconds=30 + 60)  # the backoff doubles
    notifier.send_due(third - timedelta(seconds=1))
    assert _delivery(plant, delivery_id).attempts == 4
    notifier.send_due(third)
    notifier.close()
    final = _delivery(plant, delivery_id)
    assert (final.status, final.attempts) == ("failed", 5)
    assert len(hook.bodies) == 5


def test_email_is_sent_through_smtp_in_both_languages(plant: Plant, smtp: _SmtpSink) -> None:
    channel = ChannelIn(
        name="maintenance",
        kind="email",
        recipients=["bao.tri@example.vn", "ca.truong@example.vn"],
        smtp_host="127.0.0.1",
        smtp_port=smtp.server_address[1],
        smtp_sender="alerts@example.vn",
    )
    delivery_id = _queued(plant, channel, Severity.CRITICAL)
    notifier = _notifier(plant, [])
    assert notifier.send_due(T0) == 1
    notifier.close()
    assert _delivery(plant, delivery_id).status == "sent"
    ((recipients, raw),) = smtp.messages
    assert recipients == ["bao.tri@example.vn", "ca.truong@example.vn"]
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "[Lighthouse OS] critical: Hot opened"
    assert message["From"] == "alerts@example.vn"
    text = message.get_content()  # type: ignore[attr-defined]
    assert "Cảnh báo «Hot» mới mở" in text
    assert "Alert “Hot” opened" in text
    assert "line-1/press-1/power_kw" in text
    assert "171.5" in text


def test_email_to_an_unreachable_server_is_a_logged_failure(plant: Plant) -> None:
    closed = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    port = closed.server_address[1]
    closed.server_close()
    channel = ChannelIn(
        name="m", kind="email", recipients=["a@example.vn"], smtp_host="127.0.0.1", smtp_port=port
    )
    delivery_id = _queued(plant, channel)
    _notifier(plant, [], tries_per_run=1).send_due(T0)
    delivery = _delivery(plant, delivery_id)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in delivery.last_error


def test_info_alert_is_not_sent_to_a_warning_channel(plant: Plant) -> None:
    _queued(plant, ChannelIn(name="ops", kind="webhook", url="http://127.0.0.1:9/"), Severity.INFO)
    with plant.sessions() as session:
        assert session.query(AlertDelivery).count() == 0


@pytest.mark.parametrize(
    ("attempts", "wait_s"), [(1, 30), (2, 30), (3, 60), (4, 60), (6, 120), (40, 3600)]
)
def test_retry_policy_doubles_the_wait_per_run(attempts: int, wait_s: int) -> None:
    now = datetime(2025, 1, 1)
    assert RetryPolicy().next_attempt(attempts, now) - now == timedelta(seconds=wait_s)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "webhook", "url": "ftp://x"}, "http"),
        ({"kind": "webhook"}, "http"),
        ({"kind": "email", "recipients": []}, "e-mail"),
        ({"kind": "email", "recipients": ["not-an-address"]}, "e-mail"),
    ],
)
def test_channel_input_needs_a_target(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChannelIn.model_validate({"name": "c", **fields})
