"""Pure parts of the MQTT client: packet-id gaps (broker drops) and the bounded intake queue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lighthouse_os.telemetry.sources.mqtt.client import Delivery, IntakeQueue
from lighthouse_os.telemetry.sources.mqtt.gaps import PacketIdGaps

T = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ids", "skipped"),
    [
        ([1, 2, 3], [0, 0, 0]),
        ([10, 11, 15, 16], [0, 0, 3, 0]),  # 12, 13 and 14 were dropped
        ([65_534, 65_535, 1, 2], [0, 0, 0, 0]),  # ids wrap from 65535 to 1, never 0
        ([65_533, 2], [0, 3]),  # 65534, 65535 and 1
        ([5, 6, 3, 9], [0, 0, 0, 0]),  # a step back: ids are reused, counting stops
    ],
)
def test_packet_id_gaps_count_skipped_ids(ids: list[int], skipped: list[int]) -> None:
    gaps = PacketIdGaps()
    assert [gaps.observe(i, duplicate=False) for i in ids] == skipped


def test_packet_id_gaps_ignore_redeliveries_and_qos_0() -> None:
    gaps = PacketIdGaps()
    observed = [gaps.observe(1, False), gaps.observe(0, False), gaps.observe(40, True)]
    assert [*observed, gaps.observe(2, False)] == [0, 0, 0, 0]


def deliveries(mids: range) -> list[Delivery]:
    return [Delivery("lhos/s/a", b"{}", 1, mid, False, T, 1) for mid in mids]


def test_intake_queue_hands_out_in_order_and_remembers_its_high_water() -> None:
    queue = IntakeQueue(capacity=5)
    queue.put_many(deliveries(range(1, 4)))
    assert [d.mid for d in queue.take(2, max_wait=0)] == [1, 2]
    queue.put_many(deliveries(range(4, 7)))
    assert [d.mid for d in queue.take(10, max_wait=0)] == [3, 4, 5, 6]
    assert queue.high_water == 4
    assert queue.take(10, max_wait=0) == []


def test_intake_queue_wakes_the_reader_once_when_room_comes_back() -> None:
    wakes: list[int] = []
    queue = IntakeQueue(capacity=3, on_room=lambda: wakes.append(1))
    assert queue.room() == 3
    queue.put_many(deliveries(range(1, 4)))
    queue.take(1, max_wait=0)
    assert wakes == []  # the reader never found the queue full: nobody to wake
    queue.put_many(deliveries(range(4, 5)))
    assert queue.room() == 0  # full: the reader stops reading the socket and waits
    queue.take(1, max_wait=0)
    queue.take(1, max_wait=0)
    assert wakes == [1]
    assert queue.room() == 2
