"""Pages: public air quality (vi and en), the city environment page, a site's monitoring."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from lighthouse_os.db.base import utcnow
from lighthouse_os.environment import monitoring, service, standards
from lighthouse_os.environment.averaging import ICT
from lighthouse_os.environment.feed import FeedReading, feed_file_name, write_feed
from lighthouse_os.environment.models import AirStation, MonitoringStation
from lighthouse_os.telemetry.service import TelemetryService
from tests.environment.environment_support import (
    NOWCAST_EXAMPLE,
    hour_start,
    write_hours,
)
from tests.support import World, sign_in

HOUR = timedelta(hours=1)
# Expected rows of the station card: label, concentration as shown, sub-index.
# NowCasts: PM2.5 20.3 (the Decision's example), PM10 40.0 (a constant 40).
ROWS = {
    "en": [("PM2.5", "20.3", "41"), ("PM10", "40.0", "40"), ("O₃", "136.1", "43"),
           ("NO₂", "118.7", "60"), ("SO₂", "20.0", "8"), ("CO", "900.0", "5")],
    "vi": [("PM2.5", "20,3", "41"), ("PM10", "40,0", "40"), ("O₃", "136,1", "43"),
           ("NO₂", "118,7", "60"), ("SO₂", "20,0", "8"), ("CO", "900,0", "5")],
}  # fmt: skip
LABELS = {
    "en": ("Dominant pollutant", "General public", "Sensitive groups", "Data source", "dominant"),
    "vi": (
        "Thông số chính",
        "Người bình thường",
        "Nhóm nhạy cảm",
        "Nguồn số liệu",
        "thông số chính",
    ),
}


def all_parameters(current: datetime) -> list[tuple[datetime, dict[str, float]]]:
    """The Decision's hourly example, with PM10, SO2 and CO measured too."""
    hours = []
    for k, pm25 in enumerate(NOWCAST_EXAMPLE):
        values = {"pm25": pm25, "pm10": 40.0}
        if k == 0:
            values |= {"o3": 136.1, "no2": 118.7, "so2": 20.0, "co": 900.0}
        hours.append((current - k * HOUR, values))
    return hours


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def current(env_sink: TelemetryService, air_station: AirStation) -> datetime:
    at = hour_start(utcnow()) - HOUR  # the latest complete hour
    write_hours(env_sink, "HCM-AQ-T01", all_parameters(at))
    return at


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_public_air_page_shows_every_parameter_dominant_method_source_time_and_advice(
    client: TestClient, current: datetime, lang: str
) -> None:
    response = client.get(f"/public/air?lang={lang}")
    assert response.status_code == 200
    page = response.text
    rows = re.findall(r'<tr( class="dominant")? data-pollutant="(\w+)">(.*?)</tr>', page, re.S)
    cells = [
        [text_of(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        for _dom, _p, body in rows
    ]
    label, general, sensitive, source, flag = LABELS[lang]
    assert [(c[0].replace(f" ★ {flag}", ""), c[1], c[3]) for c in cells] == ROWS[lang]
    assert [p for dom, p, _body in rows if dom] == ["no2"]  # one dominant row, flagged
    assert f"★ {flag}" in cells[3][0]
    text = text_of(page)
    assert f"{label}: NO₂" in text
    method = standards.vn_aqi_method()
    assert (method.name_vi if lang == "vi" else method.name_en) in text
    assert "1459/QĐ-TCMT" in text
    assert f"{source}: Trạm thử nghiệm / test operator" in text
    local = current.astimezone(ICT)
    assert f"{local:%Y-%m-%d %H:%M}–{local + HOUR:%H:%M}" in text
    band = next(b for b in method.bands if b.key == "moderate")
    advice_general = band.general_vi if lang == "vi" else band.general_en
    advice_sensitive = band.sensitive_vi if lang == "vi" else band.sensitive_en
    assert f"{general}: {advice_general}" in text
    assert f"{sensitive}: {advice_sensitive}" in text
    assert band.hex in page  # the AQI badge carries the band colour
    assert ">60<" in page


def test_public_air_page_is_in_the_navigation_for_anonymous_visitors(client: TestClient) -> None:
    page = client.get("/?lang=en").text
    assert 'href="/public/air"' in page
    assert 'href="/environment"' not in page  # for signed-in callers only


def test_public_air_page_says_so_when_a_station_has_no_aqi(
    client: TestClient, air_station: AirStation
) -> None:
    text = text_of(client.get("/public/air?lang=en").text)
    assert "No AQI can be computed for the last 24 hours." in text


def _feed(session: Session, sink: TelemetryService, at: datetime, cod: float) -> None:
    name = feed_file_name("HCM", "ABC", "NUO001", at)
    body = write_feed(
        [FeedReading("COD", cod, "mg/L", at, "00"), FeedReading("pH", 7.0, "-", at, "01")]
    )
    monitoring.receive_file(session, sink, name, body, now=utcnow())


def test_city_page_shows_map_charts_exceedances_and_monitoring_health(
    client: TestClient,
    world: World,
    env_session: Session,
    env_sink: TelemetryService,
    current: datetime,
    water_station: MonitoringStation,
) -> None:
    write_hours(env_sink, "HCM-AQ-T01", [(current - 20 * HOUR, {"no2": 260.0})])
    service.refresh_air_exceedances(env_session, env_sink.store, now=utcnow())
    start = hour_start(utcnow()) - 3 * HOUR
    for k in range(6):  # 30 minutes of files with COD above 148.5, then silence
        _feed(env_session, env_sink, start + timedelta(minutes=5 * k), 200.0)
    from lighthouse_os.environment import receiver

    receiver.check_gaps(env_session, now=utcnow())
    sign_in(client, world.users["program"])
    response = client.get("/environment?lang=en")
    assert response.status_code == 200
    page = response.text
    assert re.search(r'<circle cx="[\d.]+" cy="[\d.]+" r="14" fill="#ffff00"', page)  # moderate
    assert page.count('<canvas id="chart-') == 1
    assert "chart-4.6.1.umd.min.js" in page
    text = text_of(page)
    assert "NO2 1h" in text
    assert "260.0 µg/Nm3" in text  # the mean, in the unit of the limit it is compared with
    assert "QCVN 05:2023/BTNMT" in text
    assert "HCM_ABC_NUO001" in text
    assert "(6/288)" in text  # completeness over the last 24 h
    assert "open" in text  # the silence since the last file
    assert "QCVN 40:2011/BTNMT column B" in text


def test_city_page_is_for_program_admins_only(client: TestClient, world: World) -> None:
    assert client.get("/environment", follow_redirects=False).status_code == 303
    sign_in(client, world.users["member"])
    assert client.get("/environment").status_code == 404
    assert client.get(f"/environment?program={world.program}").status_code == 404


def test_site_monitoring_page_shows_statistics_latest_file_and_findings(
    client: TestClient,
    world: World,
    env_session: Session,
    env_sink: TelemetryService,
    water_station: MonitoringStation,
) -> None:
    start = hour_start(utcnow()) - 2 * HOUR
    for k, cod in enumerate((100.0, 200.0, 210.0)):
        _feed(env_session, env_sink, start + timedelta(minutes=5 * k), cod)
    sign_in(client, world.users["member"])
    response = client.get(f"/sites/{world.a1}/monitoring?lang=en")
    assert response.status_code == 200
    text = text_of(response.text)
    assert "COD mg/L 3 100.00 170.00 210.00" in text  # count, min, mean, max of status 00
    assert "01 · calibrating" in text
    assert "QCVN 40:2011/BTNMT column B" in text
    assert client.get(f"/sites/{world.b1}/monitoring").status_code == 404
