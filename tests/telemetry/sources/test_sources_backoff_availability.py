"""Reconnect backoff and log-once availability shared by the sources."""

from __future__ import annotations

import logging

import pytest

from lighthouse_os.telemetry.sources.availability import Availability
from lighthouse_os.telemetry.sources.backoff import Backoff


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(initial=0.5, maximum=3.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


@pytest.mark.parametrize(("initial", "maximum", "factor"), [(0, 1, 2), (2, 1, 2), (1, 2, 0.5)])
def test_backoff_refuses_nonsense(initial: float, maximum: float, factor: float) -> None:
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(initial, maximum, factor)


def test_availability_logs_failure_once_and_recovery_once(caplog: pytest.LogCaptureFixture) -> None:
    link = Availability("broker", logging.getLogger("test.availability"))
    with caplog.at_level(logging.DEBUG, logger="test.availability"):
        link.succeeded()
        for _ in range(5):
            link.failed("refused")
        link.succeeded()
        link.succeeded()
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [m for lvl, m in levels if lvl >= logging.INFO] == [
        "broker unavailable: refused",
        "broker recovered",
    ]
    assert (link.failures, link.recoveries, link.available) == (1, 1, True)
