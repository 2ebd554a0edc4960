"""MQTT 5 subscriber for ingestion: persistent session, manual ack and a bounded intake queue.

We speak the protocol ourselves (`packets.py`) instead of through paho: paho reads a socket a
few bytes at a time and wakes its loop once per acknowledgement, several system calls and GIL
hand-overs per message, which capped the worker at a few thousand messages a second (ADR 0012).
Here one network thread reads up to `_RECV_BYTES` at a time, cuts every packet in it at once
and hands the messages over in one lock; the worker acknowledges a whole batch in one send.

Backpressure, end to end (memory stays bounded whatever the publishers do):
1. The intake queue is bounded (`queue_capacity`). When it is full, the network thread stops
   reading the socket and TCP pushes back on the broker, which keeps the rest in the session
   queue (size that on the broker: Mosquitto `max_queued_messages`). This is the guarantee; it
   also covers QoS 0, which has no flow control.
2. We acknowledge a message only after its batch is durably stored, and announce
   `Receive Maximum = receive_maximum` in CONNECT, so a compliant MQTT 5 broker holds back
   before the queue even fills (MQTT 5.0 §4.9).
3. At most `queue_capacity` messages wait in the queue, plus the one batch being written and
   one socket read of unparsed bytes.

This module speaks only MQTT; its imports from the package are stdlib-only helpers.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import unquote, urlparse

from lighthouse_os.telemetry.sources.availability import Availability
from lighthouse_os.telemetry.sources.backoff import Backoff
from lighthouse_os.telemetry.sources.mqtt import packets
from lighthouse_os.telemetry.sources.mqtt.packets import Control, PacketIdGaps, Publish

_log = logging.getLogger(__name__)
_SCHEMES = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}
# How often the network thread wakes to check for stop and keep-alive when nothing happens.
_POLL_SECONDS = 0.2
_RECV_BYTES = 256 * 1024
_COALESCE_BELOW_BYTES = 16 * 1024
_COALESCE_SECONDS = 0.001
_CONNECT_TIMEOUT_SECONDS = 5.0
_SUBSCRIBE_PACKET_ID = 1
# A connection that lived this long resets the reconnect backoff; a shorter one (e.g. two
# workers taking the same client id from each other) keeps backing off.
_STABLE_SECONDS = 10.0
_GAP_LOG_SECONDS = 60.0


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
    """How one worker connects; `client_id` must be stable so the broker keeps its session.

    `qos` is the subscription's maximum QoS: 1 (at least once, acknowledged after the write)
    or 0. The broker downgrades QoS 2 publications to it, so we never run the QoS 2 exchange.
    """

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
        if self.qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        if not 1 <= self.reconnect_min_seconds <= self.reconnect_max_seconds:
            raise ValueError("reconnect delays need 1 <= min <= max seconds")

    def subscriptions(self) -> tuple[str, ...]:
        """The filters as subscribed: `$share/<group>/<filter>` when a shared group is set."""
        if self.shared_group is None:
            return self.topic_filters
        return tuple(f"$share/{self.shared_group}/{f}" for f in self.topic_filters)


class Delivery(NamedTuple):
    """One received message and what is needed to acknowledge it later.

    `generation` numbers the connection it arrived on: a packet id is only meaningful on that
    connection, so deliveries from an earlier one are not acknowledged (the broker redelivers).
    A NamedTuple, not a dataclass: one is built per message on the hot path, and it is cheaper.
    """

    topic: str
    payload: bytes
    qos: int
    mid: int
    duplicate: bool
    received_at: datetime
    generation: int


class IntakeQueue:
    """The bounded FIFO between the network thread and the worker; remembers its high water."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.high_water = 0
        self._items: deque[Delivery] = deque()
        self._changed = threading.Condition()
        # How many items the waiting consumer wants: waking it for fewer only costs CPU.
        self._wanted = sys.maxsize

    def qsize(self) -> int:
        """Deliveries waiting."""
        return len(self._items)

    def wait_for_room(self, timeout: float) -> int:
        """Free slots, waiting up to `timeout` seconds for one when the queue is full."""
        with self._changed:
            if len(self._items) >= self.capacity:
                self._changed.wait(timeout)
            return max(self.capacity - len(self._items), 0)

    def put_many(self, deliveries: list[Delivery]) -> None:
        """Append; the one producer asked `wait_for_room` first, so the bound holds."""
        with self._changed:
            self._items.extend(deliveries)
            self.high_water = max(self.high_water, len(self._items))
            if len(self._items) >= self._wanted:
                self._changed.notify_all()

    def take(self, max_items: int, max_wait: float) -> list[Delivery]:
        """Up to `max_items`, waiting at most `max_wait` seconds from now for a full batch."""
        deadline = time.monotonic() + max_wait
        with self._changed:
            self._wanted = max_items
            while len(self._items) < max_items:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._changed.wait(remaining):
                    break
            self._wanted = sys.maxsize
            items = self._items
            batch = [items.popleft() for _ in range(min(max_items, len(items)))]
            if batch:
                self._changed.notify_all()  # room for the network thread
        return batch

    def wake(self) -> None:
        """Wake whoever waits (used when stopping)."""
        with self._changed:
            self._changed.notify_all()


class _Connection(NamedTuple):
    sock: socket.socket
    reader: packets.PacketReader
    keepalive: int
    opened: float


class MqttClient:
    """An MQTT 5 subscriber in its own network thread, feeding an `IntakeQueue`, acked by the
    caller with `ack`. Reconnects with exponential backoff and resumes the stored session."""

    def __init__(self, options: MqttOptions, *, logger: logging.Logger | None = None) -> None:
        self.options = options
        self.address = BrokerAddress.from_url(options.url)
        self.intake = IntakeQueue(options.queue_capacity)
        self.ready = threading.Event()
        self.generation = 0
        # Packet ids the broker skipped: messages it most likely dropped for our session.
        self.skipped_ids = 0
        self._log = logger or _log
        self._link = Availability(f"MQTT broker {self.address.host}:{self.address.port}", self._log)
        self._paused = threading.Event()
        self._closing = threading.Event()
        self._send_lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._last_sent = 0.0
        self._ping_sent_at: float | None = None
        self._gap_logged_at = -_GAP_LOG_SECONDS
        self._gap_unlogged = 0
        self._thread = threading.Thread(
            target=self._run, name=f"mqtt-{options.client_id}", daemon=True
        )

    @property
    def available(self) -> bool:
        """Whether the last connection attempt succeeded and the link is up."""
        return self._link.available

    def start(self) -> None:
        """Connect in the background; the network thread reconnects with backoff on its own."""
        self._thread.start()

    def take(self, max_items: int, max_wait: float) -> list[Delivery]:
        """Up to `max_items` deliveries, waiting at most `max_wait` seconds from now in total."""
        return self.intake.take(max_items, max_wait)

    def ack(self, deliveries: list[Delivery]) -> int:
        """Acknowledge, in one send, the QoS 1 deliveries of the current connection."""
        with self._send_lock:
            ids = [d.mid for d in deliveries if d.qos and d.generation == self.generation]
            if not ids or not self._send_locked(packets.puback_packets(ids)):
                return 0
        return len(ids)

    def pause(self) -> None:
        """Stop taking new messages into the queue.

        Messages not yet queued stay unacknowledged, so the broker keeps them in the session
        and redelivers them to this client id on its next connection.
        """
        self._paused.set()
        self.intake.wake()

    def stop(self, timeout: float = 5.0) -> None:
        """Pause, disconnect (after any acks already sent) and join the network thread."""
        self.pause()
        self._closing.set()
        with self._send_lock:
            sock = self._sock
            if sock is not None:
                self._send_locked(packets.DISCONNECT_PACKET)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.intake.wake()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # network thread ----------------------------------------------------------------------

    def _run(self) -> None:
        backoff = Backoff(self.options.reconnect_min_seconds, self.options.reconnect_max_seconds)
        while not self._closing.is_set():
            try:
                connection = self._open()
            except (OSError, packets.ProtocolError) as err:
                self._link.failed(f"cannot connect: {err}")
                self._closing.wait(backoff.next_delay())
                continue
            try:
                self._serve(connection)
            except (OSError, packets.ProtocolError) as err:
                if not self._paused.is_set():
                    self._link.failed(f"disconnected: {err}")
            except Exception:  # a bug here must not end intake for good: reconnect (rule 7)
                self._log.exception("MQTT network thread failed; reconnecting")
            finally:
                self._drop(connection.sock)
            if time.monotonic() - connection.opened >= _STABLE_SECONDS:
                backoff.reset()
            if not self._closing.is_set():
                self._closing.wait(backoff.next_delay())

    def _open(self) -> _Connection:
        """TCP (+TLS), CONNECT, CONNACK; a refused CONNACK raises `ConnectionRefusedError`."""
        address, options = self.address, self.options
        sock = socket.create_connection(
            (address.host, address.port), timeout=_CONNECT_TIMEOUT_SECONDS
        )
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if address.tls:
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=address.host)
            request = packets.ConnectRequest(
                client_id=options.client_id,
                keepalive_seconds=options.keepalive_seconds,
                clean_start=False,
                session_expiry_seconds=options.session_expiry_seconds,
                receive_maximum=options.receive_maximum,
                username=address.username,
                password=address.password,
            )
            sock.sendall(packets.connect_packet(request))
            reader = packets.PacketReader()
            connack = self._connack(sock, reader)
        except BaseException:
            sock.close()
            raise
        if connack.refused:
            sock.close()
            raise ConnectionRefusedError(f"connection refused: {connack.describe()}")
        sock.settimeout(None)  # reads are polled with select; sends block (see `_send_locked`)
        keepalive = options.keepalive_seconds
        if connack.server_keepalive is not None:
            keepalive = connack.server_keepalive
        with self._send_lock:
            self._sock = sock
            self.generation += 1
            self._last_sent = time.monotonic()
            self._ping_sent_at = None
        self._link.succeeded()
        self._log.debug("connected, session present: %s", connack.session_present)
        return _Connection(sock, reader, keepalive, time.monotonic())

    @staticmethod
    def _connack(sock: socket.socket, reader: packets.PacketReader) -> packets.Connack:
        while not (found := reader.read(1)):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionResetError("the broker closed the connection before CONNACK")
            reader.feed(chunk)
        first = found[0]
        if not isinstance(first, Control) or first.kind != packets.CONNACK:
            raise packets.ProtocolError("the first packet from the broker is not CONNACK")
        return packets.parse_connack(first.body)

    def _serve(self, connection: _Connection) -> None:
        """Subscribe, then read and queue messages until the connection ends or we close."""
        options = self.options
        subscribe = packets.subscribe_packet(
            _SUBSCRIBE_PACKET_ID, options.subscriptions(), options.qos
        )
        if not self._send(subscribe):
            raise ConnectionResetError("could not send SUBSCRIBE")
        gaps = PacketIdGaps()
        while not self._closing.is_set():
            room = self.intake.wait_for_room(_POLL_SECONDS)
            if room == 0 or self._paused.is_set():
                self._keepalive(connection)
                if self._paused.is_set():
                    self._closing.wait(_POLL_SECONDS)
                continue
            found = connection.reader.read(room)
            if not found:
                self._receive(connection)
                continue
            self._dispatch(found, gaps)

    def _receive(self, connection: _Connection) -> None:
        sock = connection.sock
        pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
        if not pending and not select.select([sock], [], [], _POLL_SECONDS)[0]:
            self._keepalive(connection)
            if self._ping_sent_at is not None and (
                time.monotonic() - self._ping_sent_at > max(connection.keepalive, 1)
            ):
                raise TimeoutError("no answer to PINGREQ within the keep-alive")
            return
        chunk = sock.recv(_RECV_BYTES)
        if not chunk:
            raise ConnectionResetError("the broker closed the connection")
        self._ping_sent_at = None  # anything from the broker shows the link is alive
        connection.reader.feed(chunk)
        if len(chunk) < _COALESCE_BELOW_BYTES:
            # A short read: let more arrive before the next one. One read and one hand-over
            # then carry many messages (less CPU per message) for at most 1 ms more latency.
            time.sleep(_COALESCE_SECONDS)

    def _dispatch(self, found: list[Publish | Control], gaps: PacketIdGaps) -> None:
        now, generation = datetime.now(UTC), self.generation
        deliveries: list[Delivery] = []
        skipped = 0
        for packet in found:
            if type(packet) is Publish:
                topic, payload, qos, mid, duplicate, _retain = packet
                deliveries.append(Delivery(topic, payload, qos, mid, duplicate, now, generation))
                skipped += gaps.observe(mid, duplicate)
            else:
                self._control(packet)  # type: ignore[arg-type]
        if deliveries:
            self.intake.put_many(deliveries)
        if skipped:
            self._note_gap(skipped)

    def _control(self, packet: Control) -> None:
        if packet.kind == packets.SUBACK:
            refused = [
                packets.reason_name(c) for c in packets.parse_suback(packet.body)[1] if c >= 0x80
            ]
            if refused:
                # e.g. "Shared Subscriptions not supported" from a broker without MQTT 5 sharing.
                self._log.error("broker refused a subscription: %s", ", ".join(refused))
            else:
                self.ready.set()
        elif packet.kind == packets.DISCONNECT:
            raise ConnectionResetError(
                f"the broker disconnected: {packets.parse_disconnect(packet.body)}"
            )
        elif packet.kind != packets.PINGRESP:
            raise packets.ProtocolError(f"unexpected packet type {packet.kind} from the broker")

    def _note_gap(self, skipped: int) -> None:
        self.skipped_ids += skipped
        self._gap_unlogged += skipped
        now = time.monotonic()
        if now - self._gap_logged_at >= _GAP_LOG_SECONDS:
            self._log.warning(
                "the broker skipped %d message ids on this session: it most likely dropped "
                "that many messages because its queue for this client was full (Mosquitto: "
                "raise max_queued_messages, see docs/telemetry.md)",
                self._gap_unlogged,
            )
            self._gap_logged_at, self._gap_unlogged = now, 0

    def _keepalive(self, connection: _Connection) -> None:
        """PINGREQ when nothing was sent for half the keep-alive (the broker allows 1.5x)."""
        if not connection.keepalive or self._ping_sent_at is not None:
            return
        idle = time.monotonic() - self._last_sent
        if idle >= connection.keepalive / 2 and self._send(packets.PINGREQ_PACKET):
            self._ping_sent_at = time.monotonic()

    def _send(self, data: bytes) -> bool:
        with self._send_lock:
            return self._send_locked(data)

    def _send_locked(self, data: bytes) -> bool:
        """Send whole packets on the current connection; on failure shut it down (reconnect)."""
        sock = self._sock
        if sock is None:
            return False
        try:
            sock.sendall(data)
        except OSError:
            # A partly sent packet would corrupt the stream: end the connection instead.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            return False
        self._last_sent = time.monotonic()
        return True

    def _drop(self, sock: socket.socket) -> None:
        with self._send_lock:
            if self._sock is sock:
                self._sock = None
        self.ready.clear()
        with contextlib.suppress(OSError):
            sock.close()
