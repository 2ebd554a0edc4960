"""The one interface push sources plug into: a decoder turns one broker message into batches."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol

from lighthouse_os.telemetry.points import RawPoint

# The value objects below are NamedTuples rather than frozen dataclasses: the worker builds
# several per message, tens of thousands a second, and a tuple is several times cheaper to make.


class InboundMessage(NamedTuple):
    """One message as the broker delivered it.

    `received_at` is the worker's aware wall-clock time of arrival; `duplicate` is the MQTT DUP
    flag (the broker may have delivered it before, e.g. after a reconnect).
    """

    topic: str
    payload: bytes
    received_at: datetime
    duplicate: bool = False


class SiteBatch(NamedTuple):
    """Points for one site, in payload order."""

    site: str
    points: tuple[RawPoint, ...]


class Problem(NamedTuple):
    """Why (part of) a message could not be stored; it becomes one dead letter."""

    reason: str
    site: str | None = None


class Decoded(NamedTuple):
    """What one message yields: points to store and problems to dead-letter (both may be set)."""

    batches: tuple[SiteBatch, ...] = ()
    problems: tuple[Problem, ...] = ()

    @classmethod
    def bad(cls, reason: str, site: str | None = None) -> Decoded:
        """A message that yields no points, only one problem."""
        return cls(problems=(Problem(reason, site),))


class MessageDecoder(Protocol):
    """A push source's protocol logic; built-in and external sources register through this.

    `topic_filters` are the MQTT filters the worker subscribes to; `source` names the source in
    the store and in dead letters; `decode` never raises on bad input, it returns a `Problem`.
    """

    @property
    def source(self) -> str: ...

    @property
    def topic_filters(self) -> tuple[str, ...]: ...

    def accepts(self, topic: str) -> bool:
        """Whether this decoder owns messages on `topic`."""
        ...

    def decode(self, message: InboundMessage) -> Decoded:
        """Turn one message into site batches and problems."""
        ...
