"""Availability of a connection or sink: log the failure once and the recovery once; and which
sink failures are the data's doing rather than an outage (ADR 0016)."""

from __future__ import annotations

import logging


class Availability:
    """Tracks up/down for one dependency so a flapping link does not flood the log.

    Follows Home Assistant's coordinator: the first failure logs a warning, repeats are debug
    lines, and the first success after a failure logs one recovery line.
    """

    def __init__(self, what: str, logger: logging.Logger) -> None:
        self._what = what
        self._logger = logger
        self.available = True
        self.failures = 0
        self.recoveries = 0

    def failed(self, error: BaseException | str) -> None:
        """Record a failure; only the transition from available is logged as a warning."""
        if self.available:
            self.available = False
            self.failures += 1
            self._logger.warning("%s unavailable: %s", self._what, error)
        else:
            self._logger.debug("%s still unavailable: %s", self._what, error)

    def succeeded(self) -> None:
        """Record a success; only the transition from unavailable is logged."""
        if not self.available:
            self.available = True
            self.recoveries += 1
            self._logger.info("%s recovered", self._what)


def looks_like_data_error(error: BaseException) -> bool:
    """A failure some input triggers (a bug on odd data), not an outage: retrying the same
    input forever cannot help, so after a few tries the input is set aside as a dead letter."""
    return isinstance(error, ValueError | TypeError | ArithmeticError | LookupError)
