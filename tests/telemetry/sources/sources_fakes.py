"""Test helpers for the ingestion sources: an in-memory fake of OUR `TelemetrySink`, a publisher."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from lighthouse_os.errors import LhosError
from lighthouse_os.telemetry.points import IngestResult, RawPoint, TelemetrySink
from lighthouse_os.telemetry.sources.decoder import MessageDecoder
from lighthouse_os.telemetry.sources.mqtt.client import BrokerAddress, MqttClient, MqttOptions
from lighthouse_os.telemetry.worker import MqttWorker, WorkerOptions


class SinkDown(RuntimeError):
    """The fake store is unavailable (a transient failure)."""


@dataclass(frozen=True, slots=True)
class Letter:
    source: str
    payload: bytes
    reason: str
    site: str | None


@dataclass
class FakeSink:
    """Keeps points keyed on (site, tag, ts) like the real sink; can be told to fail."""

    fail_with: Exception | None = None
    delay: float = 0.0
    points: dict[tuple[str, str, object], object] = field(default_factory=dict)
    calls: list[tuple[str, int, str]] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    written: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ingest(self, site: str, points: Sequence[RawPoint], *, source: str) -> IngestResult:
        if self.fail_with is not None:
            raise self.fail_with
        time.sleep(self.delay)
        with self._lock:
            self.calls.append((site, len(points), source))
            fresh = 0
            for p in points:
                key = (site, p.tag, p.ts)
                fresh += key not in self.points
                self.points[key] = p.value
        self.written.set()
        return IngestResult(accepted=fresh, duplicates=len(points) - fresh)

    def dead_letter(self, *, source: str, payload: bytes, reason: str, site: str | None) -> None:
        if self.fail_with is not None and not isinstance(self.fail_with, LhosError):
            raise self.fail_with
        with self._lock:
            self.letters.append(Letter(source, payload, reason, site))
        self.written.set()

    def values(self, site: str) -> dict[str, object]:
        """tag -> last value for one site."""
        with self._lock:
            return {tag: v for (s, tag, _), v in self.points.items() if s == site}


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, step: float = 0.01) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


class Publisher:
    """A plain paho MQTT 5 publisher for tests (QoS 1, waits for PUBACK)."""

    def __init__(self, url: str) -> None:
        address = BrokerAddress.from_url(url)
        self._client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        self._client.max_inflight_messages_set(1000)
        self._client.connect(address.host, address.port)
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        self._client.publish(topic, payload, qos=qos).wait_for_publish(10)

    def publish_many(self, messages: Sequence[tuple[str, bytes | str]], qos: int = 1) -> None:
        infos = [self._client.publish(t, p, qos=qos) for t, p in messages]
        for info in infos:
            info.wait_for_publish(10)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@dataclass
class RunningWorker:
    """A worker running in a thread until `stop()`."""

    worker: MqttWorker
    stop_event: threading.Event
    thread: threading.Thread

    @property
    def client(self) -> MqttClient:
        return self.worker.client

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(15)


def start_worker(
    url: str,
    decoders: Sequence[MessageDecoder],
    sink: TelemetrySink,
    *,
    client_id: str,
    worker_options: WorkerOptions | None = None,
    **options: Any,
) -> RunningWorker:
    """Start a worker on a thread and wait until its subscription is active."""
    mqtt_options = MqttOptions(
        url=url,
        client_id=client_id,
        topic_filters=tuple(f for d in decoders for f in d.topic_filters),
        session_expiry_seconds=options.pop("session_expiry_seconds", 120),
        reconnect_min_seconds=1,
        reconnect_max_seconds=2,
        **options,
    )
    worker = MqttWorker(
        MqttClient(mqtt_options),
        decoders,
        sink,
        worker_options
        or WorkerOptions(
            batch_size=50,
            batch_wait_seconds=0.02,
            retry_initial_seconds=0.05,
            retry_max_seconds=0.2,
        ),
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    if not worker.client.ready.wait(10):
        stop.set()
        raise RuntimeError("worker did not subscribe within 10 s")
    return RunningWorker(worker, stop, thread)


class TcpProxy:
    """A localhost TCP relay to the broker whose connections a test can cut (a network fault)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Break every open connection; new ones are still accepted."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._closed = True
        self._server.close()
        self.cut()
