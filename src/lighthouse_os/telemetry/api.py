"""REST API of telemetry: HTTP ingest, dead letters and series aggregates of a site."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool

from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.auth.policy import Principal
from lighthouse_os.auth.service import authorize_site
from lighthouse_os.errors import InvalidInput
from lighthouse_os.telemetry import service
from lighthouse_os.telemetry.columnar import parse_columns
from lighthouse_os.telemetry.points import IngestResult, RawPoint
from lighthouse_os.telemetry.service import TelemetryService
from lighthouse_os.telemetry.store import AggFn, Every, open_store
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.responses import JSONBytes

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
MAX_BODY_BYTES = 16 * 1024 * 1024
_sink_lock = threading.Lock()


@asynccontextmanager
async def _close_sink(app: FastAPI) -> AsyncIterator[None]:
    yield
    sink: TelemetryService | None = getattr(app.state, "telemetry_sink", None)
    if sink is not None:
        sink.close()


router = APIRouter(prefix="/api/v1", tags=["telemetry"], lifespan=_close_sink)


def sink_for(app: FastAPI) -> TelemetryService:
    """The app's sink, opened on first use so an idle web app does not hold the store."""
    sink: TelemetryService | None = getattr(app.state, "telemetry_sink", None)
    if sink is None:
        with _sink_lock:
            sink = getattr(app.state, "telemetry_sink", None)
            if sink is None:
                store = open_store(app.state.settings.resolved_timeseries_url)
                sink = TelemetryService(app.state.sessions, store)
                app.state.telemetry_sink = sink
    return sink


def _sink(request: Request) -> TelemetryService:
    return sink_for(request.app)


SinkDep = Annotated[TelemetryService, Depends(_sink)]


@router.post("/telemetry")
async def ingest(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    sink: SinkDep,
    site: Annotated[str | None, Query(description="Site code; default: the token's site")] = None,
) -> JSONBytes:
    """Ingest `{"points": [{tag, ts, value[, unit]}, …]}` or NDJSON, one point per line."""
    site_ref = _site_ref(principal, site)
    target = await run_in_threadpool(
        authorize_site, session, principal, site_ref, "telemetry.write"
    )
    # Give the connection back before the upload and the write: a request holding it while
    # it waits for the store would exhaust the pool under many concurrent gateways.
    session.close()
    body = await request.body()
    ndjson = request.headers.get("content-type", "").startswith(NDJSON_TYPES)
    result = await run_in_threadpool(_ingest_body, sink, target.code, body, ndjson)
    return JSONBytes(ingest_answer(result))


@router.get("/sites/{site}/deadletters")
def dead_letters(
    site: str,
    principal: PrincipalDep,
    session: SessionDep,
    source: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONBytes:
    """The newest dead letters of a site, with their reasons and payloads."""
    target = authorize_site(session, principal, site, "site.read")
    letters = service.list_dead_letters(session, site=target, source=source, limit=limit)
    return JSONBytes({"dead_letters": [service.dead_letter_dict(d) for d in letters]})


@router.get("/sites/{site}/series")
def series(
    site: str,
    principal: PrincipalDep,
    session: SessionDep,
    sink: SinkDep,
    tag: str,
    every: Every = "1h",
    fn: AggFn = "avg",
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
) -> JSONBytes:
    """`fn` of one tag over `every` buckets of the site's local calendar (default: last 7 days)."""
    target = authorize_site(session, principal, site, "site.read")
    to = service.local_instant(end, target.timezone) if end else sink.clock()
    since = service.local_instant(start, target.timezone) if start else to - timedelta(days=7)
    result = service.series_aggregate(
        session, sink.store, target, tag, every=every, fn=fn, start=since, end=to
    )
    return JSONBytes(service.aggregate_dict(result))


def ingest_answer(result: IngestResult) -> dict[str, Any]:
    """The JSON answer of an ingest: counts and each rejected point's index, tag and reason."""
    rejected = [{"index": r.index, "tag": r.tag, "reason": r.reason} for r in result.rejected]
    return {"accepted": result.accepted, "duplicates": result.duplicates, "rejected": rejected}


def _site_ref(principal: Principal, site: str | None) -> int | str:
    if site:
        return site
    if principal.token is not None and principal.token.site_id is not None:
        return principal.token.site_id
    raise InvalidInput("name the site with ?site=<code> or use a site-scoped token")


def _ingest_body(sink: TelemetryService, site: str, body: bytes, ndjson: bool) -> IngestResult:
    if len(body) <= MAX_BODY_BYTES:
        columns = parse_columns(body, ndjson=ndjson)
        fast = None if columns is None else sink.ingest_columns(site, columns, source="http")
        if fast is not None:
            return fast
    try:
        points = points_from_body(body, ndjson=ndjson)
    except InvalidInput as err:
        sink.dead_letter(source="http", payload=body, reason=err.message, site=site)
        raise
    return sink.ingest(site, points, source="http")


def points_from_body(body: bytes, *, ndjson: bool) -> list[RawPoint]:
    """Raw points of a JSON `{"points": […]}` or NDJSON body; InvalidInput when malformed.

    The body is parsed once with orjson and each item mapped by hand (no model per point). An
    item that is not an object becomes a point without a tag, so validation rejects it by index.
    """
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInput(f"body larger than {MAX_BODY_BYTES} bytes; send smaller batches")
    items = _ndjson_items(body) if ndjson else _json_items(body)
    return [_point(item) for item in items]


def _json_items(body: bytes) -> list[Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise InvalidInput(f"malformed_body: not JSON ({err})") from err
    items = document.get("points") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise InvalidInput('malformed_body: expected {"points": [{"tag", "ts", "value"}, …]}')
    return items


def _ndjson_items(body: bytes) -> list[Any]:
    items: list[Any] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError as err:
            raise InvalidInput(f"malformed_body: line {number} is not JSON ({err})") from err
    return items


def _point(item: Any) -> RawPoint:
    if not isinstance(item, dict):
        return RawPoint("", None, item)
    tag = item.get("tag")
    value = item.get("value")
    if "unit" in item:
        value = {"value": value, "unit": item["unit"]}
    return RawPoint(tag if isinstance(tag, str) else "", item.get("ts"), value)
