"""Group commit: concurrent writes share a transaction, each caller gets its own counts."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lighthouse_os.telemetry.store import Retention, TimeSeriesStore, WriteResult
from lighthouse_os.telemetry.store.batch import conform_batch
from lighthouse_os.telemetry.store.group import GroupCommit
from lighthouse_os.telemetry.store.pieces import PIECE_SCHEMA
from lighthouse_os.telemetry.store.sql import SqlStore
from tests.telemetry.store.store_reference import Point, StoreFactory, batch, rows

T0 = datetime(2024, 3, 1, 8, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


# -- GroupCommit alone ---------------------------------------------------------------------


class Recorder:
    """A `write_all` that records its groups; it can be held, and fails on items < 0."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items: Sequence[int]) -> list[int]:
        self.groups.append(list(items))
        self.entered.set()
        self.release.wait(10)
        if any(item < 0 for item in items):
            raise ValueError(f"bad item in {list(items)}")
        return [item * 10 for item in items]


def submit_in_threads(
    commits: GroupCommit[int, int], items: list[int], results: dict[int, object]
) -> list[threading.Thread]:
    def run(item: int) -> None:
        try:
            results[item] = commits.submit(item, 1)
        except ValueError as error:
            results[item] = error

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    return threads


def test_a_lone_write_runs_at_once_in_a_group_of_its_own() -> None:
    recorder = Recorder()
    commits = GroupCommit(recorder, max_size=100)
    assert commits.submit(4, 1) == 40
    assert commits.submit(5, 1) == 50
    assert recorder.groups == [[4], [5]]


def run_behind_a_first_write(
    commits: GroupCommit[int, int], recorder: Recorder, items: list[int]
) -> dict[int, object]:
    """Submit 1 and hold its write; queue `items` one at a time (so their arrival order is
    known) behind it; release; return each item's result or error."""
    recorder.release.clear()
    results: dict[int, object] = {}
    threads = submit_in_threads(commits, [1], results)
    assert recorder.entered.wait(10)
    for queued, item in enumerate(items, start=1):
        threads += submit_in_threads(commits, [item], results)
        wait_for(lambda n=queued: len(commits._queue) == n)
    recorder.release.set()
    for thread in threads:
        thread.join(10)
    return results


def test_writes_queued_behind_a_running_write_go_together_in_arrival_order() -> None:
    recorder = Recorder()
    commits = GroupCommit(recorder, max_size=100)
    results = run_behind_a_first_write(commits, recorder, [2, 3, 4])
    assert recorder.groups == [[1], [2, 3, 4]]
    assert results == {1: 10, 2: 20, 3: 30, 4: 40}
    assert commits.groups == 2


def test_a_failing_group_is_written_again_one_by_one_so_only_the_culprit_fails() -> None:
    recorder = Recorder()
    commits = GroupCommit(recorder, max_size=100)
    results = run_behind_a_first_write(commits, recorder, [2, -3, 4])
    assert recorder.groups == [[1], [2, -3, 4], [2], [-3], [4]]
    assert isinstance(results.pop(-3), ValueError)
    assert results == {1: 10, 2: 20, 4: 40}


def test_max_size_bounds_a_group_and_every_writer_still_gets_its_result() -> None:
    recorder = Recorder()
    commits = GroupCommit(recorder, max_size=2)
    results = run_behind_a_first_write(commits, recorder, [2, 3, 4, 5, 6])
    assert recorder.groups == [[1], [2, 3], [4, 5], [6]]
    assert results == {item: item * 10 for item in range(1, 7)}


# -- the store's group write, on both backends ------------------------------------------


def dump(store: TimeSeriesStore, series: list[int]) -> dict[str, object]:
    """Everything the store holds for `series`: raw points, both rollups, latest."""
    assert isinstance(store, SqlStore)
    ids = ", ".join(map(str, series))
    rollups = {
        table: sorted(
            store._read(
                f"SELECT * FROM {store.schema}.{table} WHERE series_id IN ({ids})", PIECE_SCHEMA
            ).to_pylist(),
            key=lambda row: (row["series_id"], row["bucket"]),
        )
        for table in ("rollup_1m", "rollup_1h")
    }
    return {
        "raw": rows(store.raw(series, at(-86_400), at(86_400))),
        "latest": rows(store.latest(series)),
        **rollups,
    }


def write_group(store: TimeSeriesStore, batches: list[list[Point]]) -> list[WriteResult]:
    assert isinstance(store, SqlStore)
    return store._write_group([conform_batch(batch(points)) for points in batches])


point_lists = st.lists(
    st.tuples(st.integers(1, 2), st.integers(0, 12), st.sampled_from([1.0, 2.0, 5.0])),
    max_size=12,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stored=point_lists, batches=st.lists(point_lists, min_size=2, max_size=4))
def test_a_group_counts_and_stores_what_the_same_writes_one_by_one_would(
    store_factory: StoreFactory,
    stored: list[tuple[int, int, float]],
    batches: list[list[tuple[int, int, float]]],
) -> None:
    # Samples 37 s apart cross minute boundaries; repeated keys and changed values both occur.
    def points(raw: list[tuple[int, int, float]]) -> list[Point]:
        return [(sid, at(i * 37), value) for sid, i, value in raw]

    grouped, one_by_one = store_factory(), store_factory()
    for store in (grouped, one_by_one):
        store.write(batch(points(stored)))
    results = write_group(grouped, [points(b) for b in batches])
    assert results == [one_by_one.write(batch(points(b))) for b in batches]
    assert dump(grouped, [1, 2]) == dump(one_by_one, [1, 2])


def test_a_group_counts_expired_points_against_their_own_batch(
    store_factory: StoreFactory,
) -> None:
    store = store_factory(retention=Retention(raw=timedelta(days=1)))
    store.apply_retention(at(2 * 86_400))  # raw cut: one day after T0
    old, new = at(3_600), at(86_400 + 3_600)
    results = write_group(store, [[(1, old, 1.0)], [(1, new, 2.0), (2, old, 3.0)], [(1, new, 2.0)]])
    assert results == [
        WriteResult(0, 0, 0, 1),
        WriteResult(1, 0, 0, 1),
        WriteResult(0, 1, 0, 0),
    ]


def test_concurrent_writers_share_a_transaction_and_each_gets_its_counts(
    store: TimeSeriesStore,
) -> None:
    assert isinstance(store, SqlStore)
    store.write(batch([(7, at(0), 1.0)]))
    results: dict[int, WriteResult] = {}
    groups_before = store._commits.groups

    def write(writer: int) -> None:
        # Each writer repeats the stored point and adds two of its own.
        points = [(7, at(0), 1.0), (7, at(writer + 1), 2.0), (8 + writer, at(0), 3.0)]
        results[writer] = store.write(batch(points))

    with store._lock:  # hold the store: the first writer leads and waits, the others queue
        threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(store._commits._queue) == 5)
    for thread in threads:
        thread.join(10)
    assert store._commits.groups - groups_before == 2
    assert results == {w: WriteResult(2, 1) for w in range(6)}
    assert len(store.raw([7], at(0), at(60))) == 7


def test_a_bad_batch_fails_alone_and_the_others_of_its_group_land(
    store: TimeSeriesStore,
) -> None:
    assert isinstance(store, SqlStore)
    results: dict[int, object] = {}
    broken = threading.Event()
    original = store._insert_points

    def insert_failing_on_series_99(
        points: pa.Table, repeats: bool, bounds: tuple[str, str]
    ) -> int:
        if 99 in points["series_id"].to_pylist():
            broken.set()
            raise RuntimeError("disk full")
        return original(points, repeats, bounds)

    store._insert_points = insert_failing_on_series_99  # type: ignore[method-assign]

    def write(sid: int) -> None:
        try:
            results[sid] = store.write(batch([(sid, at(0), 1.0)]))
        except RuntimeError as error:
            results[sid] = error

    with store._lock:
        threads = [threading.Thread(target=write, args=(sid,)) for sid in (1, 2, 99, 3)]
        for thread in threads:
            thread.start()
            wait_for(lambda: store._commits._leading)
        wait_for(lambda: len(store._commits._queue) == 3)
    for thread in threads:
        thread.join(10)
    assert broken.is_set()
    assert isinstance(results.pop(99), RuntimeError)
    assert results == {1: WriteResult(1, 0), 2: WriteResult(1, 0), 3: WriteResult(1, 0)}
    assert [sid for sid, _, _ in rows(store.raw([1, 2, 3, 99], at(0), at(1)))] == [1, 2, 3]
