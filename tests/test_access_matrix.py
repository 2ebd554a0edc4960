"""Every route of the app, for every kind of caller, on its own and on a foreign tenant.

A new route fails `test_every_route_is_in_the_matrix` until its row is added here, so nothing
ships without an explicit access decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from lighthouse_os.app import create_app, feature_routers
from lighthouse_os.settings import Settings
from tests.alerts.alerts_support import ALERT_PATH_VALUES
from tests.assessment.assessment_support import PATH_VALUES
from tests.assets.assets_support import ASSET_PATH_VALUES
from tests.support import World, csrf_token, seed_world, sign_in

CALLERS = ("anonymous", "member", "admin", "assessor", "program", "token_write", "token_read")


@dataclass(frozen=True)
class Row:
    """Expected status per caller; `own`/`foreign` fill `{site_id}` with a1 or b1."""

    own: dict[str, int]
    foreign: dict[str, int] | None = None  # None: the route is not site-scoped
    form: dict[str, str] = field(default_factory=dict)
    json: dict[str, object] | None = None  # a JSON body (APIs) instead of the form
    query: str = ""  # a query string, filled like the path (`site={site_code}`, `tag={tag_id}`)
    csrf_header: bool = False  # send the CSRF token in X-CSRF-Token, as scripts do (JSON rows do)


def _same(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


PUBLIC_200 = Row(_same(200))
# Site pages: anonymous is sent to sign in; the program sees a1 (details) but not b1 (aggregate).
SITE_READ_PAGE = Row(
    {**_same(200), "anonymous": 303},
    {**_same(404), "anonymous": 303},
)
SITE_READ_API = Row({**_same(200), "anonymous": 401}, {**_same(404), "anonymous": 401})
SITE_ADMIN_POST = Row(
    {**_same(403), "anonymous": 303, "admin": 303},
    {**_same(404), "anonymous": 303},
    form={"program_id": "{program}", "consent": "details"},
)
TOKEN_CREATE = Row({**_same(403), "anonymous": 303, "admin": 200}, {**_same(404), "anonymous": 303})
TOKEN_REVOKE = Row({**_same(403), "anonymous": 303, "admin": 303}, {**_same(404), "anonymous": 303})
# Assessments: site members and write tokens change them, assessors review, readers read.
FOREIGN_PAGE = {**_same(404), "anonymous": 303}
FOREIGN_API = {**_same(404), "anonymous": 401}


def _writers(ok: int, anonymous: int) -> dict[str, int]:
    return {**_same(403), "member": ok, "admin": ok, "token_write": ok, "anonymous": anonymous}


def _write_page(**form: str) -> Row:
    return Row(_writers(303, 303), FOREIGN_PAGE, form=form)


def _write_api(ok: int, body: dict[str, object]) -> Row:
    return Row(_writers(ok, 401), FOREIGN_API, json=body)


def _write_header_api(ok: int) -> Row:
    """A bodiless API change (DELETE) sent as a script in a browser would: token in the header."""
    return Row(_writers(ok, 401), FOREIGN_API, csrf_header=True)


ASSESSMENT = "/sites/{site_id}/assessments/{assessment_id}"

ALERTS_API = "/api/v1/sites/{site_id}/alerts"
ALERT_RULE = {
    "name": "r",
    "kind": "absence",
    "scope": "asset_type",
    "asset_type": "press",
    "tag_key": "power_kw",
}
# No CSRF header with DELETE: signed-in browsers stop at the CSRF check (as for KPI products).
ALERT_DELETE = Row(
    {**_same(403), "token_write": 204, "anonymous": 401},
    {**_same(403), "token_write": 404, "token_read": 404, "anonymous": 401},
)


# Shop-floor assets and telemetry (assets/, telemetry/): reads need site.read; changes need
# site.write (member, admin, write token); ingest needs telemetry.write (the same callers).
# Assessors, programs (a1 consents to details) and read tokens only read; b1 is invisible to all.
# Node and tag paths carry the caller's name, so each writer creates its own (nodes and tags
# share one path namespace, so tags get a `tag-` prefix).
ASSETS_API = "/api/v1/sites/{site}/assets"
ASSETS_PAGE = "/sites/{site}/assets"
NODE_PAGE_FORM = {"key": "page-{caller}", "level": "area", "name_en": "Area"}
TAG_PAGE_FORM = {"key": "page-tag-{caller}", "unit": "kW", "kind": "gauge"}
TAG_EDIT_FORM = {"unit": "kW.h", "kind": "counter", "description_en": "energy"}
# Import answers writers with the report; the body's parse error (422) must not come before the
# access decision, so readers still get 403 and other tenants 404.
IMPORT_BODY: dict[str, object] = {"nodes": "not a list"}
TELEMETRY_INGEST = Row(
    _writers(200, 401), FOREIGN_API, json={"points": []}, query="site={site_code}"
)

MATRIX: dict[tuple[str, str], Row] = {
    ("POST", "/api/v1/telemetry"): TELEMETRY_INGEST,
    ("GET", "/assets"): Row({**_same(200), "anonymous": 303}),
    ("GET", "/api/v1/sites/{site}/deadletters"): SITE_READ_API,
    ("GET", "/api/v1/sites/{site}/series"): Row(
        SITE_READ_API.own, SITE_READ_API.foreign, query="tag={tag_id}"
    ),
    ("GET", ASSETS_API): SITE_READ_API,
    ("POST", ASSETS_API + "/nodes"): _write_api(201, {"path": "api-{caller}", "level": "area"}),
    ("PATCH", ASSETS_API + "/nodes/{node_id}"): _write_api(200, {"name_en": "Renamed"}),
    ("DELETE", ASSETS_API + "/nodes/{node_id}"): _write_header_api(204),
    ("POST", ASSETS_API + "/tags"): _write_api(
        201, {"path": "api-tag-{caller}", "unit": "kW", "kind": "gauge"}
    ),
    ("GET", ASSETS_API + "/tags/{tag_id}"): SITE_READ_API,
    ("PUT", ASSETS_API + "/tags/{tag_id}"): _write_api(200, {"unit": "kW.h", "kind": "counter"}),
    ("DELETE", ASSETS_API + "/tags/{tag_id}"): _write_header_api(204),
    ("POST", ASSETS_API + "/import"): _write_api(422, IMPORT_BODY),
    ("GET", ASSETS_PAGE): SITE_READ_PAGE,
    ("GET", ASSETS_PAGE + "/nodes/new"): Row(_writers(200, 303), FOREIGN_PAGE),
    ("POST", ASSETS_PAGE + "/nodes/new"): _write_page(**NODE_PAGE_FORM),
    ("GET", ASSETS_PAGE + "/nodes/{node_id}/edit"): Row(_writers(200, 303), FOREIGN_PAGE),
    ("POST", ASSETS_PAGE + "/nodes/{node_id}/edit"): _write_page(name_en="Renamed"),
    ("POST", ASSETS_PAGE + "/nodes/{node_id}/delete"): _write_page(),
    ("GET", ASSETS_PAGE + "/tags/new"): Row(_writers(200, 303), FOREIGN_PAGE),
    ("POST", ASSETS_PAGE + "/tags/new"): _write_page(**TAG_PAGE_FORM),
    ("GET", ASSETS_PAGE + "/tags/{tag_id}/edit"): Row(_writers(200, 303), FOREIGN_PAGE),
    ("POST", ASSETS_PAGE + "/tags/{tag_id}/edit"): _write_page(**TAG_EDIT_FORM),
    ("POST", ASSETS_PAGE + "/tags/{tag_id}/delete"): _write_page(),
    ("GET", "/sites/{site}/deadletters"): SITE_READ_PAGE,
    ("GET", "/"): PUBLIC_200,
    ("GET", "/healthz"): PUBLIC_200,
    ("GET", "/readyz"): PUBLIC_200,
    ("GET", "/login"): PUBLIC_200,
    ("GET", "/lang/{code}"): Row(_same(303)),
    ("POST", "/login"): Row(_same(422), form={"email": "{caller}@y.vn", "password": "nope"}),
    ("POST", "/logout"): Row(_same(303)),
    ("GET", "/sites"): Row({**_same(200), "anonymous": 303}),
    ("GET", "/api/v1/sites"): Row({**_same(200), "anonymous": 401}),
    ("GET", "/sites/{site_id}"): SITE_READ_PAGE,
    ("GET", "/api/v1/sites/{site_id}"): SITE_READ_API,
    ("POST", "/sites/{site_id}/consent"): SITE_ADMIN_POST,
    ("POST", "/sites/{site_id}/tokens"): TOKEN_CREATE,
    ("POST", "/sites/{site_id}/tokens/{token_id}/revoke"): TOKEN_REVOKE,
    ("GET", "/assessments"): Row({**_same(200), "anonymous": 303}),
    ("GET", "/sites/{site_id}/assessments"): SITE_READ_PAGE,
    ("POST", "/sites/{site_id}/assessments"): _write_page(pack="lighthouse-os"),
    ("GET", "/sites/{site_id}/assessments/compare"): SITE_READ_PAGE,
    ("GET", "/sites/{site_id}/goal"): SITE_READ_PAGE,
    ("POST", "/sites/{site_id}/goal"): _write_page(pack="lighthouse-os", **{"kpi.oee": "3"}),
    ("GET", ASSESSMENT): SITE_READ_PAGE,
    ("GET", ASSESSMENT + "/steps/{group_id}"): SITE_READ_PAGE,
    ("POST", ASSESSMENT + "/items/{item_id}"): _write_page(level_choice="2"),
    ("POST", ASSESSMENT + "/items/{item_id}/files"): Row(_writers(422, 303), FOREIGN_PAGE),
    ("GET", ASSESSMENT + "/files/{file_id}"): SITE_READ_PAGE,
    ("POST", ASSESSMENT + "/files/{file_id}/delete"): _write_page(item_id="standard_work"),
    ("POST", ASSESSMENT + "/submit"): _write_page(),
    ("POST", ASSESSMENT + "/review"): Row(
        {**_same(403), "assessor": 303, "anonymous": 303}, FOREIGN_PAGE, form={"action": "complete"}
    ),
    ("GET", "/api/v1/frameworks"): Row({**_same(200), "anonymous": 401}),
    ("GET", "/api/v1/sites/{site_id}/assessments"): SITE_READ_API,
    ("POST", "/api/v1/sites/{site_id}/assessments"): _write_api(201, {"pack": "lighthouse-os"}),
    ("GET", "/api/v1/sites/{site_id}/assessments/compare"): Row(
        {**_same(422), "anonymous": 401},
        FOREIGN_API,  # readers get in, then lack ?a=&b=
    ),
    ("GET", "/api/v1" + ASSESSMENT): SITE_READ_API,
    ("PUT", "/api/v1" + ASSESSMENT + "/answers/{item_id}"): _write_api(200, {"level": 2}),
    ("POST", "/api/v1" + ASSESSMENT + "/submit"): _write_api(200, {}),
    ("POST", "/api/v1" + ASSESSMENT + "/review"): Row(
        {**_same(403), "assessor": 200, "anonymous": 401}, FOREIGN_API, json={"complete": True}
    ),
    ("GET", "/api/v1" + ASSESSMENT + "/gaps"): SITE_READ_API,
    ("GET", "/api/v1" + ASSESSMENT + "/roadmap"): SITE_READ_API,
    ("GET", "/api/v1/sites/{site_id}/goals/{pack_id}"): SITE_READ_API,
    ("PUT", "/api/v1/sites/{site_id}/goals/{pack_id}"): _write_api(
        200, {"kpi_weights": {"oee": 3}}
    ),
    # KPI engine: readers read KPIs; site writers (members, admins, write tokens) edit the
    # calendar and the product master. Site a1 has no machines, so product writes are 422/404.
    ("GET", "/kpi"): Row({**_same(200), "anonymous": 303}),
    ("GET", "/sites/{site_id}/kpi"): SITE_READ_PAGE,
    ("GET", "/sites/{site_id}/kpi/live"): SITE_READ_PAGE,
    ("GET", "/sites/{site_id}/kpi/settings"): SITE_READ_PAGE,
    ("POST", "/sites/{site_id}/kpi/calendar"): Row(
        {**_same(403), "member": 303, "admin": 303, "token_write": 303, "anonymous": 303},
        {**_same(404), "anonymous": 303},
        form={
            "timezone": "Asia/Ho_Chi_Minh",
            "workday": "0",
            "name_0": "A",
            "start_0": "06:00",
            "end_0": "14:00",
        },
    ),
    ("POST", "/sites/{site_id}/kpi/products"): Row(
        {**_same(403), "member": 422, "admin": 422, "token_write": 422, "anonymous": 303},
        {**_same(404), "anonymous": 303},
        form={"machine": "line-1/m-1", "code": "P", "ideal_cycle_time_s": "10"},
    ),
    ("POST", "/sites/{site_id}/kpi/products/delete"): Row(
        {**_same(403), "member": 404, "admin": 404, "token_write": 404, "anonymous": 303},
        {**_same(404), "anonymous": 303},
        form={"machine": "line-1/m-1", "code": "P"},
    ),
    ("GET", "/api/v1/sites/{site_id}/kpi/oee"): SITE_READ_API,
    ("GET", "/api/v1/sites/{site_id}/kpi/energy"): SITE_READ_API,
    ("GET", "/api/v1/sites/{site_id}/kpi/emissions"): SITE_READ_API,
    ("GET", "/api/v1/sites/{site_id}/kpi/power-factor"): SITE_READ_API,
    ("GET", "/api/v1/sites/{site_id}/kpi/calendar"): SITE_READ_API,
    ("GET", "/api/v1/sites/{site_id}/kpi/products"): SITE_READ_API,
    ("PUT", "/api/v1/sites/{site_id}/kpi/calendar"): Row(
        {**_same(403), "member": 200, "admin": 200, "token_write": 200, "anonymous": 401},
        {**_same(404), "anonymous": 401},
        json={
            "timezone": "Asia/Ho_Chi_Minh",
            "workdays": [0, 1],
            "shifts": [{"name": "A", "start": "06:00", "end": "14:00"}],
        },
    ),
    ("POST", "/api/v1/sites/{site_id}/kpi/products"): Row(
        {**_same(403), "member": 422, "admin": 422, "token_write": 422, "anonymous": 401},
        {**_same(404), "anonymous": 401},
        json={"machine": "line-1/m-1", "code": "P", "ideal_cycle_time_s": 10},
    ),
    # The matrix sends no CSRF header with DELETE, so signed-in browsers stop at the CSRF check.
    ("DELETE", "/api/v1/sites/{site_id}/kpi/products"): Row(
        {**_same(403), "token_write": 404, "anonymous": 401},
        {**_same(403), "token_write": 404, "token_read": 404, "anonymous": 401},
    ),
    ("GET", "/public/air"): PUBLIC_200,
    ("GET", "/api/v1/open/air-quality"): PUBLIC_200,
    # The city environment page: only a program's admins (and platform admins) read it.
    ("GET", "/environment"): Row({**_same(404), "anonymous": 303, "program": 200}),
    ("GET", "/sites/{site_id}/monitoring"): SITE_READ_PAGE,
    # Alerts: readers see them; site writers act on them and define rules, detectors, channels.
    ("GET", "/alerts"): Row({**_same(200), "anonymous": 303}),
    ("GET", "/sites/{site_id}/alerts"): SITE_READ_PAGE,
    ("GET", "/sites/{site_id}/alerts/rules"): SITE_READ_PAGE,
    ("GET", "/sites/{site_id}/alerts/{alert_id}"): SITE_READ_PAGE,
    ("POST", "/sites/{site_id}/alerts/{alert_id}/acknowledge"): _write_page(),
    ("POST", "/sites/{site_id}/alerts/{alert_id}/assign"): _write_page(assignee="member@a.vn"),
    ("POST", "/sites/{site_id}/alerts/{alert_id}/comment"): _write_page(text="seen"),
    ("POST", "/sites/{site_id}/alerts/{alert_id}/resolve"): _write_page(note="done"),
    ("GET", ALERTS_API): SITE_READ_API,
    ("GET", ALERTS_API + "/{alert_id}"): SITE_READ_API,
    ("POST", ALERTS_API + "/{alert_id}/acknowledge"): _write_api(200, {}),
    ("POST", ALERTS_API + "/{alert_id}/assign"): _write_api(200, {"assignee": "member@a.vn"}),
    ("POST", ALERTS_API + "/{alert_id}/comments"): _write_api(201, {"text": "seen"}),
    ("POST", ALERTS_API + "/{alert_id}/resolve"): _write_api(200, {"note": "done"}),
    ("GET", ALERTS_API + "/rules"): SITE_READ_API,
    ("POST", ALERTS_API + "/rules"): _write_api(201, ALERT_RULE),
    ("PUT", ALERTS_API + "/rules/{rule_id}"): _write_api(200, ALERT_RULE),
    ("DELETE", ALERTS_API + "/rules/{rule_id}"): ALERT_DELETE,
    ("GET", ALERTS_API + "/detectors"): SITE_READ_API,
    # The matrix sites' machines have no tags: access passes, then the input is refused.
    ("POST", ALERTS_API + "/detectors"): _write_api(422, {"name": "d", "machine": "line-9/m"}),
    ("POST", ALERTS_API + "/detectors/{detector_id}/train"): _write_api(
        422, {"train_from": "2025-01-01T00:00:00Z", "train_to": "2025-01-02T00:00:00Z"}
    ),
    ("DELETE", ALERTS_API + "/detectors/{detector_id}"): ALERT_DELETE,
    ("GET", ALERTS_API + "/channels"): SITE_READ_API,
    ("POST", ALERTS_API + "/channels"): _write_api(
        201, {"name": "c", "kind": "webhook", "url": "https://hooks.example.vn/c"}
    ),
    ("DELETE", ALERTS_API + "/channels/{channel_id}"): ALERT_DELETE,
    ("GET", ALERTS_API + "/deliveries"): SITE_READ_API,
    ("GET", "/api/v1/openapi.json"): PUBLIC_200,
    ("GET", "/api/v1/docs"): PUBLIC_200,
}


def _app_routes(settings: Settings) -> set[tuple[str, str]]:
    """Routes of the app itself (OpenAPI, docs) and of every feature router it includes."""
    app_routes = [r for r in create_app(settings).routes if isinstance(r, Route)]
    feature_routes = [r for router in feature_routers() for r in router.routes]
    found: set[tuple[str, str]] = set()
    for route in app_routes + feature_routes:
        if not isinstance(route, APIRoute | Route):
            raise AssertionError(f"unexpected route type {type(route).__name__}: {route}")
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


def test_every_route_is_in_the_matrix(initialised_settings: Settings) -> None:
    routes = _app_routes(initialised_settings)
    assert routes - MATRIX.keys() == set(), "add these routes to MATRIX with expected access"
    assert MATRIX.keys() - routes == set(), "MATRIX lists routes that no longer exist"


@pytest.fixture(scope="module")
def matrix_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, World]:
    from lighthouse_os.bootstrap import initialise
    from tests.support import make_settings

    settings = make_settings(tmp_path_factory.mktemp("matrix"))
    initialise(settings)
    return settings, seed_world(settings)


def _client_for(settings: Settings, world: World, caller: str) -> TestClient:
    client = TestClient(create_app(settings))
    if caller in world.users:
        sign_in(client, world.users[caller])
    elif caller.startswith("token_"):
        client.headers["Authorization"] = f"Bearer {world.tokens['a1_' + caller[6:]]}"
    return client


def _revocable_token(settings: Settings, site: str) -> int:
    from lighthouse_os.auth.tokens import create_token
    from lighthouse_os.db.engine import make_engine, make_session_factory

    engine = make_engine(settings.resolved_database_url)
    org = "org-a" if site == "a1" else "org-b"
    with make_session_factory(engine)() as session:
        token, _plain = create_token(session, org_ref=org, site_ref=site, scope="read")
    engine.dispose()
    return token.id


CASES = [
    (method, path, caller, target)
    for (method, path), row in MATRIX.items()
    for caller in CALLERS
    for target in (("own", "foreign") if row.foreign is not None else ("own",))
]


# Routes that change the caller's own session get a client of their own.
NEEDS_FRESH_CLIENT = {("POST", "/logout")}


@pytest.fixture(scope="module")
def clients(matrix_world: tuple[Settings, World]) -> Iterator[dict[str, TestClient]]:
    """One signed-in client per caller for the whole module: signing in per cell is slow."""
    settings, world = matrix_world
    opened = {caller: _client_for(settings, world, caller) for caller in CALLERS}
    for client in opened.values():
        client.__enter__()
    yield opened
    for client in opened.values():
        client.__exit__(None, None, None)


CSRF_REFUSAL = "did not come from this site"


@pytest.mark.parametrize(("method", "path", "caller", "target"), CASES)
def test_access_matrix_cell(
    matrix_world: tuple[Settings, World],
    clients: dict[str, TestClient],
    method: str,
    path: str,
    caller: str,
    target: str,
) -> None:
    settings, world = matrix_world
    row = MATRIX[(method, path)]
    expected = (row.own if target == "own" else row.foreign or {}).get(caller)
    url = _url(settings, world, path, row, target)
    fresh = (method, path) in NEEDS_FRESH_CLIENT
    client = _client_for(settings, world, caller) if fresh else clients[caller]
    data = {k: v.format(program=world.program, caller=caller) for k, v in row.form.items()}
    sends_token = method in ("POST", "PUT") or (method != "GET" and _in_header(row))
    token = csrf_token(client) if sends_token else ""
    body: dict[str, object] = {"data": {**data, "csrf_token": token} if token else data or None}
    if _in_header(row):  # a script's request: the CSRF token travels in the header
        json_body = _filled(row.json, caller) if row.json is not None else None
        body = {"json": json_body, "headers": {"x-csrf-token": token}}
    response = client.request(method, url, follow_redirects=False, **body)  # type: ignore[arg-type]
    if fresh:
        client.close()
    assert response.status_code == expected, response.text[:300]
    if sends_token:  # a refusal here is the policy's, never the CSRF check's
        assert CSRF_REFUSAL not in response.text, response.text[:300]


def _in_header(row: Row) -> bool:
    return row.json is not None or row.csrf_header


def _url(settings: Settings, world: World, path: str, row: Row, target: str) -> str:
    """The cell's URL: `{site}`/`{site_id}` is a1 or b1, and ids are fresh rows on that site."""
    site_code = "a1" if target == "own" else "b1"
    template = path + (f"?{row.query}" if row.query else "")
    makers = {**PATH_VALUES, **ALERT_PATH_VALUES, **ASSET_PATH_VALUES}
    return template.format(
        site_id=world.a1 if target == "own" else world.b1,
        site=world.a1 if target == "own" else world.b1,
        site_code=site_code,
        code="en",
        token_id=_revocable_token(settings, site_code) if "{token_id}" in path else 0,
        **{k: make(settings, site_code, path) for k, make in makers.items() if k in template},
    )


def _filled(value: object, caller: str) -> object:
    """A JSON body with `{caller}` filled in its strings, so each caller writes its own rows."""
    if isinstance(value, str):
        return value.format(caller=caller)
    if isinstance(value, dict):
        return {k: _filled(v, caller) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, caller) for v in value]
    return value
