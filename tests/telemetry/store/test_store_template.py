"""Tests of compiled query templates and the literals written into them."""

from __future__ import annotations

from datetime import UTC, datetime

import ibis
import pytest

from lighthouse_os.telemetry.store.template import IDS, Template, sql_literal, ts_param

POINTS = ibis.table({"series_id": "int64", "ts": "timestamp('UTC')"}, name="points")


@pytest.fixture(params=["duckdb", "postgres"])
def template(request: pytest.FixtureRequest) -> Template:
    chosen = POINTS.filter(POINTS.series_id.isin([IDS]), POINTS.ts >= ts_param("start"))
    return Template.compile(chosen, request.param)


def test_template_render_writes_ids_and_instants(template: Template) -> None:
    sql = template.render([3, 1], start=datetime(2024, 1, 1, 7, tzinfo=UTC))
    assert "IN (3, 1)" in sql
    assert "'2024-01-01T07:00:00+00:00'" in sql


def test_template_render_refuses_a_missing_value(template: Template) -> None:
    with pytest.raises(ValueError, match="left without a value"):
        template.render([1])


def test_template_render_refuses_an_unknown_value(template: Template) -> None:
    with pytest.raises(ValueError, match="not found"):
        template.render([1], start=datetime(2024, 1, 1, tzinfo=UTC), stop="x")


@pytest.mark.parametrize("value", ["Asia/Ho_Chi_Minh'; DROP TABLE points; --", "a b", ""])
def test_sql_literal_refuses_text_that_is_not_a_zone_name(value: str) -> None:
    with pytest.raises(ValueError, match="refusing"):
        sql_literal(value)


def test_sql_literal_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        sql_literal(datetime(2024, 1, 1))
