"""Find a cycle in a small dependency graph (prerequisite checks and roadmap sequencing)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any, TypeVar

NodeT = TypeVar("NodeT", bound=Hashable)
_END: Any = object()


def find_cycle(graph: Mapping[NodeT, Iterable[NodeT]]) -> list[NodeT] | None:
    """Return one cycle as ``[a, b, ..., a]`` or None; edges point from a node to what it needs.

    Iterative depth-first search with white/grey/black colouring, so deep graphs cannot hit the
    recursion limit. Nodes only named as targets count as leaves.
    """
    done: set[NodeT] = set()
    for start in graph:
        if start in done:
            continue
        cycle = _walk(graph, start, done)
        if cycle is not None:
            return cycle
    return None


def _walk(
    graph: Mapping[NodeT, Iterable[NodeT]], start: NodeT, done: set[NodeT]
) -> list[NodeT] | None:
    path: list[NodeT] = [start]
    on_path = {start}
    stack = [iter(graph.get(start, ()))]
    while stack:
        nxt = next(stack[-1], _END)
        if nxt is _END:
            stack.pop()
            finished = path.pop()
            on_path.discard(finished)
            done.add(finished)
            continue
        if nxt in on_path:
            return [*path[path.index(nxt) :], nxt]
        if nxt not in done:
            path.append(nxt)
            on_path.add(nxt)
            stack.append(iter(graph.get(nxt, ())))
    return None
