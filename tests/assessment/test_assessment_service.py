"""Assessment use cases on SQLite (and once on PostgreSQL): packs, workflow, review, results."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lighthouse_os.assessment import evidence, goals, service, views
from lighthouse_os.assessment.answers import AnswerInput
from lighthouse_os.assessment.models import Answer, Assessment, EvidenceFile, ReviewItem
from lighthouse_os.assessment.results import GoalSpec, next_quarter, peer_medians
from lighthouse_os.auth.models import AuditEvent
from lighthouse_os.auth.policy import Principal
from lighthouse_os.bootstrap import initialise
from lighthouse_os.errors import Conflict, Forbidden, InvalidInput, NotFound
from lighthouse_os.framework import pack as p
from lighthouse_os.framework import service as packs
from lighthouse_os.settings import Settings
from tests.assessment.assessment_support import (
    PNG,
    ROOT,
    db,
    people,
    sessions,
    tiny_v1,
    tiny_v2,
    write_pack,
)
from tests.support import World

__all__ = ["db", "people"]  # fixtures, imported so pytest finds them

SW = "standard_work"
SMF = "synchronized_material_flow"
People = dict[str, Principal]


def _lighthouse(session: Session) -> p.CapabilityPack:
    pack = packs.pack_of(session, packs.find_record(session, "lighthouse-os"))
    assert isinstance(pack, p.CapabilityPack)
    return pack


def _met(session: Session, capability: str, level: int) -> tuple[str, ...]:
    """Every criterion of a built-in capability's levels 1..level."""
    cap = _lighthouse(session).capability(capability)
    return tuple(c.id for lv in cap.levels[:level] for c in lv.criteria)


def _submitted(
    db: Session, who: Principal, answers: dict[str, AnswerInput], site: str = "a1"
) -> int:
    row = service.start_assessment(db, who, site, "lighthouse-os")
    for item, answer in answers.items():
        service.save_answer(db, who, site, row.id, item, answer)
    service.submit_assessment(db, who, site, row.id)
    return row.id


# -- the pack registry ----------------------------------------------------------------------------


def test_packs_init_registers_the_builtin_packs_once(initialised_settings: Settings) -> None:
    with sessions(initialised_settings) as session:
        assert [r.label for r in packs.registered(session)] == ["lighthouse-os 1.0.0", "siri 1.0.0"]
        record = packs.find_record(session, "lighthouse-os")
        on_disk = packs.snapshot(packs.PACKS_DIR / "lighthouse-os" / "1.0.0")
        assert (record.digest, record.origin) == (on_disk.digest, "builtin")
    report = initialise(initialised_settings)
    assert "framework packs: lighthouse-os 1.0.0: unchanged; siri 1.0.0: unchanged" in report.steps


def test_packs_builtin_refresh_replaces_an_unpinned_version_but_never_a_pinned_one(
    world: World, db: Session, tmp_path: Path
) -> None:
    folder = write_pack(tmp_path / "builtin", tiny_v1())
    kpis = folder / "kpis.yaml"

    def refresh() -> list[str]:
        lines = packs.register_builtin_packs(
            db, root=tmp_path / "builtin", may_replace=lambda r: not service.is_pinned(db, r)
        )
        db.commit()
        return lines

    assert refresh() == ["tiny 1.0.0: added"]
    kpis.write_text(kpis.read_text(encoding="utf-8").replace("Lead (en)", "Lead time (en)"))
    assert refresh() == ["tiny 1.0.0: replaced"]
    service.start_assessment(db, ROOT, "a1", "tiny")
    kpis.write_text(kpis.read_text(encoding="utf-8").replace("Lead time (en)", "LT (en)"))
    assert refresh()[0].startswith("tiny 1.0.0: kept")
    assert (
        packs.pack_of(db, packs.find_record(db, "tiny")).kpi("lead_time").name.en
        == "Lead time (en)"
    )


def test_packs_publish_is_idempotent_and_refuses_changed_content_under_the_same_version(
    initialised_settings: Settings, db: Session, tmp_path: Path
) -> None:
    folder = write_pack(tmp_path, tiny_v1())
    record, outcome = packs.publish_pack(db, folder)
    assert (record.label, record.origin, outcome) == ("tiny 1.0.0", "published", "added")
    assert packs.publish_pack(db, folder)[1] == "unchanged"
    (folder / "kpis.yaml").write_text(
        "- {id: lead_time, name: {vi: a, en: b}, unit: d, better: lower}\n"
    )
    with pytest.raises(Conflict, match="publish a new version"):
        packs.publish_pack(db, folder)


def test_packs_publish_reports_every_problem_of_an_invalid_folder(
    initialised_settings: Settings, db: Session, tmp_path: Path
) -> None:
    files = tiny_v1()
    files["capabilities/flows.yaml"][0]["kpis"] = {"no_such_kpi": 3}
    with pytest.raises(InvalidInput, match="no_such_kpi"):
        packs.publish_pack(db, write_pack(tmp_path, files))
    assert db.scalar(select(func.count()).select_from(Assessment)) == 0


def test_packs_a_pinned_version_loads_from_its_snapshot_when_the_folder_is_gone(
    initialised_settings: Settings, db: Session, tmp_path: Path
) -> None:
    folder = write_pack(tmp_path, tiny_v1())
    record, _ = packs.publish_pack(db, folder)
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    packs.forget_cached_packs()
    pack = packs.pack_of(db, record)
    assert (pack.id, pack.version, len(pack.capabilities)) == ("tiny", "1.0.0", 3)


# -- carry-over to a new pack version -------------------------------------------------------------


def test_carry_over_keeps_answers_whose_ids_persist_in_the_new_version(
    world: World, db: Session, people: People, tmp_path: Path
) -> None:
    packs.publish_pack(db, write_pack(tmp_path, tiny_v1()))
    member = people["member"]
    old = service.start_assessment(db, member, "a1", "tiny", "1.0.0")
    answers = {
        "material_flow": AnswerInput(
            met=(
                "material_flow.l1.1",
                "material_flow.l1.2",
                "material_flow.l2.1",
                "material_flow.l2.2",
            ),
            target_level=4,
            notes="kanban board photo",
        ),
        "info_flow": AnswerInput(met=("info_flow.l1.1", "info_flow.l1.2")),
        "legacy_reports": AnswerInput(picked_level=3),
    }
    for item, answer in answers.items():
        service.save_answer(db, member, "a1", old.id, item, answer)
    service.submit_assessment(db, member, "a1", old.id)
    new_record, _ = packs.publish_pack(db, write_pack(tmp_path, tiny_v2()))

    new, report = service.carry_over(db, old, new_record, actor=member)

    assert (new.pack_version, new.status, new.previous_id) == ("1.1.0", "draft", old.id)
    assert report.carried == ("material_flow", "info_flow")
    assert report.dropped_items == ("legacy_reports",)
    assert report.dropped_criteria == ("info_flow.l1.2",)
    assert report.changed == (("info_flow", 1, 0),)  # level 1 now needs info_flow.l1.3
    rows = service.answers_of(db, new.id)
    assert {i: r.level for i, r in rows.items()} == {"material_flow": 2, "info_flow": 0}
    assert (rows["material_flow"].target_level, rows["material_flow"].notes) == (
        4,
        "kanban board photo",
    )


def test_start_assessment_on_a_new_version_carries_the_last_submitted_answers(
    world: World, db: Session, people: People, tmp_path: Path
) -> None:
    packs.publish_pack(db, write_pack(tmp_path, tiny_v1()))
    member = people["member"]
    old = service.start_assessment(db, member, "a1", "tiny")
    service.save_answer(db, member, "a1", old.id, "material_flow", AnswerInput(picked_level=3))
    service.submit_assessment(db, member, "a1", old.id)
    packs.publish_pack(db, write_pack(tmp_path, tiny_v2()))
    new = service.start_assessment(db, member, "a1", "tiny")
    assert (new.pack_version, new.previous_id) == ("1.1.0", old.id)
    assert service.answers_of(db, new.id)["material_flow"].level == 3
    assert service.answers_of(db, old.id)["material_flow"].level == 3  # history unchanged


# -- the workflow ---------------------------------------------------------------------------------


def test_start_assessment_resumes_the_open_draft(world: World, db: Session, people: People) -> None:
    first = service.start_assessment(db, people["member"], "a1", "lighthouse-os")
    again = service.start_assessment(db, people["admin"], "a1", "lighthouse-os")
    assert again.id == first.id
    assert (first.pack_id, first.pack_version, first.status) == ("lighthouse-os", "1.0.0", "draft")


def test_start_assessment_is_denied_to_readers_and_hidden_from_other_tenants(
    world: World, db: Session, people: People
) -> None:
    with pytest.raises(Forbidden):
        service.start_assessment(db, people["assessor"], "a1", "lighthouse-os")
    with pytest.raises(NotFound):
        service.start_assessment(db, people["member"], "b1", "lighthouse-os")
    with pytest.raises(NotFound, match="no registered framework pack"):
        service.start_assessment(db, people["member"], "a1", "no-such-pack")


def test_save_answer_levels_follow_the_cumulative_rule(
    world: World, db: Session, people: People
) -> None:
    member = people["member"]
    row = service.start_assessment(db, member, "a1", "lighthouse-os")
    level_two_and_part_of_four = (*_met(db, SMF, 2), *_met(db, SMF, 4)[-1:])
    saved, rating = service.save_answer(
        db, member, "a1", row.id, SMF, AnswerInput(met=level_two_and_part_of_four)
    )
    assert saved.level == 2
    assert rating is not None
    assert "level 3 is missing" in rating.explanation.en
    assert "do not count" in rating.explanation.en  # the level-4 criterion is ignored
    _, picked = service.save_answer(db, member, "a1", row.id, SW, AnswerInput(picked_level=4))
    assert picked is not None
    assert picked.level == 4
    _, unrated = service.save_answer(
        db, member, "a1", row.id, "quick_changeover", AnswerInput(notes="x")
    )
    assert unrated is None


def test_save_answer_names_every_bad_field(world: World, db: Session, people: People) -> None:
    row = service.start_assessment(db, people["member"], "a1", "lighthouse-os")
    bad = AnswerInput(
        met=("quick_changeover.l1.1",),
        target_level=9,
        confidence="certain",
        links=("ftp://files", "intranet page"),
        kpi_refs=("x" * 101,),
    )
    with pytest.raises(InvalidInput) as caught:
        service.save_answer(db, people["member"], "a1", row.id, SW, bad)
    assert set(caught.value.fields) == {"met", "target_level", "confidence", "links", "kpi_refs"}
    assert service.answers_of(db, row.id) == {}
    with pytest.raises(NotFound):
        service.save_answer(db, people["member"], "a1", row.id, "no_such_capability", AnswerInput())


def test_submit_needs_a_rated_item_then_freezes_the_answers(
    world: World, db: Session, people: People, initialised_settings: Settings
) -> None:
    member = people["member"]
    row = service.start_assessment(db, member, "a1", "lighthouse-os")
    with pytest.raises(InvalidInput, match="rate at least one"):
        service.submit_assessment(db, member, "a1", row.id)
    service.save_answer(db, member, "a1", row.id, SW, AnswerInput(picked_level=2))
    service.submit_assessment(db, member, "a1", row.id)
    with pytest.raises(Conflict):
        service.save_answer(db, member, "a1", row.id, SW, AnswerInput(picked_level=3))
    with pytest.raises(Conflict):
        service.submit_assessment(db, member, "a1", row.id)
    with pytest.raises(Conflict):
        evidence.add_file(
            db,
            initialised_settings,
            member,
            "a1",
            row.id,
            SW,
            filename="a.png",
            stream=io.BytesIO(PNG),
        )
    events = db.scalars(
        select(AuditEvent.action).where(AuditEvent.action == "assessment.submitted")
    )
    assert list(events) == ["assessment.submitted"]


def test_new_assessment_starts_from_the_last_submitted_answers(
    world: World, db: Session, people: People
) -> None:
    member = people["member"]
    first = _submitted(
        db, member, {SW: AnswerInput(picked_level=2, target_level=4, confidence="high")}
    )
    second = service.start_assessment(db, member, "a1", "lighthouse-os")
    assert second.id != first
    assert second.previous_id == first
    copied = service.answers_of(db, second.id)[SW]
    assert (copied.level, copied.target_level, copied.confidence) == (2, 4, "high")


# -- review ---------------------------------------------------------------------------------------


def test_review_keeps_the_self_level_beside_the_reviewed_level(
    world: World, db: Session, people: People
) -> None:
    aid = _submitted(
        db, people["member"], {SW: AnswerInput(picked_level=3), SMF: AnswerInput(picked_level=1)}
    )
    adjust = service.Adjustment(SW, 2, "No takt-based balancing seen on line 2.")
    done = service.review_assessment(
        db, people["assessor"], "a1", aid, [adjust], complete=True, comment="Agreed otherwise."
    )
    assert (done.status, done.review_comment) == ("reviewed", "Agreed otherwise.")
    assert service.answers_of(db, aid)[SW].level == 3
    assert service.reviews_of(db, aid)[SW].reviewed_level == 2
    view = views.assessment_view(db, people["member"], "a1", aid)
    assert view.results.levels == {SW: 2, SMF: 1}  # results use the reviewed level
    with pytest.raises(Conflict, match="complete"):
        service.review_assessment(db, people["assessor"], "a1", aid, [adjust])


def test_review_is_refused_to_members_and_to_drafts(
    world: World, db: Session, people: People
) -> None:
    draft = service.start_assessment(db, people["member"], "a1", "lighthouse-os")
    with pytest.raises(Forbidden):
        service.review_assessment(db, people["member"], "a1", draft.id, complete=True)
    with pytest.raises(Conflict, match="only a submitted"):
        service.review_assessment(db, people["assessor"], "a1", draft.id, complete=True)


def test_review_writes_nothing_when_one_adjustment_is_bad(
    world: World, db: Session, people: People
) -> None:
    aid = _submitted(db, people["member"], {SW: AnswerInput(picked_level=3)})
    good = service.Adjustment(SW, 2, "seen on the floor")
    no_reason = service.Adjustment(SMF, 1, "  ")
    with pytest.raises(InvalidInput) as caught:
        service.review_assessment(
            db, people["assessor"], "a1", aid, [good, no_reason], complete=True
        )
    assert set(caught.value.fields) == {"comment"}
    assert db.scalar(select(func.count()).select_from(ReviewItem)) == 0
    assert db.get(Assessment, aid).status == "submitted"  # type: ignore[union-attr]


# -- results, goals, peers, comparison ------------------------------------------------------------


def test_results_rank_gaps_for_the_goal_and_schedule_them_from_the_next_quarter(
    world: World, db: Session, people: People
) -> None:
    member = people["member"]
    aid = _submitted(
        db,
        member,
        {
            "built_in_quality": AnswerInput(picked_level=1),
            "energy_management": AnswerInput(picked_level=1),
            SW: AnswerInput(picked_level=4, target_level=5),
        },
    )
    goals.set_goal(
        db, member, "a1", "lighthouse-os", GoalSpec({"defect_rate": 3}, {"quality": 100})
    )
    view = views.assessment_view(db, member, "a1", aid)
    ranked = view.results.ranked
    assert ranked[0].item_id == "built_in_quality"
    assert "Ranked #1" in ranked[0].explanation.en
    assert "Xếp hạng #1" in ranked[0].explanation.vi
    assert [r.rank for r in ranked] == [1, 2, 3]
    roadmap = view.results.roadmap
    assert roadmap is not None
    assert roadmap.steps
    submitted_on = view.assessment.submitted_at.date()  # type: ignore[union-attr]
    assert roadmap.start == next_quarter(submitted_on)
    assert {(s.capability_id, s.to_level) for s in roadmap.steps} >= {
        ("built_in_quality", 2),
        (SW, 5),
    }


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 1), (2026, 2)),
        (date(2026, 6, 30), (2026, 3)),
        (date(2026, 12, 31), (2027, 1)),
    ],
)
def test_next_quarter_follows_the_calendar(day: date, expected: tuple[int, int]) -> None:
    assert next_quarter(day) == expected


@pytest.mark.parametrize(
    ("goal", "fields"),
    [
        (GoalSpec({"oee": -1}), {"kpi_weights"}),
        (GoalSpec({"no_such_kpi": 1}), {"kpi_weights"}),
        (GoalSpec({}, {"rent": 10}), {"cost_profile"}),
        (GoalSpec({"oee": float("nan")}), {"kpi_weights"}),
        (GoalSpec(capacity=0), {"capacity"}),
        (GoalSpec(horizon="forever"), set()),  # ignored by capability packs
    ],
)
def test_goal_problems_name_the_bad_field(
    db: Session, goal: GoalSpec, fields: set[str], initialised_settings: Settings
) -> None:
    assert set(goals.goal_problems(_lighthouse(db), goal)) == fields


def test_siri_assessment_ranks_dimensions_with_the_horizon_weights(
    world: World, db: Session, people: People
) -> None:
    member = people["member"]
    row = service.start_assessment(db, member, "a1", "siri")
    for dim, band in (("shop_floor_automation", 1), ("strategy_governance", 3)):
        service.save_answer(db, member, "a1", row.id, dim, AnswerInput(picked_level=band))
    with pytest.raises(InvalidInput):
        service.save_answer(db, member, "a1", row.id, "collaboration", AnswerInput(met=("x",)))
    goals.set_goal(
        db, member, "a1", "siri", GoalSpec({"oee": 1}, horizon="short", industry="electronics")
    )
    view = views.assessment_view(db, member, "a1", row.id)
    assert next(r.item_id for r in view.results.ranked) == "shop_floor_automation"
    assert view.results.roadmap is None
    assert all(not g.official for g in view.results.groups)


def test_peer_median_needs_five_other_sites_of_the_program(
    world: World, db: Session, people: People
) -> None:
    from lighthouse_os.auth.consent import enrol
    from lighthouse_os.auth.tenants import SiteInput, create_site

    levels = [1, 2, 2, 3, 4]
    for n, level in enumerate(levels):
        code = f"peer-{n}"
        create_site(db, org_ref="org-b", data=SiteInput(f"Peer {n}", "2592", code=code))
        enrol(db, program_ref="c4ir", site_ref=code)
        _submitted(db, ROOT, {SW: AnswerInput(picked_level=level)}, site=code)
        view = views.assessment_view(db, ROOT, "a1", _draft_with(db, SW))
        chart = view.results.radar
        if n < 4:  # a1, b1 and 4 peers: b1 has nothing submitted, so 4 sites contribute
            assert chart.peer == ()
    assert chart.peer_sites == 5
    assert chart.peer[0] == 2.0  # adaptable_processes: median of 1, 2, 2, 3, 4
    assert all(v is None for v in chart.peer[1:])


def _draft_with(db: Session, item: str) -> int:
    row = service.start_assessment(db, ROOT, "a1", "lighthouse-os")
    service.save_answer(db, ROOT, "a1", row.id, item, AnswerInput(picked_level=1))
    return row.id


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([{"a": 1.0}] * 4, {}),
        ([{"a": 1.0}, {"a": 2.0}, {"a": 3.0}, {"a": 4.0}, {"a": 5.0, "b": 1.0}], {"a": 3.0}),
        ([{"a": 1.0}, {"a": 2.0}, {"a": 3.0}, {"a": 4.0}, {"a": 5.0}, {"a": 6.0}], {"a": 3.5}),
    ],
)
def test_peer_medians_only_over_at_least_five_sites(
    values: list[dict[str, float]], expected: dict[str, float]
) -> None:
    assert peer_medians(values, 5) == expected


def test_compare_two_assessments_shows_deltas(world: World, db: Session, people: People) -> None:
    member = people["member"]
    first = _submitted(
        db, member, {SW: AnswerInput(picked_level=1), SMF: AnswerInput(picked_level=2)}
    )
    draft = service.start_assessment(db, member, "a1", "lighthouse-os")
    service.save_answer(db, member, "a1", draft.id, SW, AnswerInput(picked_level=3))
    service.save_answer(db, member, "a1", draft.id, "quick_changeover", AnswerInput(picked_level=1))
    found = views.compare(db, people["program"], "a1", draft.id, first)
    assert (found.a.id, found.b.id) == (first, draft.id)
    rows = {r.item_id: (r.a, r.b, r.delta) for r in found.rows}
    assert rows == {SW: (1, 3, 2), SMF: (2, 2, 0), "quick_changeover": (None, 1, None)}
    with pytest.raises(NotFound):
        views.compare(db, people["program"], "b1", draft.id, first)


# -- evidence files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("report.exe", b"MZ", "This file type is not accepted."),
        ("", b"x", "Choose a file to upload."),
        ("empty.pdf", b"", "The file is empty."),
        ("fake.pdf", b"<html>", "The content does not match the file type."),
        ("big.pdf", b"%PDF-" + b"0" * evidence.MAX_FILE_BYTES, "The file is larger than 10 MB."),
        ("latin.csv", "đ".encode("cp1258"), "Text files must be UTF-8."),
    ],
)
def test_evidence_refuses_bad_files(name: str, data: bytes, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        evidence.check_upload(name, data)
    assert caught.value.fields == {"file": problem}


def test_evidence_files_live_in_the_site_folder_and_outlive_a_carried_copy(
    world: World, db: Session, people: People, initialised_settings: Settings
) -> None:
    member, settings = people["member"], initialised_settings
    row = service.start_assessment(db, member, "a1", "lighthouse-os")
    service.save_answer(db, member, "a1", row.id, SW, AnswerInput(picked_level=2))
    stored = evidence.add_file(
        db,
        settings,
        member,
        "a1",
        row.id,
        SW,
        filename="../../etc/board.png",
        stream=io.BytesIO(PNG),
    )
    folder = evidence.site_folder(settings, world.a1)
    assert stored.filename == "board.png"
    assert (folder / stored.stored_name).read_bytes() == PNG
    assert folder.parent.parent == settings.data_dir
    service.submit_assessment(db, member, "a1", row.id)
    draft = service.start_assessment(db, member, "a1", "lighthouse-os")
    copy = db.scalar(select(EvidenceFile).where(EvidenceFile.assessment_id == draft.id))
    assert copy is not None
    assert copy.stored_name == stored.stored_name
    evidence.delete_file(db, settings, member, "a1", draft.id, copy.id)
    assert (folder / stored.stored_name).exists()  # still evidence of the submitted assessment
    _, path = evidence.open_file(db, settings, people["program"], "a1", row.id, stored.id)
    assert path.read_bytes() == PNG
    with pytest.raises(NotFound):
        evidence.open_file(db, settings, member, "a1", draft.id, stored.id)


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_assessment_workflow_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    from lighthouse_os.auth.tenants import SiteInput, create_org, create_site
    from tests.support import make_settings

    settings = make_settings(tmp_path / "data", database_url=postgres_url)
    initialise(settings)
    with sessions(settings) as session:
        create_org(session, name="PG org", kind="manufacturer", code="pg-assess-org")
        create_site(
            session, org_ref="pg-assess-org", data=SiteInput("PG", "2592", code="pg-assess")
        )
        row = service.start_assessment(session, ROOT, "pg-assess", "lighthouse-os")
        met = _met(session, SMF, 2)
        service.save_answer(
            session, ROOT, "pg-assess", row.id, SMF, AnswerInput(met=met, target_level=4)
        )
        service.submit_assessment(session, ROOT, "pg-assess", row.id)
        service.review_assessment(
            session, ROOT, "pg-assess", row.id, [service.Adjustment(SMF, 1, "kanban not used")],
            complete=True,
        )  # fmt: skip
        view = views.assessment_view(session, ROOT, "pg-assess", row.id)
        assert view.results.levels == {SMF: 1}
        assert view.results.ranked[0].gap is not None
        assert view.results.ranked[0].gap.target == 4
        assert session.scalar(select(Answer.met).where(Answer.assessment_id == row.id)) == list(met)
