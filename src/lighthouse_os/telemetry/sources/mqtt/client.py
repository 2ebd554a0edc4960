"""paho MQTT 5 subscriber for ingestion: persistent session, manual ack, bounded intake queue.

paho-mqtt speaks the protocol; we drive its network loop from a thread of our own with paho's
external-loop calls (`loop_read`, `loop_write`, `loop_misc`, `want_write`) rather than
`loop_start()`, because the way the loop is driven decides the cost per message (ADR 0011):
- paho reads one packet per `loop_read`; we call it until a call brings no new message, and
  `select` only when the socket is drained, not once per packet.
- Only the network thread touches paho. `ack` hands the packet ids of a written batch to it;
  it queues their PUBACKs with `Client.ack` and writes them in one `loop_write`, waking once per
  batch. (Acks from another thread make paho poke its wake-up socket and write once per ack.)
- `on_message` only appends a `Delivery`; the thread hands a round of them over in one lock.

Backpressure, end to end (memory stays bounded whatever the publishers do):
1. The intake queue is bounded (`queue_capacity`). When it is full, the network thread stops
   reading the socket and TCP pushes back on the broker, which keeps the rest in the session
   queue (size that on the broker: Mosquitto `max_queued_messages`). This is the guarantee; it
   also covers QoS 0, which has no flow control.
2. We acknowledge a message only after its batch is durably stored, and announce
   `Receive Maximum = receive_maximum` in CONNECT, so a compliant MQTT 5 broker holds back
   before the queue even fills (MQTT 5.0 §4.9).
3. At most `queue_capacity` messages wait in the queue, plus the one batch being written.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import unquote, urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from lighthouse_os.telemetry.sources.availability import Availability
from lighthouse_os.telemetry.sources.backoff import Backoff
from lighthouse_os.telemetry.sources.mqtt.gaps import PacketIdGaps

_log = logging.getLogger(__name__)
_SCHEMES = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}
# How often the network thread wakes to check for stop and keep-alive when nothing happens.
_POLL_SECONDS = 0.2
# Messages read before handing them to the worker: it can start a batch while we read on.
_ROUND_MESSAGES = 500
# A connection that lived this long resets the reconnect backoff; a shorter one (e.g. two
# workers taking the same client id from each other) keeps backing off.
_STABLE_SECONDS = 10.0
_GOODBYE_SECONDS = 2.0
_GAP_LOG_SECONDS = 60.0
# Stands for a topic that is not UTF-8 (brokers refuse those); it matches no decoder, so the
# message is dead-lettered and acknowledged instead of breaking the connection forever.
_UNREADABLE_TOPIC = "\ufffd"


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
    """The bounded FIFO between the network thread and the worker; remembers its high water.

    One producer (the network thread) asks `room` before it reads, so the bound holds. When it
    finds no room, the next `take` calls `on_room` to wake it (once, not per take).
    """

    def __init__(self, capacity: int, on_room: Callable[[], None] | None = None) -> None:
        self.capacity = capacity
        self.high_water = 0
        self._items: deque[Delivery] = deque()
        self._changed = threading.Condition()
        self._on_room = on_room
        self._room_wanted = False
        # How many items the waiting consumer wants: waking it for fewer only costs CPU.
        self._wanted = sys.maxsize

    def qsize(self) -> int:
        """Deliveries waiting."""
        return len(self._items)

    def room(self) -> int:
        """Free slots now; with none, the next `take` calls `on_room`."""
        with self._changed:
            free = self.capacity - len(self._items)
            if free <= 0:
                self._room_wanted = True
            return max(free, 0)

    def put_many(self, deliveries: list[Delivery]) -> None:
        """Append what fits in the `room` the producer asked for."""
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
            wake_producer = bool(batch) and self._room_wanted
            if wake_producer:
                self._room_wanted = False
        if wake_producer and self._on_room is not None:
            self._on_room()
        return batch

    def wake(self) -> None:
        """Wake whoever waits (used when stopping)."""
        with self._changed:
            self._changed.notify_all()


class MqttClient:
    """A paho MQTT 5 client driven by a network thread of ours, feeding an `IntakeQueue` and
    acknowledging what the caller passes to `ack`. Reconnects with exponential backoff and
    resumes the stored session."""

    def __init__(self, options: MqttOptions, *, logger: logging.Logger | None = None) -> None:
        self.options = options
        self.address = BrokerAddress.from_url(options.url)
        self.ready = threading.Event()
        self.generation = 0
        # Packet ids the broker skipped: messages it most likely dropped for our session.
        self.skipped_ids = 0
        self._log = logger or _log
        self._link = Availability(f"MQTT broker {self.address.host}:{self.address.port}", self._log)
        self._paused = threading.Event()
        self._closing = threading.Event()
        # Other threads write a byte to `_waker` to wake the network thread out of `select`;
        # made in `start`, so a client that never starts holds no sockets.
        self._wakeup: socket.socket | None = None
        self._waker: socket.socket | None = None
        self.intake = IntakeQueue(options.queue_capacity, on_room=self._wake)
        self._acks: list[tuple[int, list[int]]] = []  # (generation, packet ids) from `ack`
        self._acks_lock = threading.Lock()
        self._received: list[Delivery] = []  # filled by `_on_message` during one read round
        self._received_at = datetime.now(UTC)
        self._gaps = PacketIdGaps()
        self._gap_logged_at = -_GAP_LOG_SECONDS
        self._gap_unlogged = 0
        self._paho = self._build()
        self._thread: threading.Thread | None = None

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
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        # With this callback set, paho only queues what it sends (PUBACKs, SUBSCRIBE, PINGREQ)
        # and our loop writes it, once per round, instead of one send per queued packet.
        client.on_socket_register_write = _ignore_socket
        client.on_socket_close = self._on_socket_close
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.options.session_expiry_seconds
        properties.ReceiveMaximum = self.options.receive_maximum
        client.connect_async(
            self.address.host,
            self.address.port,
            keepalive=self.options.keepalive_seconds,
            clean_start=False,
            properties=properties,
        )
        return client

    def start(self) -> None:
        """Connect in the background; the network thread reconnects with backoff on its own."""
        wakeup, waker = socket.socketpair()
        for end in (wakeup, waker):
            end.setblocking(False)
        self._wakeup, self._waker = wakeup, waker
        self._thread = threading.Thread(
            target=self._run, args=(wakeup,), name=f"mqtt-{self.options.client_id}", daemon=True
        )
        self._thread.start()

    def take(self, max_items: int, max_wait: float) -> list[Delivery]:
        """Up to `max_items` deliveries, waiting at most `max_wait` seconds from now in total."""
        return self.intake.take(max_items, max_wait)

    def ack(self, deliveries: list[Delivery]) -> int:
        """Have the network thread acknowledge the QoS 1 deliveries of the current connection.

        Returns how many it was given. Should the connection end before it sends them, it
        drops them (their packet ids mean nothing on the next one) and the broker redelivers.
        """
        generation = self.generation
        ids = [d.mid for d in deliveries if d.qos and d.generation == generation]
        if ids:
            with self._acks_lock:
                self._acks.append((generation, ids))
            self._wake()
        return len(ids)

    def pause(self) -> None:
        """Stop taking new messages into the queue.

        Messages not yet queued stay unacknowledged, so the broker keeps them in the session
        and redelivers them to this client id on its next connection.
        """
        self._paused.set()
        self.intake.wake()
        self._wake()

    def stop(self, timeout: float = 5.0) -> None:
        """Pause, send the acks already given, disconnect and join the network thread."""
        self.pause()
        self._closing.set()
        self._wake()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if thread is None or not thread.is_alive():
            for end in (self._wakeup, self._waker):
                if end is not None:
                    end.close()

    def _wake(self) -> None:
        waker = self._waker
        if waker is not None:
            with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed
                waker.send(b"\0")

    # network thread ----------------------------------------------------------------------

    def _run(self, wakeup: socket.socket) -> None:
        backoff = Backoff(self.options.reconnect_min_seconds, self.options.reconnect_max_seconds)
        while not self._closing.is_set():
            opened = time.monotonic()
            try:
                self._paho.reconnect()  # TCP (+TLS) and CONNECT queued; CONNACK comes in `_serve`
                self._serve(wakeup)
            except OSError as err:  # paho reports failures on a live link as return codes
                self._link.failed(f"cannot connect: {err}")
            except Exception:  # a bug here must not end intake for good: reconnect (rule 7)
                self._log.exception("MQTT network thread failed; reconnecting")
            finally:
                self._abandon()
            self.ready.clear()
            if time.monotonic() - opened >= _STABLE_SECONDS:
                backoff.reset()
            if not self._closing.is_set():
                self._closing.wait(backoff.next_delay())

    def _serve(self, wakeup: socket.socket) -> None:
        """Read, acknowledge and keep the connection alive until it ends or we close."""
        client = self._paho
        sock = client.socket()
        while sock is not None and client.socket() is sock:
            if self._closing.is_set():
                self._goodbye()
                return
            self._send_acks()
            reading = not self._paused.is_set() and self.intake.room() > 0
            pending = reading and isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            readable, writable, _ = select.select(
                [wakeup, sock] if reading else [wakeup],
                [sock] if client.want_write() else [],
                [],
                0 if pending else _POLL_SECONDS,
            )
            if wakeup in readable:
                with contextlib.suppress(OSError):
                    wakeup.recv(4096)
            if writable:
                client.loop_write()
            if reading:
                if pending or sock in readable:
                    self._read()
                # Keep-alive only while we read: paho drops a link whose PINGRESP it has not
                # read in time, and while the queue is full we read nothing. Our acks show the
                # broker we are alive meanwhile; if none flow for 1.5 keep-alives (the sink is
                # down), the broker ends the link and redelivers what is unacknowledged.
                client.loop_misc()

    def _read(self) -> None:
        """Read messages while there are some, up to the queue's room; hand them over."""
        limit = min(self.intake.room(), _ROUND_MESSAGES)
        received, loop_read = self._received, self._paho.loop_read
        self._received_at = datetime.now(UTC)
        while len(received) < limit:
            before = len(received)
            if loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS or len(received) == before:
                break  # the link ended, or no whole message was waiting (or a control packet)
        if received:
            self._hand_over()

    def _hand_over(self) -> None:
        deliveries, self._received = self._received, []
        observe, skipped = self._gaps.observe, 0
        for delivery in deliveries:
            if delivery.qos:
                skipped += observe(delivery.mid, delivery.duplicate)
        self.intake.put_many(deliveries)
        if skipped:
            self._note_gap(skipped)

    def _send_acks(self) -> None:
        if not self._acks:
            return
        with self._acks_lock:
            batches, self._acks = self._acks, []
        ack = self._paho.ack
        for generation, ids in batches:
            if generation != self.generation:
                continue  # from a connection that has ended: the broker redelivers them
            for mid in ids:
                ack(mid, 1)
        self._paho.loop_write()

    def _goodbye(self) -> None:
        """Send the acks given so far, then DISCONNECT; paho closes the socket once sent."""
        self._send_acks()
        client = self._paho
        client.disconnect()
        deadline = time.monotonic() + _GOODBYE_SECONDS
        while (sock := client.socket()) is not None and client.want_write():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            select.select([], [sock], [], remaining)
            client.loop_write()

    def _on_socket_close(self, _client: paho.Client, _userdata: Any, sock: Any) -> None:
        """Before paho closes the socket after our DISCONNECT: let the broker read it first.

        Paused, we leave messages unread in the socket. Closing a socket with unread data makes
        the kernel reset the connection, and a broker that had not yet read our last PUBACKs
        drops them with the connection (Mosquitto does): it then redelivers messages we stored
        and acknowledged. So we half-close and read, discarding, until the broker closes its
        side (it has then handled everything we sent) or `_GOODBYE_SECONDS` pass.
        """
        if not self._closing.is_set():
            return  # the link failed: nothing more can be delivered on it
        deadline = time.monotonic() + _GOODBYE_SECONDS
        with contextlib.suppress(OSError, ValueError):
            sock.shutdown(socket.SHUT_WR)
            while (remaining := deadline - time.monotonic()) > 0:
                if select.select([sock], [], [], remaining)[0] and not sock.recv(65536):
                    return  # end of stream: the broker has read all we sent

    def _abandon(self) -> None:
        """Close the socket if paho has not (the next `reconnect` starts afresh)."""
        sock = self._paho.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

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

    # paho callbacks (called by paho inside `loop_read`, on the network thread) -------------

    def _on_connect(
        self,
        client: paho.Client,
        _userdata: Any,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._link.failed(f"connection refused: {reason}")
            return
        self.generation += 1
        self._gaps = PacketIdGaps()  # packet ids are numbered per connection
        self._link.succeeded()
        self._log.debug("connected, session present: %s", flags.session_present)
        # Retain handling 1: retained messages only for a new subscription, not on every resume.
        options = SubscribeOptions(qos=self.options.qos, retainHandling=1)
        client.subscribe([(topic, options) for topic in self.options.subscriptions()])

    def _on_disconnect(
        self,
        _client: paho.Client,
        _userdata: Any,
        _flags: paho.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self.ready.clear()
        if not self._paused.is_set():
            self._link.failed(f"disconnected: {reason}")

    def _on_subscribe(
        self,
        _client: paho.Client,
        _userdata: Any,
        _mid: int,
        reasons: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            # e.g. "Shared Subscriptions not supported" from a broker without MQTT 5 sharing.
            self._log.error("broker refused a subscription: %s", ", ".join(refused))
            return
        self.ready.set()

    def _on_message(self, _client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = _UNREADABLE_TOPIC
        self._received.append(
            Delivery(
                topic,
                msg.payload,  # type: ignore[arg-type]  # bytes: paho slices it from the packet
                msg.qos,
                msg.mid,
                msg.dup,
                self._received_at,
                self.generation,
            )
        )


def _ignore_socket(_client: paho.Client, _userdata: Any, _sock: Any) -> None:
    """paho's write-interest callback: our loop asks `want_write` itself."""
