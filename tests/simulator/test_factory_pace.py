"""Tests of real-time pacing of simulated points with an injected clock."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest

from lighthouse_os.simulator.factory import Point, SimulatorConfigError, pace
from lighthouse_os.simulator.publish import publish_live

T0 = datetime(2025, 3, 3, 6, tzinfo=timezone(timedelta(hours=7)))


class FakeClock:
    """A monotonic clock that only moves when the code sleeps or work is simulated."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def points_at(*seconds: float) -> list[Point]:
    return [Point("l/m/power_kw", T0 + timedelta(seconds=s), 1.0) for s in seconds]


@pytest.mark.parametrize(
    ("offsets", "speed", "sleeps"),
    [
        ((0, 1, 3, 3), 1.0, [1.0, 2.0]),
        ((0, 60, 120), 60.0, [1.0, 1.0]),
        ((0,), 1.0, []),
    ],
)
def test_pace_sleeps_until_each_point_is_due(
    offsets: tuple[float, ...], speed: float, sleeps: list[float]
) -> None:
    clock = FakeClock()
    points = points_at(*offsets)
    released = list(pace(points, sleep=clock.sleep, speed=speed, monotonic=clock.monotonic))
    assert released == points
    assert clock.sleeps == pytest.approx(sleeps)


def test_pace_does_not_sleep_when_the_consumer_is_behind() -> None:
    clock = FakeClock()
    paced = pace(points_at(0, 1, 2), sleep=clock.sleep, monotonic=clock.monotonic)
    next(paced)
    clock.now += 5.0  # the consumer took five seconds to publish the first point
    assert [p.ts for p in paced] == [T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    assert clock.sleeps == []


def test_pace_refuses_non_positive_speed() -> None:
    with pytest.raises(SimulatorConfigError, match="speed"):
        next(pace(points_at(0), sleep=lambda s: None, speed=0))


def test_publish_live_sends_each_instant_whole_when_it_is_due() -> None:
    # Batching paced points would have held each instant back until the next one was due.
    clock = FakeClock()
    sent: list[tuple[float, list[float]]] = []

    class Recorder:
        def send(self, batch: Sequence[Point]) -> int:
            sent.append((clock.now, [(p.ts - T0).total_seconds() for p in batch]))
            return len(batch)

    stats = publish_live(
        points_at(0, 0, 1, 3, 3, 3),
        Recorder(),
        stop=threading.Event(),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    assert sent == [(100.0, [0, 0]), (101.0, [1]), (103.0, [3, 3, 3])]
    assert (stats.batches, stats.points) == (3, 6)
