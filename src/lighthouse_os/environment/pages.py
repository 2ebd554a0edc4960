"""HTML pages: public air quality, the city environment page, a site's own monitoring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lighthouse_os.auth import service as auth
from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.auth.policy import Action
from lighthouse_os.db.base import utcnow
from lighthouse_os.environment import aqi, receiver, service, standards
from lighthouse_os.environment.averaging import HOUR, ICT
from lighthouse_os.environment.models import aware
from lighthouse_os.environment.scale import POLLUTANTS, Band
from lighthouse_os.telemetry.api import sink_for
from lighthouse_os.telemetry.store import TimeSeriesStore
from lighthouse_os.text import N_
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.templating import render

router = APIRouter(include_in_schema=False)

AVERAGING_LABELS = {
    "nowcast": N_("NowCast of the last 12 hours"),
    "1h": N_("1-hour mean"),
}
MAP_W, MAP_H, MAP_PAD = 640, 420, 40
HOURS_24 = 24


def _store(request: Request) -> TimeSeriesStore:
    return sink_for(request.app).store


@router.get("/public/air", response_class=HTMLResponse)
def public_air(request: Request, session: SessionDep) -> HTMLResponse:
    """Current VN_AQI of every station, open to everyone (Decision 1459/QĐ-TCMT disclosure)."""
    stations = service.city_air(session, _store(request), now=utcnow())
    cards = [station_card(s, request.state.locale) for s in stations]
    return render(request, "environment/public_air.html", {"cards": cards, **method_context()})


@router.get("/environment", response_class=HTMLResponse)
def city_page(
    request: Request, principal: PrincipalDep, session: SessionDep, program: str | None = None
) -> HTMLResponse:
    """The program's air stations, exceedances and continuous-monitoring stations."""
    ref = program or service.default_program(session, principal)
    org = auth.authorize_org(session, principal, ref, Action.PROGRAM_READ)
    overview = service.city_overview(session, _store(request), org, now=utcnow())
    cards = [station_card(s, request.state.locale) for s in overview.air]
    context = {"overview": overview, "cards": cards, "points": map_points(cards)}
    return render(request, "environment/city.html", context | method_context())


@router.get("/sites/{site_id}/monitoring", response_class=HTMLResponse)
def site_monitoring(
    request: Request, site_id: int, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    """A factory's own continuous-monitoring stations: completeness, statistics, findings."""
    site = auth.authorize_site(session, principal, site_id, Action.SITE_READ)
    stations = receiver.site_monitoring(session, site, now=utcnow())
    context = {"site": site, "stations": stations, "local": local_time, "hours": HOURS_24}
    return render(request, "environment/site_monitoring.html", context)


# -- presentation helpers (no data access) --------------------------------------------------


def local_time(moment: datetime | None) -> str:
    """`yyyy-MM-dd HH:mm` in Vietnam time, or a dash."""
    return "–" if moment is None else f"{aware(moment).astimezone(ICT):%Y-%m-%d %H:%M}"


def method_context() -> dict[str, Any]:
    """The method's names and source, shown wherever an AQI is published."""
    method = standards.vn_aqi_method()
    return {"method": method, "bands": method.bands, "local": local_time}


def _text(band: Band, field: str, locale: str) -> str:
    return str(getattr(band, f"{field}_{'vi' if locale == 'vi' else 'en'}"))


def _ink(band: Band) -> str:
    red, green, blue = band.rgb
    return "#111" if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else "#fff"


def station_card(air: service.StationAir, locale: str) -> dict[str, Any]:
    """Everything a station's AQI card shows: band, every parameter, dominant, advice, time."""
    result, site = air.current, air.site
    card: dict[str, Any] = {
        "code": air.station.code, "name": site.name, "district": site.district, "park": site.park,
        "lat": site.latitude, "lon": site.longitude, "operator": air.station.operator,
        "stale": air.stale, "aqi": None, "band": None, "rows": [], "chart": chart_series(air),
    }  # fmt: skip
    if result is None:
        return card
    card |= {
        "aqi": result.aqi, "dominant": result.dominant,
        "start": result.start, "end": result.start + HOUR,
        "reason": _message(aqi.MESSAGES, result.reason, locale) if result.reason else None,
        "rows": _parameter_rows(air, result, locale),
    }  # fmt: skip
    if result.band is not None:
        band = result.band
        card["band"] = {
            "key": band.key, "hex": band.hex, "ink": _ink(band),
            "name": _text(band, "name", locale), "general": _text(band, "general", locale),
            "sensitive": _text(band, "sensitive", locale),
        }  # fmt: skip
    return card


def _message(messages: dict[str, tuple[str, str]], code: str, locale: str) -> str:
    en, vi = messages.get(code, (code, code))
    return vi if locale == "vi" else en


def _parameter_rows(
    air: service.StationAir, result: aqi.AqiResult, locale: str
) -> list[dict[str, Any]]:
    missing = dict(result.missing)
    rows = []
    for pollutant in POLLUTANTS:
        sub = result.sub_index(pollutant)
        measured = pollutant in (air.station.parameters or POLLUTANTS)
        why = missing.get(pollutant)
        rows.append(
            {
                "pollutant": pollutant, "label": service.POLLUTANT_NAMES[pollutant][0],
                "measured": measured, "dominant": pollutant == result.dominant,
                "concentration": sub.concentration if sub else None,
                "averaging": AVERAGING_LABELS.get(sub.averaging, sub.averaging) if sub else None,
                "sub_index": sub.value if sub else None,
                "missing": _message(aqi.MESSAGES, why, locale) if why and measured else None,
            }
        )  # fmt: skip
    return rows


def chart_series(air: service.StationAir) -> dict[str, Any]:
    """Hourly AQI and PM2.5 of the last 24 hours for Chart.js (labels in Vietnam time)."""
    return {
        "labels": [f"{r.start.astimezone(ICT):%H:%M}" for r in air.history],
        "aqi": [r.aqi for r in air.history],
        "colours": [r.band.hex if r.band else "#999999" for r in air.history],
        "pm25": [h.pm25 if (h := air.hour(r.start)) else None for r in air.history],
    }


def map_points(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stations placed on an SVG plot by longitude and latitude (equirectangular, padded)."""
    placed = [c for c in cards if c["lat"] is not None and c["lon"] is not None]
    if not placed:
        return []
    lats, lons = [c["lat"] for c in placed], [c["lon"] for c in placed]
    span = max(max(lats) - min(lats), max(lons) - min(lons), 0.01)
    scale = min(MAP_W, MAP_H) - 2 * MAP_PAD
    left = (MAP_W - scale) / 2  # centre the square plot in the wider drawing
    return [
        {
            "x": round(left + (c["lon"] - min(lons)) / span * scale, 1),
            "y": round(MAP_H - MAP_PAD - (c["lat"] - min(lats)) / span * scale, 1),
            "card": c,
        }
        for c in placed
    ]
