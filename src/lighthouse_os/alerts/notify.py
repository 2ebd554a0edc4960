"""Notifications of alert events: webhook (POST JSON) and e-mail (SMTP), retried with backoff.

The engine queues one delivery per (alert event, channel) in the transaction that records the
event, so a crash cannot lose a notification; `Notifier.send_due` then sends what is due. A
failed attempt is retried at once after a short pause (doubling), then at later runs after
`backoff`, `2 × backoff`, … until `max_attempts`; every attempt is counted in the delivery log.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lighthouse_os.alerts import codec
from lighthouse_os.alerts.models import Alert, AlertChannel, AlertDelivery
from lighthouse_os.alerts.service import wording
from lighthouse_os.auth.models import Site

log = logging.getLogger(__name__)
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
EVENT_WORDS = {
    "opened": ("opened", "mới mở"),
    "resolved": ("resolved", "đã xử lý xong"),
    "flapping": ("is flapping", "đang dao động bật/tắt"),
}


class DeliveryError(Exception):
    """One attempt to deliver a notification failed (the reason is the message)."""


def _wording(alert: Alert) -> dict[str, str | None]:
    """Title and detail in English and Vietnamese: an environmental alert's catalogued message
    in both languages; a rule's or detector's name as its author wrote it."""
    title, detail = wording(alert, "en")
    title_vi, detail_vi = wording(alert, "vi")
    return {"title": title, "title_vi": title_vi, "detail": detail, "detail_vi": detail_vi}


def payload(site: Site, alert: Alert, event: str) -> dict[str, Any]:
    """The JSON a webhook receives (and the facts an e-mail states)."""
    return {
        "event": event,
        "site": site.code,
        "alert": {
            "id": alert.id,
            **_wording(alert),
            "series": alert.series,
            "severity": alert.severity,
            "status": alert.status,
            "value": alert.value,
            "signals": list(alert.signals),
            "opened_at": (codec.aware(alert.opened_at) or alert.opened_at).isoformat(),
            "resolved_at": None
            if alert.resolved_at is None
            else (codec.aware(alert.resolved_at) or alert.resolved_at).isoformat(),
            "path": f"/sites/{site.code}/alerts/{alert.id}",
        },
    }


def queue(session: Session, site: Site, notices: Sequence[tuple[Alert, str]], now: datetime) -> int:
    """Add a pending delivery per notice and enabled channel of at least the alert's severity."""
    if not notices:
        return 0
    channels = list(
        session.scalars(
            select(AlertChannel).where(AlertChannel.site_id == site.id, AlertChannel.enabled)
        )
    )
    added = 0
    for alert, event in notices:
        for channel in channels:
            if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[channel.min_severity]:
                continue
            session.add(
                AlertDelivery(
                    channel_id=channel.id,
                    alert_id=alert.id,
                    event=event,
                    payload=payload(site, alert, event),
                    created_at=codec.utc(now),
                    next_attempt_at=codec.utc(now),
                )
            )
            added += 1
    return added


def send_webhook(client: httpx.Client, url: str, body: Mapping[str, Any]) -> None:
    """POST the JSON body; any status other than 2xx is a failed attempt."""
    try:
        response = client.post(url, json=body, headers={"User-Agent": "lighthouse-os-alerts"})
    except httpx.HTTPError as err:
        raise DeliveryError(f"{type(err).__name__}: {err}") from err
    if not response.is_success:
        raise DeliveryError(f"HTTP {response.status_code}")


def email_message(config: Mapping[str, Any], body: Mapping[str, Any]) -> EmailMessage:
    """A plain-text, bilingual message about one alert event."""
    alert, event = body["alert"], str(body["event"])
    en, vi = EVENT_WORDS.get(event, (event, event))
    message = EmailMessage()
    message["Subject"] = f"[Lighthouse OS] {alert['severity']}: {alert['title']} {en}"
    message["From"] = str(config.get("sender", "lighthouse-os@localhost"))
    message["To"] = ", ".join(config.get("recipients", []))
    lines = [
        f"Cảnh báo «{alert.get('title_vi') or alert['title']}» {vi} — site {body['site']}.",
        f"Alert “{alert['title']}” {en} — site {body['site']}.",
        "",
    ]
    if alert.get("detail"):
        lines += [f"{alert.get('detail_vi') or alert['detail']}", f"{alert['detail']}", ""]
    lines += [
        f"Series / chuỗi: {alert['series']}",
        f"Severity / mức độ: {alert['severity']}",
        f"Value / giá trị: {alert['value']}",
        f"Signals / tín hiệu: {', '.join(alert['signals']) or '–'}",
        f"Opened / mở lúc: {alert['opened_at']}",
        f"Link: {alert['path']}",
    ]
    message.set_content("\n".join(lines))
    return message


def send_email(config: Mapping[str, Any], body: Mapping[str, Any], timeout: float) -> None:
    """Send through the channel's SMTP server (STARTTLS when configured)."""
    message = email_message(config, body)
    try:
        with smtplib.SMTP(str(config["host"]), int(config["port"]), timeout=timeout) as smtp:
            if config.get("starttls"):
                smtp.starttls()
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as err:
        raise DeliveryError(f"{type(err).__name__}: {err}") from err


@dataclass(frozen=True)
class RetryPolicy:
    """Tries per run with a doubling pause, then later runs after a doubling backoff."""

    tries_per_run: int = 2
    pause_s: float = 0.5
    backoff: timedelta = timedelta(seconds=30)
    max_attempts: int = 6
    timeout_s: float = 10.0

    def next_attempt(self, attempts: int, now: datetime) -> datetime:
        """now + backoff · 2^(runs so far − 1), capped at one hour."""
        runs = max(1, -(-attempts // self.tries_per_run))
        wait: timedelta = min(self.backoff * 2 ** (runs - 1), timedelta(hours=1))
        return now + wait


class Notifier:
    """Sends due deliveries and writes each outcome to the delivery log."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        policy: RetryPolicy | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sessions = sessions
        self.policy = policy or RetryPolicy()
        self.client = client or httpx.Client(timeout=self.policy.timeout_s)
        self.sleep = sleep

    def send_due(self, now: datetime) -> int:
        """Attempt every pending delivery that is due; returns how many were delivered."""
        with self.sessions() as session:
            due = session.scalars(
                select(AlertDelivery.id).where(
                    AlertDelivery.status == "pending",
                    AlertDelivery.next_attempt_at <= codec.utc(now),
                )
            ).all()
        return sum(self._deliver(delivery_id, now) for delivery_id in due)

    def _deliver(self, delivery_id: int, now: datetime) -> bool:
        with self.sessions() as session:
            delivery = session.get(AlertDelivery, delivery_id)
            channel = session.get(AlertChannel, delivery.channel_id) if delivery else None
            if delivery is None or channel is None:
                return False
            error = self._attempts(channel, delivery)
            self._record(delivery, error, now)
            session.commit()
            return error is None

    def _attempts(self, channel: AlertChannel, delivery: AlertDelivery) -> str | None:
        """Try up to `tries_per_run` times; the last error, or None once delivered."""
        error: str | None = None
        for attempt in range(self.policy.tries_per_run):
            if delivery.attempts >= self.policy.max_attempts:
                break
            if attempt:
                self.sleep(self.policy.pause_s * 2 ** (attempt - 1))
            delivery.attempts += 1
            try:
                self._send(channel, delivery.payload)
                return None
            except DeliveryError as err:
                error = str(err)[:500]
        return error

    def _send(self, channel: AlertChannel, body: Mapping[str, Any]) -> None:
        if channel.kind == "webhook":
            send_webhook(self.client, str(channel.config["url"]), body)
        else:
            send_email(channel.config, body, self.policy.timeout_s)

    def _record(self, delivery: AlertDelivery, error: str | None, now: datetime) -> None:
        if error is None:
            delivery.status, delivery.sent_at, delivery.last_error = "sent", codec.utc(now), ""
            return
        delivery.last_error = error
        if delivery.attempts >= self.policy.max_attempts:
            delivery.status = "failed"
            log.warning("alert delivery %s failed for good: %s", delivery.id, error)
        else:
            delivery.next_attempt_at = codec.utc(self.policy.next_attempt(delivery.attempts, now))

    def close(self) -> None:
        self.client.close()
