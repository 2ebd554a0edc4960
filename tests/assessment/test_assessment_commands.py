"""`lhos assess import|export`, `lhos framework publish`, and the demo seed built on the import."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from statistics import mean

import orjson
import pytest
from sqlalchemy import func, select

from lighthouse_os.assessment import service, views
from lighthouse_os.assessment.demo import seed_assessments
from lighthouse_os.assessment.models import Answer, Assessment, SiteGoal
from lighthouse_os.auth.demo import seed_identity
from lighthouse_os.auth.models import AuditEvent
from lighthouse_os.cli import run
from lighthouse_os.settings import Settings
from tests.assessment.assessment_support import ROOT, sessions, tiny_v1, write_pack
from tests.support import World

GOOD = """site,pack,version,date,capability,level,met,target,confidence,notes
a1,lighthouse-os,1.0.0,2026-03-02,standard_work,2,,4,high,paper survey
a1,lighthouse-os,1.0.0,2026-03-02,quick_changeover,,quick_changeover.l1.1;quick_changeover.l1.2;quick_changeover.l1.3,,,
b1,lighthouse-os,,2026-03-05,standard_work,1,,,low,
"""

BAD = """site,pack,version,date,capability,level,met,target,confidence,notes
a1,lighthouse-os,1.0.0,2026-03-02,standard_work,2,,,,
nowhere,lighthouse-os,1.0.0,2026-03-02,standard_work,2,,,,
a1,lighthouse-os,9.9.9,2026-03-02,standard_work,2,,,,
a1,lighthouse-os,1.0.0,2026-03-02,no_such_capability,2,,,,
a1,lighthouse-os,1.0.0,2026-03-02,quick_changeover,,,,,
a1,lighthouse-os,1.0.0,2026-03-02,built_in_quality,7,,,,
a1,lighthouse-os,1.0.0,2026-03-02,standard_work,3,,,,
a1,lighthouse-os,1.0.0,02/03/2026,maintenance_excellence,1,,,,
a1,lighthouse-os,1.0.0,2026-03-02,safe_ergonomic_work,3,safe_ergonomic_work.l1.1,,,
a1,lighthouse-os,1.0.0,2026-03-02,traceability_genealogy,two,,,sure,
"""


def _count(settings: Settings) -> int:
    with sessions(settings) as session:
        return session.scalar(select(func.count()).select_from(Assessment)) or 0


def test_import_reports_every_bad_row_with_its_line_and_writes_nothing(
    initialised_settings: Settings,
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    survey = tmp_path / "survey.csv"
    survey.write_text(BAD, encoding="utf-8")
    data_dir = str(initialised_settings.data_dir)
    assert run(["assess", "import", str(survey), "--data-dir", data_dir]) == 1
    err = capsys.readouterr().err
    for line, message in [
        (3, "unknown site 'nowhere'"),
        (4, "no registered framework pack lighthouse-os 9.9.9"),
        (5, "'no_such_capability' is not a capability"),
        (6, "give a level or the met criteria"),
        (7, "picked_level"),
        (8, "duplicate of line 2"),
        (9, "date must be YYYY-MM-DD"),
        (10, "level 3 does not match the met criteria (level 0)"),
        (11, "level must be a whole number"),
    ]:
        assert f"line {line}: {message}" in err
    assert "line 2:" not in err  # the good first row
    assert "9 bad row(s); nothing was imported" in err
    assert _count(initialised_settings) == 0


def test_import_writes_one_submitted_assessment_per_site_and_date(
    initialised_settings: Settings, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    survey = tmp_path / "survey.csv"
    survey.write_text(GOOD, encoding="utf-8")
    args = ["assess", "import", str(survey), "--data-dir", str(initialised_settings.data_dir)]
    assert run([*args, "--dry-run"]) == 0
    assert "3 row(s) checked" in capsys.readouterr().out
    assert _count(initialised_settings) == 0
    assert run([*args, "--json"]) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert [(a["site"], a["pack"]) for a in report["assessments"]] == [
        ("a1", "lighthouse-os 1.0.0"),
        ("b1", "lighthouse-os 1.0.0"),
    ]
    with sessions(initialised_settings) as session:
        a1 = session.get(Assessment, report["assessments"][0]["id"])
        assert a1 is not None
        assert (a1.status, a1.origin, a1.submitted_at.date().isoformat()) == (  # type: ignore[union-attr]
            "submitted",
            "import",
            "2026-03-02",
        )
        levels = {
            a.item_id: (a.level, a.target_level)
            for a in service.answers_of(session, a1.id).values()
        }
        assert levels == {"standard_work": (2, 4), "quick_changeover": (1, None)}
        imported = session.scalar(
            select(func.count()).where(AuditEvent.action == "assessment.imported")
        )
        assert imported == 2


def test_import_json_rows_and_report_items_by_position(
    initialised_settings: Settings, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"site": "a1", "pack": "lighthouse-os", "capability": "standard_work", "level": 2},
        {"site": "a1", "pack": "lighthouse-os", "capability": "standard_work", "level": 9},
        "not a row",
    ]
    survey = tmp_path / "survey.json"
    survey.write_bytes(orjson.dumps({"rows": rows}))
    args = ["assess", "import", str(survey), "--data-dir", str(initialised_settings.data_dir)]
    assert run(args) == 1
    err = capsys.readouterr().err
    assert "line 2: picked_level" in err
    assert "line 3: a row must be an object" in err
    survey.write_bytes(orjson.dumps(rows[:1]))
    assert run(args) == 0
    assert _count(initialised_settings) == 1


def test_export_csv_round_trips_through_import(
    initialised_settings: Settings, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = str(initialised_settings.data_dir)
    survey = tmp_path / "survey.csv"
    survey.write_text(GOOD, encoding="utf-8")
    assert run(["assess", "import", str(survey), "--data-dir", data_dir]) == 0
    capsys.readouterr()
    out = tmp_path / "a1.csv"
    assert (
        run(["assess", "export", "--site", "a1", "--csv", "-o", str(out), "--data-dir", data_dir])
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(r["capability"], r["level"], r["mode"], r["met"]) for r in rows] == [
        ("standard_work", "2", "picked", ""),
        (
            "quick_changeover",
            "1",
            "criteria",
            "quick_changeover.l1.1;quick_changeover.l1.2;quick_changeover.l1.3",
        ),
    ]
    out.write_text(out.read_text(encoding="utf-8-sig").replace("2026-03-02", "2026-09-01"))
    assert run(["assess", "import", str(out), "--data-dir", data_dir]) == 0
    with sessions(initialised_settings) as session:
        latest = service.latest_finished(session, world.a1, "lighthouse-os")
        assert latest is not None
        answers = service.answers_of(session, latest.id)
        assert {i: a.level for i, a in answers.items()} == {
            "standard_work": 2,
            "quick_changeover": 1,
        }
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "export"))
        assert [(e.detail["what"], e.detail["format"]) for e in audited] == [("assessments", "csv")]


def test_export_json_to_stdout(
    initialised_settings: Settings, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    survey = tmp_path / "survey.csv"
    survey.write_text(GOOD, encoding="utf-8")
    data_dir = str(initialised_settings.data_dir)
    assert run(["assess", "import", str(survey), "--data-dir", data_dir]) == 0
    capsys.readouterr()
    assert run(["assess", "export", "--site", "b1", "--json", "--data-dir", data_dir]) == 0
    payload = orjson.loads(capsys.readouterr().out)
    assert payload["site"] == "b1"
    assert [(r["capability"], r["level"], r["confidence"]) for r in payload["rows"]] == [
        ("standard_work", 1, "low")
    ]
    assert run(["assess", "export", "--site", "zz", "--data-dir", data_dir]) == 1


def test_framework_publish_command_registers_a_new_version(
    initialised_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_pack(tmp_path, tiny_v1())
    data_dir = str(initialised_settings.data_dir)
    assert run(["framework", "publish", str(folder), "--data-dir", data_dir]) == 0
    assert "tiny 1.0.0: added" in capsys.readouterr().out
    assert run(["framework", "publish", str(tmp_path / "missing"), "--data-dir", data_dir]) == 1


# -- the demo seed --------------------------------------------------------------------------------


def test_demo_seed_is_plausible_deterministic_and_idempotent(
    initialised_settings: Settings,
) -> None:
    settings = initialised_settings
    with sessions(settings) as session:
        seed_identity(settings, session)
        session.commit()
        assert "8 demo assessments" in seed_assessments(settings, session)
        assert seed_assessments(settings, session) == "demo assessments already present"
        rows = session.scalars(select(Assessment).order_by(Assessment.id)).all()
        assert {a.status for a in rows} == {"submitted"}
        assert session.scalar(select(func.count()).select_from(SiteGoal)) == 7
        means = _mean_levels(session)
        smes = [m for code, m in means.items() if code != "saigon-precision"]
        assert all(1.0 <= m <= 2.3 for m in smes)
        assert means["saigon-precision"] > max(smes) + 0.5
        earlier, latest = views.history(session, ROOT, "saigon-precision").rows[::-1][:2]
        comparison = views.compare(session, ROOT, "saigon-precision", earlier[0].id, latest[0].id)
        deltas = [r.delta for r in comparison.rows if r.delta is not None]
        assert mean(deltas) > 0.5  # a year of progress
        view = views.assessment_view(session, ROOT, "saigon-precision", latest[0].id)
        assert view.results.radar.peer_sites == 5
        assert view.results.ranked
        assert view.results.roadmap is not None
        assert view.results.roadmap.steps


def _mean_levels(session: object) -> dict[str, float]:
    from sqlalchemy.orm import Session

    from lighthouse_os.auth.models import Site

    assert isinstance(session, Session)
    out: dict[str, float] = {}
    for site in session.scalars(select(Site)):
        latest = service.latest_finished(session, site.id, "lighthouse-os")
        if latest is not None:
            levels = session.scalars(select(Answer.level).where(Answer.assessment_id == latest.id))
            out[site.code] = mean(lv for lv in levels if lv is not None)
    return out
