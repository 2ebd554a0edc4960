"""Migrations run on SQLite and PostgreSQL and match the ORM models exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from lighthouse_os.db.engine import make_engine
from lighthouse_os.db.migrate import current_heads, upgrade
from lighthouse_os.db.models import Base


def _assert_schema_matches_models(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_heads() == current_heads()
            tables = set(inspect(connection).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_migrations_there_is_a_single_head() -> None:
    assert len(current_heads()) == 1


def test_migrations_upgrade_sqlite_to_head_matching_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    upgrade(url)  # a second run is a no-op
    _assert_schema_matches_models(url)


@pytest.mark.postgres
def test_migrations_upgrade_postgresql_to_head_matching_models(postgres_url: str) -> None:
    upgrade(postgres_url)
    _assert_schema_matches_models(postgres_url)
