"""SQL compiled from Ibis once per query shape, with each call's values filled in as literals.

Ibis bakes values into the SQL it compiles, and compiling one of our queries takes 20-110 ms,
longer than running it. So queries are compiled with sentinel values, cached by shape, and the
real values are written in as SQL literals rendered here from typed Python values (int ids,
aware datetimes, validated zone names), never from free text. Literals rather than bind
parameters keep the plans constant-folded: partition pruning in PostgreSQL and zone-map
pruning in DuckDB both need the time bounds as constants.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis

# A series id no query asks for; `isin([IDS])` compiles to `IN (<IDS>)`, replaced by the ids.
IDS = 7_035_811_912_477_021_001
_SENTINEL = "'__lhos_{}__'"
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-/]+")


def param(name: str) -> Any:
    """A string placeholder named `name` in an Ibis expression."""
    return ibis.literal(f"__lhos_{name}__")


def ts_param(name: str) -> Any:
    """A timestamp[UTC] placeholder named `name` in an Ibis expression."""
    return param(name).cast("timestamp('UTC')")


def sql_literal(value: datetime | str) -> str:
    """An aware datetime or a zone name as an SQL string literal; anything else is refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} in a query")
        return f"'{value.astimezone(UTC).isoformat()}'"
    if not _ZONE_NAME.fullmatch(value):
        raise ValueError(f"refusing to render {value!r} as an SQL literal")
    return f"'{value}'"


@dataclass(frozen=True)
class Template:
    """Compiled SQL with named sentinels and, optionally, the series-id sentinel."""

    sql: str

    @classmethod
    def compile(cls, expr: Any, dialect: str) -> Template:
        """Compile an Ibis expression for 'duckdb' or 'postgres'."""
        return cls(str(ibis.to_sql(expr, dialect=dialect, pretty=False)))

    def render(self, ids: Sequence[int] | None = None, **values: datetime | str) -> str:
        """The SQL with `ids` and each named value written in; every sentinel must be used."""
        sql = self.sql
        for name, value in values.items():
            sql = _replace(sql, _SENTINEL.format(name), sql_literal(value))
        if ids is not None:
            id_list = ", ".join(str(int(series_id)) for series_id in ids)
            sql = _replace(sql, f"IN ({IDS})", f"IN ({id_list})")
        if "__lhos_" in sql or str(IDS) in sql:
            raise ValueError("a query placeholder was left without a value")
        return sql


def _replace(sql: str, sentinel: str, literal: str) -> str:
    if sentinel not in sql:
        raise ValueError(f"placeholder {sentinel} not found in the compiled query")
    return sql.replace(sentinel, literal)
