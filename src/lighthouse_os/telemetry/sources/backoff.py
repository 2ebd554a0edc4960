"""Exponential backoff with a cap, for reconnects and write retries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Backoff:
    """Delays `initial * factor**n` seconds, capped at `maximum`; `reset()` after a success."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    _attempt: int = 0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.factor < 1:
            raise ValueError("backoff needs 0 < initial <= maximum and factor >= 1")

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds."""
        delay = min(self.initial * self.factor**self._attempt, self.maximum)
        if delay < self.maximum:
            self._attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from `initial`."""
        self._attempt = 0
