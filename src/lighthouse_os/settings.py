"""The one settings object: environment (LHOS_*), then `.env`, then defaults."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lighthouse_os.errors import InvalidInput

# Values people paste from tutorials; a deployment that keeps one is not secret at all.
PLACEHOLDER_SECRETS = frozenset(
    {"changethis", "changeme", "change-me", "secret", "password", "please-change", "dev", "test"}
)
SECRET_KEY_FILE = "secret_key"
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Configuration of the web app, CLI and workers; see docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="LHOS_", env_file=".env", extra="ignore", frozen=True
    )

    # Storage
    data_dir: Path = Field(default=Path("./lhos-data"), description="Folder for embedded data.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite file in the data dir."
    )
    timeseries_url: str | None = Field(
        default=None, description="Time-series store URL; default DuckDB file in the data dir."
    )
    # Messaging
    mqtt_url: str | None = Field(default=None, description="MQTT broker, e.g. mqtt://host:1883.")
    # Security
    secret_key: SecretStr | None = Field(
        default=None, description="Signs sessions and CSRF tokens; generated on first init."
    )
    # Web
    default_locale: Literal["vi", "en"] = Field(default="vi", description="UI language.")
    timezone: str = Field(default="Asia/Ho_Chi_Minh", description="Default site time zone.")

    @field_validator("secret_key")
    @classmethod
    def _refuse_placeholder_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if raw.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("LHOS_SECRET_KEY is a placeholder; set a random value")
        if len(raw) < MIN_SECRET_LENGTH:
            raise ValueError(f"LHOS_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @property
    def resolved_database_url(self) -> str:
        """The relational database URL, SQLite in the data dir unless configured."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'lighthouse.sqlite3').resolve()}"

    @property
    def resolved_timeseries_url(self) -> str:
        """The time-series store URL, DuckDB in the data dir unless configured."""
        return self.timeseries_url or f"duckdb:///{(self.data_dir / 'timeseries.duckdb').resolve()}"

    def secret_key_value(self) -> str:
        """The configured secret, or the one generated into the data dir by `lhos init`."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            raise InvalidInput(
                f"no secret key: set LHOS_SECRET_KEY or run `lhos init` to create {path}"
            )
        return path.read_text(encoding="utf-8").strip()


def ensure_data_dir(settings: Settings) -> None:
    """Create the data dir and, when no secret is configured, a random secret key file in it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / SECRET_KEY_FILE
    if settings.secret_key is None and not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
