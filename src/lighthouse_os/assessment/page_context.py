"""What the assessment pages show: form parsing and template contexts (no SQL, no access rules)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from lighthouse_os.assessment import service, views
from lighthouse_os.assessment.answers import AnswerInput, Rating
from lighthouse_os.assessment.models import Answer, EvidenceFile, ReviewItem
from lighthouse_os.assessment.results import GoalSpec
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.policy import Principal
from lighthouse_os.errors import InvalidInput
from lighthouse_os.framework.pack import CapabilityPack, Criterion, Pack, SiriPack, Text
from lighthouse_os.text import N_
from lighthouse_os.web.templating import render

SUBMIT_EMPTY = N_("Rate at least one capability before submitting.")
NOT_A_NUMBER = N_("Enter a whole number.")


def safe_next(target: str, default: str) -> str:
    """A same-site path, else ``default`` (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else default


# -- forms ------------------------------------------------------------------------------------


def _optional_int(value: str, name: str, problems: dict[str, str]) -> int | None:
    text = value.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        problems[name] = NOT_A_NUMBER
        return None


def _lines(value: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in value.splitlines() if line.strip())


def answer_from_form(form: FormData) -> AnswerInput:
    """The wizard's fields: ``met`` (checkboxes), ``level_choice`` ('' = from the criteria),
    ``target``, ``confidence``, ``notes``, ``links`` and ``kpi_refs`` (one per line)."""
    problems: dict[str, str] = {}
    picked = _optional_int(str(form.get("level_choice", "")), "picked_level", problems)
    target = _optional_int(str(form.get("target", "")), "target_level", problems)
    if problems:
        raise InvalidInput("the answer is not valid", fields=problems)
    return AnswerInput(
        met=tuple(str(v) for v in form.getlist("met")),
        picked_level=picked,
        target_level=target,
        confidence=str(form.get("confidence", "")),
        notes=str(form.get("notes", "")).strip(),
        links=_lines(str(form.get("links", ""))),
        kpi_refs=_lines(str(form.get("kpi_refs", "")).replace(",", "\n")),
    )


def review_from_form(form: FormData) -> tuple[list[service.Adjustment], bool, str]:
    """``action`` = adjust (``item_id``, ``level``, ``comment``) or complete (``comment``)."""
    comment = str(form.get("comment", ""))
    if form.get("action") == "complete":
        return [], True, comment
    problems: dict[str, str] = {}
    level = _optional_int(str(form.get("level", "")), "level", problems)
    item = str(form.get("item_id", ""))
    # A missing level is sent as -1, which the service rejects beside the field.
    return [service.Adjustment(item, -1 if level is None else level, comment)], False, comment


def review_errors(form: FormData, err: InvalidInput) -> dict[str, Any]:
    """Errors of a review form, keyed so the template shows them beside the right row."""
    return {"review_item": str(form.get("item_id", "")), "review": err.fields}


def _number(value: str) -> float:
    try:
        number = float(value.replace(",", ".")) if value.strip() else 0.0
    except ValueError:
        return math.nan  # the goal check reports it beside the field
    return number


def goal_from_form(form: FormData) -> tuple[str, GoalSpec, str]:
    """(pack id, goal, next page) from ``kpi.<id>`` and ``cost.<id>`` fields and the rest."""
    kpis = {k[4:]: _number(str(v)) for k, v in form.items() if k.startswith("kpi.")}
    costs = {k[5:]: _number(str(v)) for k, v in form.items() if k.startswith("cost.")}
    capacity = str(form.get("capacity", "2")).strip()
    spec = GoalSpec(
        kpi_weights={k: v for k, v in kpis.items() if v != 0},
        cost_profile={k: v for k, v in costs.items() if v != 0},
        horizon=str(form.get("horizon", "")),
        industry=str(form.get("industry", "")),
        capacity=int(capacity) if capacity.isdigit() else 0,
    )
    return str(form.get("pack", "lighthouse-os")), spec, str(form.get("next", ""))


def goal_context(
    site: Site,
    pack: Pack,
    goal: GoalSpec,
    next_url: str,
    errors: Mapping[str, str] | None = None,
    form: FormData | None = None,
) -> dict[str, Any]:
    """Context of the goal form; ``form`` re-fills what the person typed after an error."""
    typed = {k: str(v) for k, v in form.items()} if form is not None else {}
    return {
        "site": site,
        "pack": pack,
        "goal": goal,
        "is_siri": isinstance(pack, SiriPack),
        "next": safe_next(next_url, f"/sites/{site.id}/assessments"),
        "errors": dict(errors or {}),
        "typed": typed,
    }


# -- wizard -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelOption:
    """A level the member can pick, with what it means and (capabilities) its criteria."""

    value: int
    name: Text
    summary: Text
    criteria: tuple[Criterion, ...] = ()


@dataclass(frozen=True)
class StepItem:
    """One capability or dimension on a wizard page."""

    id: str
    name: Text
    description: Text
    area: Text | None
    options: tuple[LevelOption, ...]
    answer: Answer | None
    explanation: Text | None
    review: ReviewItem | None
    files: list[EvidenceFile] = field(default_factory=list)
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_capability(self) -> bool:
        """True when the item is rated by criteria as well as by picking."""
        return any(o.criteria for o in self.options)

    @property
    def met(self) -> frozenset[str]:
        """Criteria ticked so far."""
        return frozenset(self.answer.met if self.answer else ())


@dataclass(frozen=True)
class Group:
    """A wizard step: a principle (capability packs) or a building block (SIRI)."""

    id: str
    number: int
    name: Text
    item_ids: tuple[str, ...]


def groups_of(pack: Pack) -> tuple[Group, ...]:
    """Wizard steps in order, each with its items in pack order."""
    if isinstance(pack, SiriPack):
        return tuple(
            Group(b.id, b.number, b.name, tuple(d.id for d in pack.dimensions if d.block == b.id))
            for b in pack.blocks
        )
    return tuple(
        Group(p.id, p.number, p.name, _ordered(pack, p.id, [a.id for a in p.areas]))
        for p in pack.principles
    )


def _ordered(pack: CapabilityPack, principle: str, areas: list[str]) -> tuple[str, ...]:
    caps = [c for c in pack.capabilities if c.principle == principle]
    return tuple(c.id for c in sorted(caps, key=lambda c: areas.index(c.area)))


def _options(pack: Pack, item_id: str) -> tuple[LevelOption, ...]:
    if isinstance(pack, SiriPack):
        dim = pack.dimension(item_id)
        return tuple(LevelOption(b.band, b.name, b.description) for b in dim.bands)
    cap = pack.capability(item_id)
    names = {lv.level: lv for lv in pack.levels}
    zero = LevelOption(0, names[0].name, names[0].description)
    levels = [
        LevelOption(lv.level, names[lv.level].name, lv.summary, lv.criteria) for lv in cap.levels
    ]
    return (zero, *levels)


def _item(view: views.AssessmentView, item_id: str, errors: Mapping[str, str]) -> StepItem:
    pack = view.pack
    if isinstance(pack, SiriPack):
        dim = pack.dimension(item_id)
        name, description, area = dim.name, dim.description, _area(pack, dim.block, dim.pillar)
    else:
        cap = pack.capability(item_id)
        name, description, area = cap.name, cap.description, _area(pack, cap.principle, cap.area)
    return StepItem(
        item_id,
        name,
        description,
        area,
        _options(pack, item_id),
        view.answers.get(item_id),
        view.explanations.get(item_id),
        view.reviews.get(item_id),
        view.files.get(item_id, []),
        errors,
    )


def _area(pack: Pack, group_id: str, area_id: str) -> Text | None:
    groups = pack.blocks if isinstance(pack, SiriPack) else pack.principles
    for group in groups:
        for area in group.areas:
            if group.id == group_id and area.id == area_id:
                return area.name
    return None


def _find_group(groups: tuple[Group, ...], wanted: str) -> int:
    if wanted == "first":
        return 0
    for index, group in enumerate(groups):
        if wanted == group.id or wanted in group.item_ids:  # an item id opens its step
            return index
    raise InvalidInput(f"no step {wanted!r} in this assessment")


def step_context(
    view: views.AssessmentView, group_id: str, errors: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, Any]:
    """Context of one wizard page (read-only when the assessment is not an editable draft)."""
    groups = groups_of(view.pack)
    index = _find_group(groups, group_id)
    group = groups[index]
    rated = {i for i, a in view.answers.items() if a.level is not None}
    return {
        "view": view,
        "group": group,
        "groups": [(g, sum(1 for i in g.item_ids if i in rated)) for g in groups],
        "items": [_item(view, i, (errors or {}).get(i, {})) for i in group.item_ids],
        "previous": groups[index - 1] if index > 0 else None,
        "next": groups[index + 1] if index + 1 < len(groups) else None,
        "level_names": {lv.level: lv.name for lv in view.pack.levels},
    }


def item_url(site_id: int, assessment_id: int, item_id: str) -> str:
    """The wizard page holding ``item_id``, scrolled to it."""
    step = item_id or "first"
    return f"/sites/{site_id}/assessments/{assessment_id}/steps/{step}#item-{item_id}"


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def item_saved(request: Request, ids: tuple[int, int, str], rating: Rating | None) -> Response:
    """HTMX: the item's status line; a plain form: back to the wizard page."""
    if not _is_htmx(request):
        return RedirectResponse(item_url(*ids), status_code=303)
    context: dict[str, Any] = {
        "item_id": ids[2],
        "level": None if rating is None else rating.level,
        "explanation": None if rating is None else rating.explanation,
        "errors": {},
        "saved": True,
        "oob": True,
    }
    return render(request, "assessment/_item_status.html", context)


def item_problem(
    request: Request,
    session: Session,
    principal: Principal,
    ids: tuple[int, int, str],
    err: InvalidInput,
) -> Response:
    """Show why an answer was not saved, beside its fields."""
    site_id, assessment_id, item_id = ids
    if _is_htmx(request):
        # 200, not 422: htmx swaps only successful responses, and the message must show.
        context: dict[str, Any] = {"item_id": item_id, "errors": err.fields, "oob": True}
        return render(request, "assessment/_item_status.html", context)
    view = views.assessment_view(session, principal, site_id, assessment_id)
    context = step_context(view, item_id, {item_id: err.fields})
    return render(request, "assessment/step.html", context, status_code=err.status)


# -- results ------------------------------------------------------------------------------------


def _radar_json(view: views.AssessmentView) -> dict[str, Any]:
    # Labels are added in the template, which knows the page's language.
    chart = view.results.radar
    return {
        "current": list(chart.current),
        "target": list(chart.target),
        "peer": list(chart.peer),
        "max": 5,
    }


def results_context(
    view: views.AssessmentView, errors: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Context of the results page: scores, chart data, gaps, roadmap, review."""
    pack = view.pack
    groups = groups_of(pack)
    return {
        "view": view,
        "results": view.results,
        "groups": groups,
        "group_names": {g.id: g.name for g in groups},
        "item_names": _item_names(pack),
        "area_names": _area_names(pack),
        "area_ids": _area_ids(pack),
        "kpi_names": {k.id: k.name for k in pack.kpis},
        "level_names": {lv.level: lv.name for lv in pack.levels},
        "is_siri": isinstance(pack, SiriPack),
        "radar": _radar_json(view),
        "errors": dict(errors or {}),
    }


def _item_names(pack: Pack) -> dict[str, Text]:
    if isinstance(pack, SiriPack):
        return {d.id: d.name for d in pack.dimensions}
    return {c.id: c.name for c in pack.capabilities}


def _area_names(pack: Pack) -> dict[str, Text]:
    groups = pack.blocks if isinstance(pack, SiriPack) else pack.principles
    return {a.id: a.name for g in groups for a in g.areas}


def _area_ids(pack: Pack) -> dict[str, list[str]]:
    groups = pack.blocks if isinstance(pack, SiriPack) else pack.principles
    return {g.id: [a.id for a in g.areas] for g in groups}
