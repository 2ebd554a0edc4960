"""Settings: defaults, secrets, and documentation of every field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from lighthouse_os.errors import InvalidInput
from lighthouse_os.settings import Settings, ensure_data_dir
from tests.support import make_settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_settings_every_field_is_documented() -> None:
    documented = set(re.findall(r"`(LHOS_[A-Z_]+)`", DOCS.read_text(encoding="utf-8")))
    fields = {f"LHOS_{name.upper()}" for name in Settings.model_fields}
    assert fields - documented == set(), "document these in docs/configuration.md"
    assert documented - fields == set(), "docs/configuration.md lists settings that do not exist"


def test_settings_defaults_put_sqlite_and_duckdb_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/lighthouse.sqlite3"
    assert settings.resolved_timeseries_url == f"duckdb:///{tmp_path.resolve()}/timeseries.duckdb"
    assert settings.mqtt_url is None
    assert settings.default_locale == "vi"


def test_settings_read_the_lhos_prefix_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LHOS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LHOS_MQTT_URL", "mqtt://broker:1883")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.data_dir == tmp_path
    assert settings.mqtt_url == "mqtt://broker:1883"


@pytest.mark.parametrize("secret", ["changethis", "CHANGEME", "secret", "short-but-random"])
def test_settings_refuse_placeholder_or_short_secret(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ValidationError, match="LHOS_SECRET_KEY"):
        make_settings(tmp_path, secret_key=secret)


def test_settings_secret_repr_hides_the_value(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.secret_key_value() not in repr(settings)


def test_settings_secret_is_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, secret_key=None)
    with pytest.raises(InvalidInput, match="lhos init"):
        settings.secret_key_value()
    ensure_data_dir(settings)
    first = settings.secret_key_value()
    ensure_data_dir(settings)
    assert settings.secret_key_value() == first
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
