"""Helpers shared by tests (importable as `tests.support`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lighthouse_os.settings import Settings

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
POSTGRES_URL = os.environ.get(
    "LHOS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MQTT_URL = os.environ.get("LHOS_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def service_missing(what: str, reason: str) -> None:
    """In CI a missing service is a failure, never a silent skip; locally it is a skip."""
    message = f"{what} is not reachable ({reason}); .ci/run starts it in CI"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings that ignore the developer's environment and .env file."""
    values: dict[str, object] = {"data_dir": data_dir, "secret_key": TEST_SECRET, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
