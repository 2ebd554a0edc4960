"""Cycle detection used by prerequisite checks and roadmap sequencing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lighthouse_os.framework.graph import find_cycle


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({}, None),
        ({"a": ["b"], "b": ["c"]}, None),
        ({"a": ["b", "c"], "b": ["c"], "c": []}, None),
        ({"a": ["a"]}, ["a", "a"]),
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, ["a", "b", "c", "a"]),
        ({"x": [], "a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
    ],
)
def test_find_cycle_table(graph: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), max_size=30))
def test_find_cycle_returns_a_real_cycle_or_none_for_dags(edges: list[tuple[int, int]]) -> None:
    graph: dict[int, list[int]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
    cycle = find_cycle(graph)
    if cycle is None:
        # No cycle reported: forward-only edges must then be all there is, i.e. a topological
        # order exists; check by repeatedly removing nodes with no outgoing edges left.
        left = {n: set(v) for n, v in graph.items()}
        while left:
            sinks = [n for n, v in left.items() if not v & set(left)]
            assert sinks
            for n in sinks:
                del left[n]
    else:
        assert cycle[0] == cycle[-1]
        assert all(b in graph.get(a, []) for a, b in itertools.pairwise(cycle))
