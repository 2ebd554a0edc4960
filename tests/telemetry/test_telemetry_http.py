"""POST /api/v1/telemetry: site-scoped tokens, JSON and NDJSON bodies, clear errors."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lighthouse_os.assets import service as assets
from lighthouse_os.auth.models import Site
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.settings import Settings
from lighthouse_os.telemetry.api import sink_for
from lighthouse_os.telemetry.models import DeadLetter
from lighthouse_os.telemetry.store.sql import SqlStore
from tests.support import World
from tests.telemetry.conftest import SF_ASSETS


@pytest.fixture
def api(client: TestClient, initialised_settings: Settings, world: World) -> TestClient:
    engine = make_engine(initialised_settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        for site_id in (world.a1, world.b1):
            site = session.get(Site, site_id)
            assert site is not None
            assets.import_assets(session, site, assets.rows_from_file("a.yaml", SF_ASSETS))
    engine.dispose()
    return client


def _auth(world: World, token: str = "a1_write") -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[token]}"}


def _stamp(minutes_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def _letters(settings: Settings) -> list[DeadLetter]:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        letters = list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))
    engine.dispose()
    return letters


def test_http_ingest_with_a_site_token_stores_points(api: TestClient, world: World) -> None:
    body = {
        "points": [
            {"tag": "line1/press2/kwh", "ts": _stamp(2), "value": 12.5},
            {"tag": "line1/press2/kwh", "ts": _stamp(1), "value": 13.0, "unit": "kW.h"},
        ]
    }
    answer = api.post("/api/v1/telemetry", json=body, headers=_auth(world))
    assert answer.status_code == 200
    assert answer.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    again = api.post("/api/v1/telemetry", json=body, headers=_auth(world))
    assert again.json() == {"accepted": 0, "duplicates": 2, "rejected": []}


def test_http_ingest_reports_rejected_points_by_index(
    api: TestClient, world: World, initialised_settings: Settings
) -> None:
    body = {
        "points": [
            {"tag": "line1/press2/kwh", "ts": _stamp(1), "value": "twelve"},
            {"tag": "line1/press2/kwh", "ts": _stamp(1), "value": 1, "unit": "W.h"},
            "not an object",
            {"tag": "line1/press2/state", "ts": _stamp(1), "value": "run"},
        ]
    }
    answer = api.post("/api/v1/telemetry", json=body, headers=_auth(world)).json()
    assert answer["accepted"] == 1
    assert [(r["index"], r["reason"].split(":")[0]) for r in answer["rejected"]] == [
        (0, "not_a_number"),
        (1, "unit_mismatch"),
        (2, "missing_tag"),
    ]
    assert len(_letters(initialised_settings)) == 3


def test_http_ingest_accepts_ndjson(api: TestClient, world: World) -> None:
    lines = [{"tag": "line1/press2/power", "ts": _stamp(i), "value": 1000 * i} for i in range(1, 4)]
    body = b"\n".join(orjson.dumps(line) for line in lines) + b"\n"
    headers = {**_auth(world), "Content-Type": "application/x-ndjson"}
    answer = api.post("/api/v1/telemetry", content=body, headers=headers)
    assert answer.json()["accepted"] == 3


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"{not json", "application/json", "not JSON"),
        (b'{"readings": []}', "application/json", "expected"),
        (b"[1, 2]", "application/json", "expected"),
        (b'{"tag": "a"}\n{oops', "application/x-ndjson", "line 2"),
    ],
)
def test_http_malformed_body_is_422_and_dead_lettered(
    api: TestClient,
    world: World,
    initialised_settings: Settings,
    body: bytes,
    content_type: str,
    expected: str,
) -> None:
    headers = {**_auth(world), "Content-Type": content_type}
    answer = api.post("/api/v1/telemetry", content=body, headers=headers)
    assert answer.status_code == 422
    assert expected in answer.json()["error"]["message"]
    letter = _letters(initialised_settings)[-1]
    assert (letter.payload, letter.source, letter.site_id) == (body, "http", world.a1)


def test_http_another_sites_code_is_not_found(api: TestClient, world: World) -> None:
    body = {"points": [{"tag": "line1/press2/kwh", "ts": _stamp(1), "value": 1}]}
    answer = api.post("/api/v1/telemetry?site=b1", json=body, headers=_auth(world))
    assert answer.status_code == 404
    own = api.post("/api/v1/telemetry?site=a1", json=body, headers=_auth(world))
    assert own.status_code == 200


def test_http_read_token_may_not_ingest(api: TestClient, world: World) -> None:
    body = {"points": []}
    answer = api.post("/api/v1/telemetry", json=body, headers=_auth(world, "a1_read"))
    assert answer.status_code == 403


def test_http_unknown_token_is_401(api: TestClient) -> None:
    headers = {"Authorization": "Bearer lhos_000000000000_" + "x" * 43}
    answer = api.post("/api/v1/telemetry?site=a1", json={"points": []}, headers=headers)
    assert answer.status_code == 401


def test_http_series_and_dead_letters_of_a_site(api: TestClient, world: World) -> None:
    points = [
        {"tag": "line1/press2/kwh", "ts": _stamp(3), "value": 2},
        {"tag": "line1/press2/kwh", "ts": _stamp(2), "value": 3},
        {"tag": "ghost", "ts": _stamp(2), "value": 3},
    ]
    api.post("/api/v1/telemetry", json={"points": points}, headers=_auth(world))
    query = {"tag": "line1/press2/kwh", "every": "1d", "fn": "count"}
    series = api.get("/api/v1/sites/a1/series", params=query, headers=_auth(world, "a1_read"))
    assert series.status_code == 200
    assert sum(b["value"] for b in series.json()["buckets"]) == 2
    letters = api.get("/api/v1/sites/a1/deadletters", headers=_auth(world, "a1_read")).json()
    assert [d["tag"] for d in letters["dead_letters"]] == ["ghost"]
    foreign = api.get("/api/v1/sites/b1/deadletters", headers=_auth(world, "a1_read"))
    assert foreign.status_code == 404


def test_a_request_waiting_for_the_store_holds_no_database_connection(
    api: TestClient, world: World
) -> None:
    # Otherwise many gateways posting at once exhaust the connection pool (500s after 30 s).
    store = sink_for(api.app).store  # type: ignore[arg-type]
    assert isinstance(store, SqlStore)
    engine = api.app.state.sessions.kw["bind"]  # type: ignore[attr-defined]
    body = {"points": [{"tag": "line1/press2/kwh", "ts": _stamp(1), "value": 1.0}]}
    answers: list[int] = []

    def post() -> None:
        answers.append(api.post("/api/v1/telemetry", json=body, headers=_auth(world)).status_code)

    with store._lock:  # the write waits here, after authorisation
        thread = threading.Thread(target=post)
        thread.start()
        deadline = time.monotonic() + 10
        while not store._commits._leading:
            assert time.monotonic() < deadline, "the request never reached the store"
            time.sleep(0.01)
        assert engine.pool.checkedout() == 0
    thread.join(10)
    assert answers == [200]
