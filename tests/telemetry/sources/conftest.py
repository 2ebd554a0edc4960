"""Fixtures for the ingestion-source tests: unique ids and a publisher on the real broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.telemetry.sources.sources_fakes import Publisher


@pytest.fixture
def uid() -> str:
    """A short unique id so parallel runs on one broker never share topics or sessions."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def publisher(mqtt_url: str) -> Iterator[Publisher]:
    client = Publisher(mqtt_url)
    yield client
    client.close()
