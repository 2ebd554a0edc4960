"""Paho MQTT 5 client for ingestion: persistent session, manual ack and a bounded intake queue.

Backpressure, end to end (memory stays bounded whatever the publishers do):
1. The intake queue is bounded (`queue_capacity`). When it is full, the network thread blocks
   in `put`, stops reading the socket, and TCP pushes back on the broker, which keeps the rest
   in the session queue (size that on the broker: Mosquitto `max_queued_messages`). This is the
   guarantee; it also covers QoS 0, which has no flow control.
2. We acknowledge a message only after its batch is durably stored, and announce
   `Receive Maximum = receive_maximum` in CONNECT, so a compliant MQTT 5 broker holds back
   before the queue even fills (MQTT 5.0 §4.9). Mosquitto 2.0.11 was seen to honour it only
   until the first PUBACK, which is why (1) is not optional.
3. At most `queue_capacity` messages wait in the queue, plus the one batch being written.

This module speaks only MQTT; its one import from the package is the stdlib-only `Availability`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from lighthouse_os.telemetry.sources.availability import Availability

_log = logging.getLogger(__name__)
_SCHEMES = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}
# How often a blocked network thread re-checks whether the client is stopping.
_PUT_POLL_SECONDS = 0.2


class BrokerUrlError(ValueError):
    """The broker URL cannot be used."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, parsed from `mqtt[s]://[user[:password]@]host[:port]`."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        """Parse a broker URL; `mqtts`/`ssl` turn TLS on and default the port to 8883."""
        parsed = urlparse(url)
        if parsed.scheme not in _SCHEMES or not parsed.hostname:
            raise BrokerUrlError(f"not an MQTT URL (mqtt://host:port or mqtts://…): {url!r}")
        tls = _SCHEMES[parsed.scheme]
        return cls(
            host=parsed.hostname,
            port=parsed.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
        )


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """How one worker connects; `client_id` must be stable so the broker keeps its session."""

    url: str
    client_id: str
    topic_filters: tuple[str, ...]
    qos: int = 1
    shared_group: str | None = None
    receive_maximum: int = 200
    queue_capacity: int = 1000
    session_expiry_seconds: int = 3600
    keepalive_seconds: int = 30
    reconnect_min_seconds: int = 1
    reconnect_max_seconds: int = 60

    def __post_init__(self) -> None:
        if not self.client_id or not self.topic_filters:
            raise ValueError("an MQTT worker needs a client id and at least one topic filter")
        if not 1 <= self.receive_maximum <= 65535:
            raise ValueError("receive_maximum must be between 1 and 65535 (MQTT 5.0 §3.1.2.11.3)")
        if self.queue_capacity < self.receive_maximum:
            raise ValueError("queue_capacity must be at least receive_maximum")
        if self.qos not in (0, 1, 2):
            raise ValueError("qos must be 0, 1 or 2")

    def subscriptions(self) -> tuple[str, ...]:
        """The filters as subscribed: `$share/<group>/<filter>` when a shared group is set."""
        if self.shared_group is None:
            return self.topic_filters
        return tuple(f"$share/{self.shared_group}/{f}" for f in self.topic_filters)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One received message and what is needed to acknowledge it later.

    `generation` numbers the connection it arrived on: a packet id is only meaningful on that
    connection, so deliveries from an earlier one are not acknowledged (the broker redelivers).
    """

    topic: str
    payload: bytes
    qos: int
    mid: int
    duplicate: bool
    received_at: datetime
    generation: int


class IntakeQueue(queue.Queue[Delivery]):
    """A bounded FIFO that remembers its high-water mark (for tests and metrics)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.high_water = 0

    def _put(self, item: Delivery) -> None:  # called by Queue.put with the mutex held
        super()._put(item)
        self.high_water = max(self.high_water, self._qsize())


class MqttClient:
    """A paho client in its own network thread, feeding an `IntakeQueue`, acked by the caller."""

    def __init__(self, options: MqttOptions, *, logger: logging.Logger | None = None) -> None:
        self.options = options
        self.address = BrokerAddress.from_url(options.url)
        self.intake = IntakeQueue(options.queue_capacity)
        self.ready = threading.Event()
        self.generation = 0
        self.dropped_on_stop = 0
        self._log = logger or _log
        self._link = Availability(f"MQTT broker {self.address.host}:{self.address.port}", self._log)
        self._stopping = threading.Event()
        self._paho = self._build()

    @property
    def available(self) -> bool:
        """Whether the last connection attempt succeeded and the link is up."""
        return self._link.available

    def _build(self) -> paho.Client:
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.options.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        if self.address.username is not None:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set()
        client.reconnect_delay_set(
            self.options.reconnect_min_seconds, self.options.reconnect_max_seconds
        )
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.options.session_expiry_seconds
        props.ReceiveMaximum = self.options.receive_maximum
        return props

    def start(self) -> None:
        """Connect in the background; paho reconnects with exponential backoff on its own."""
        self._paho.connect_async(
            self.address.host,
            self.address.port,
            keepalive=self.options.keepalive_seconds,
            clean_start=False,
            properties=self._connect_properties(),
        )
        self._paho.loop_start()

    def take(self, max_items: int, max_wait: float) -> list[Delivery]:
        """Up to `max_items` deliveries, waiting at most `max_wait` seconds from now in total."""
        deadline = time.monotonic() + max_wait
        batch: list[Delivery] = []
        while len(batch) < max_items:
            try:
                batch.append(self.intake.get(timeout=max(deadline - time.monotonic(), 0.0)))
            except queue.Empty:
                break
        return batch

    def ack(self, deliveries: list[Delivery]) -> int:
        """Acknowledge, in arrival order, the QoS 1/2 deliveries of the current connection."""
        acked = 0
        for delivery in deliveries:
            if delivery.qos > 0 and delivery.generation == self.generation:
                self._paho.ack(delivery.mid, delivery.qos)
                acked += 1
        return acked

    def pause(self) -> None:
        """Stop taking new messages into the queue.

        Messages arriving from now on are left unacknowledged, so the broker keeps them in the
        session and redelivers them to this client id on its next connection.
        """
        self._stopping.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Pause, send the queued acks, disconnect and join the network thread."""
        self.pause()
        # DISCONNECT is queued after any PUBACKs already queued; paho sends packets in order.
        self._paho.disconnect()
        deadline = time.monotonic() + timeout
        while self._paho.is_connected() and time.monotonic() < deadline:
            time.sleep(0.01)
        self._paho.loop_stop()

    # paho callbacks (network thread) -------------------------------------------------------

    def _on_connect(
        self, client: paho.Client, _userdata: Any, flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            self._link.failed(f"connection refused: {reason}")
            return
        self.generation += 1
        self._link.succeeded()
        self._log.debug("connected, session present: %s", flags.session_present)
        # Retain handling 1: retained messages only for a new subscription, not on every resume.
        options = SubscribeOptions(qos=self.options.qos, retainHandling=1)
        client.subscribe([(topic, options) for topic in self.options.subscriptions()])

    def _on_connect_fail(self, _client: paho.Client, _userdata: Any) -> None:
        self._link.failed("cannot connect")

    def _on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self.ready.clear()
        if not self._stopping.is_set():
            self._link.failed(f"disconnected: {reason}")

    def _on_subscribe(
        self, _client: paho.Client, _userdata: Any, _mid: int, reasons: list[Any], _props: Any
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            # e.g. "Shared Subscriptions not supported" from a broker without MQTT 5 sharing.
            self._log.error("broker refused a subscription: %s", ", ".join(refused))
            return
        self.ready.set()

    def _on_message(self, _client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        delivery = Delivery(
            topic=msg.topic,
            payload=bytes(msg.payload),
            qos=msg.qos,
            mid=msg.mid,
            duplicate=bool(msg.dup),
            received_at=datetime.now(UTC),
            generation=self.generation,
        )
        while not self._stopping.is_set():
            try:
                self.intake.put(delivery, timeout=_PUT_POLL_SECONDS)
                return
            except queue.Full:
                continue
        self.dropped_on_stop += 1  # not acked: the broker redelivers it
