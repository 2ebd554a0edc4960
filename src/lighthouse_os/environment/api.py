"""REST API of the environment feature: open air-quality data (public, no sign-in)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from lighthouse_os.db.base import utcnow
from lighthouse_os.environment import export, service
from lighthouse_os.telemetry.api import sink_for
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.responses import JSONBytes

router = APIRouter(prefix="/api/v1", tags=["environment"])

LD_JSON = "application/ld+json"


@router.get("/open/air-quality")
def open_air_quality(
    request: Request,
    session: SessionDep,
    options: Annotated[
        Literal["normalized", "keyValues"] | None,
        Query(description="NGSI-LD representation: normalized (default) or keyValues."),
    ] = None,
) -> JSONBytes:
    """Current FIWARE AirQualityObserved entity of every station, as NGSI-LD (open data).

    Each entity is the latest hour with a VN_AQI: hourly means in µg/m³ (unitCode GQ), the
    index, its band and the share of the station's parameters that reported.
    """
    stations = service.city_air(session, sink_for(request.app).store, now=utcnow())
    rows = export.current_observations(stations)
    body = export.to_ngsi_ld(rows, key_values=options == "keyValues")
    return JSONBytes(body, media_type=LD_JSON)
