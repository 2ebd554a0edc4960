"""Group commit: concurrent writers share one store transaction (ADR 0015).

A store write has a fixed cost (about 20–40 ms on DuckDB: a dozen statements, whatever the
batch size), and one DuckDB connection writes one batch at a time. Many gateways posting small
batches would queue behind each other, each paying that cost. Instead, the first caller to find
no write under way becomes the leader: it takes every batch queued so far (its own first among
them, all in arrival order) and writes them in one transaction; each caller gets its own result.
A lone writer leads at once and waits for nobody, so nothing is delayed to wait for company.

If a group's write fails, each batch of it is written again on its own, so one caller's failure
is never reported to another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(eq=False, slots=True)
class _Pending(Generic[Item, Result]):
    item: Item
    size: int
    done: bool = False
    result: Result | None = None
    error: BaseException | None = field(default=None)


class GroupCommit(Generic[Item, Result]):
    """Runs `write_all(items) -> results` (one result per item, in order) for concurrent
    `submit` calls, grouping the items queued while a write is under way.

    `max_size` bounds a group by the sum of the items' sizes (at least one item is taken).
    """

    def __init__(
        self, write_all: Callable[[Sequence[Item]], Sequence[Result]], *, max_size: int
    ) -> None:
        self._write_all = write_all
        self._max_size = max_size
        self._changed = threading.Condition()
        self._queue: list[_Pending[Item, Result]] = []
        self._leading = False
        self.groups = 0  # writes run, for benchmarks and tests

    def submit(self, item: Item, size: int) -> Result:
        """Write `item` (alone or with others) and return its result, or raise its error."""
        pending: _Pending[Item, Result] = _Pending(item, size)
        with self._changed:
            self._queue.append(pending)
            # A leader's group may stop short of its own item (`max_size`): it leads again.
            while not pending.done:
                if self._leading:
                    self._changed.wait()
                    continue
                self._leading = True
                group = self._take()
                self._changed.release()
                try:
                    self._run(group)
                finally:
                    self._changed.acquire()
                    self._leading = False
                    self._changed.notify_all()
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]  # set when done without error

    def _take(self) -> list[_Pending[Item, Result]]:
        """The oldest queued items, up to `max_size` in all (under the lock)."""
        total, count = 0, 0
        for pending in self._queue:
            if count and total + pending.size > self._max_size:
                break
            total += pending.size
            count += 1
        group, self._queue = self._queue[:count], self._queue[count:]
        return group

    def _run(self, group: list[_Pending[Item, Result]]) -> None:
        self.groups += 1
        try:
            results = self._write_all([pending.item for pending in group])
            for pending, result in zip(group, results, strict=True):
                pending.result = result
        except Exception as error:
            if len(group) == 1:
                group[0].error = error
            else:
                for pending in group:
                    self._run_alone(pending)
        except BaseException as error:  # interrupted: nobody's write is known to be done
            for pending in group:
                pending.error = error
            raise
        finally:
            for pending in group:
                pending.done = True

    def _run_alone(self, pending: _Pending[Item, Result]) -> None:
        self.groups += 1
        try:
            pending.result = self._write_all([pending.item])[0]
        except Exception as error:
            pending.error = error
