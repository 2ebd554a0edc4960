"""The KPI REST API: OEE, energy, emissions, power factor, calendar and product master."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lighthouse_os.app import create_app
from lighthouse_os.settings import Settings
from tests.support import World


@pytest.fixture
def api(factory_site: Settings, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(factory_site)) as client:
        client.headers["Authorization"] = f"Bearer {world.tokens['a1_write']}"
        yield client


@pytest.mark.parametrize(
    ("level", "keys"),
    [
        ("machine", {"line-1/cnc-1", "line-1/press-2"}),
        ("line", {"line-1"}),
        ("site", {"a1"}),
    ],
)
def test_oee_answers_each_level_with_its_inputs(
    api: TestClient, level: str, keys: set[str]
) -> None:
    answer = api.get("/api/v1/sites/a1/kpi/oee", params={"level": level, "period": "day"}).json()
    assert {r["key"] for r in answer["rows"]} == keys
    assert answer["definitions"]["oee"].startswith("availability × effectiveness")
    produced = [r for r in answer["rows"] if r["quantities"]["pq"] > 0]
    assert produced, "30 h of history holds at least one shift of production"
    for row in produced:
        k, t = row["kpis"], row["time_elements"]
        assert k["availability"] == pytest.approx(t["apt_s"] / t["pbt_s"])
        assert k["oee"] == pytest.approx(
            k["availability"] * k["effectiveness"] * k["quality_ratio"]
        )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "year"}, "period"),
        ({"level": "plant"}, "level"),
        ({"from": "yesterday"}, "time"),
    ],
)
def test_oee_refuses_bad_parameters_with_the_field(
    api: TestClient, params: dict[str, str], field: str
) -> None:
    response = api.get("/api/v1/sites/a1/kpi/oee", params=params)
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


def test_energy_and_emissions_name_the_grid_factor(api: TestClient) -> None:
    energy = api.get("/api/v1/sites/a1/kpi/energy", params={"level": "site"}).json()
    assert energy["factor"]["year"] == 2023
    assert energy["factor"]["t_co2_per_mwh"] == 0.6592
    row = max(energy["rows"], key=lambda r: r["kwh"])
    assert row["t_co2"] == pytest.approx(row["kwh"] * 0.6592 / 1000)
    older = api.get("/api/v1/sites/a1/kpi/emissions", params={"period": "day", "year": 2019}).json()
    assert older["factor"]["t_co2_per_mwh"] == 0.8458
    assert api.get("/api/v1/sites/a1/kpi/emissions", params={"year": 1990}).status_code == 422


def test_power_factor_flags_hours_below_0_9(api: TestClient) -> None:
    answer = api.get("/api/v1/sites/a1/kpi/power-factor").json()
    assert answer["threshold"] == 0.9
    for row in answer["rows"]:
        assert 0 <= row["below"] <= row["intervals"]
        assert row["period_pf"] == pytest.approx(
            row["kwh"] / (row["kwh"] ** 2 + row["kvarh"] ** 2) ** 0.5
        )


def test_calendar_round_trips_through_the_api(api: TestClient) -> None:
    assert api.get("/api/v1/sites/a1/kpi/calendar").json()["is_default"] is True
    body = {
        "timezone": "Asia/Ho_Chi_Minh",
        "workdays": [0, 1, 2, 3, 4],
        "shifts": [
            {
                "name": "Day",
                "start": "07:30",
                "end": "16:30",
                "breaks": [{"start": "11:30", "end": "12:30", "reason": "lunch"}],
            }
        ],
    }
    assert api.put("/api/v1/sites/a1/kpi/calendar", json=body).status_code == 200
    stored = api.get("/api/v1/sites/a1/kpi/calendar").json()
    assert stored == {**body, "is_default": False}
    bad = api.put("/api/v1/sites/a1/kpi/calendar", json={**body, "workdays": []})
    assert bad.status_code == 422


def test_products_are_created_listed_and_deleted(api: TestClient) -> None:
    body = {"machine": "line-1/cnc-1", "code": "NEW", "ideal_cycle_time_s": 30.5}
    created = api.post("/api/v1/sites/a1/kpi/products", json=body).json()
    assert created["active"] is True
    listed = api.get("/api/v1/sites/a1/kpi/products").json()["products"]
    assert {(p["machine"], p["code"], p["active"]) for p in listed} >= {
        ("line-1/cnc-1", "NEW", True),
        ("line-1/cnc-1", "BRK-A", False),
    }
    gone = api.delete(
        "/api/v1/sites/a1/kpi/products", params={"machine": "line-1/cnc-1", "code": "NEW"}
    )
    assert gone.status_code == 200
    again = api.delete(
        "/api/v1/sites/a1/kpi/products", params={"machine": "line-1/cnc-1", "code": "NEW"}
    )
    assert again.status_code == 404
