"""One answer of an assessment: its checks, its level and how it carries over to a new pack version.

Pure core (standard library and the other cores only). An answer rates a capability either by
the criteria met (levels are cumulative, see ``scoring.cumulative_level``) or by a level picked
directly; a SIRI dimension is always rated by picking its band. An answer with neither is not
rated, and scoring leaves it out of every mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlparse

from lighthouse_os.assessment.scoring import (
    score_capability,
    score_capability_picked,
    score_dimension,
)
from lighthouse_os.framework.pack import CapabilityPack, Pack, SiriPack, Text
from lighthouse_os.text import N_

CONFIDENCE = ("low", "medium", "high")
MAX_NOTES = 4000
MAX_LINKS = 10
MAX_LINK_CHARS = 500
MAX_KPI_REFS = 10
MAX_KPI_REF_CHARS = 100


@dataclass(frozen=True)
class AnswerInput:
    """What a member states for one item; ``picked_level`` wins over ``met`` when both are set."""

    met: tuple[str, ...] = ()
    picked_level: int | None = None
    target_level: int | None = None
    confidence: str = ""
    notes: str = ""
    links: tuple[str, ...] = ()
    kpi_refs: tuple[str, ...] = ()

    @property
    def rated(self) -> bool:
        """True when the answer states a level (picked, or at least one criterion met)."""
        return self.picked_level is not None or bool(self.met)


@dataclass(frozen=True)
class Rating:
    """The self-assessed level of an item and its explanation in both languages."""

    level: int
    explanation: Text


def item_ids(pack: Pack) -> tuple[str, ...]:
    """The items an assessment of ``pack`` rates: capabilities or dimensions, in pack order."""
    if isinstance(pack, SiriPack):
        return tuple(d.id for d in pack.dimensions)
    return tuple(c.id for c in pack.capabilities)


def max_level(pack: Pack, item_id: str) -> int:
    """Top level (capability) or band (dimension) of an item; KeyError if the pack lacks it."""
    if isinstance(pack, SiriPack):
        return len(pack.dimension(item_id).bands) - 1
    return pack.capability(item_id).max_level


def _level_problem(value: int | None, top: int, lowest: int) -> str | None:
    if value is None or lowest <= value <= top:
        return None
    return N_("Choose a level within the range of this item.")


def _link_problem(links: tuple[str, ...]) -> str | None:
    if len(links) > MAX_LINKS:
        return N_("At most 10 links per item.")
    for link in links:
        parsed = urlparse(link)
        if (
            len(link) > MAX_LINK_CHARS
            or parsed.scheme not in ("http", "https")
            or not parsed.netloc
        ):
            return N_("Each link must be a full http:// or https:// address.")
    return None


def _kpi_ref_problem(refs: tuple[str, ...]) -> str | None:
    if len(refs) > MAX_KPI_REFS or any(len(r) > MAX_KPI_REF_CHARS or not r.strip() for r in refs):
        return N_("At most 10 KPI references of up to 100 characters each.")
    return None


def _met_problem(pack: Pack, item_id: str, met: tuple[str, ...]) -> str | None:
    if not met:
        return None
    if isinstance(pack, SiriPack):
        return N_("SIRI dimensions are rated by choosing a band, not by criteria.")
    known = {c.id for lv in pack.capability(item_id).levels for c in lv.criteria}
    if any(c not in known for c in met):
        return N_("Some ticked criteria do not belong to this capability.")
    return None


def answer_problems(pack: Pack, item_id: str, answer: AnswerInput) -> dict[str, str]:
    """Field -> problem (an English msgid) for every invalid part of ``answer``; {} when valid.

    KeyError when ``item_id`` is not an item of ``pack``.
    """
    top = max_level(pack, item_id)
    found = {
        "met": _met_problem(pack, item_id, answer.met),
        "picked_level": _level_problem(answer.picked_level, top, 0),
        "target_level": _level_problem(answer.target_level, top, 1),
        "confidence": None if answer.confidence in ("", *CONFIDENCE) else N_("Unknown confidence."),
        "notes": N_("Notes are limited to 4000 characters.")
        if len(answer.notes) > MAX_NOTES
        else None,
        "links": _link_problem(answer.links),
        "kpi_refs": _kpi_ref_problem(answer.kpi_refs),
    }
    return {name: problem for name, problem in found.items() if problem is not None}


def rate(pack: Pack, item_id: str, answer: AnswerInput) -> Rating | None:
    """The self-assessed level of a valid answer, or None when it is not rated.

    Capability: picked level, else cumulative level from the met criteria (WEF Lighthouse OS
    2025, levels are cumulative). SIRI dimension: the band picked (integer 0..5).
    """
    if isinstance(pack, SiriPack):
        if answer.picked_level is None:
            return None
        band = score_dimension(pack.dimension(item_id), answer.picked_level)
        return Rating(band.band, band.text)
    capability = pack.capability(item_id)
    if answer.picked_level is not None:
        score = score_capability_picked(capability, answer.picked_level)
    elif answer.met:
        score = score_capability(capability, answer.met)
    else:
        return None
    return Rating(score.level, score.explanation.text)


@dataclass(frozen=True)
class CarryOver:
    """What happened to each answer when moving to a new pack version.

    ``carried`` items keep their answer; ``dropped_items`` no longer exist in the new version;
    ``dropped_criteria`` were met but no longer exist; ``changed`` lists (item, old level, new
    level) where the level moved because the criteria changed.
    """

    carried: tuple[str, ...]
    dropped_items: tuple[str, ...]
    dropped_criteria: tuple[str, ...]
    changed: tuple[tuple[str, int | None, int | None], ...]


def _adapt(pack: Pack, item_id: str, answer: AnswerInput) -> tuple[AnswerInput, tuple[str, ...]]:
    top = max_level(pack, item_id)
    known: set[str] = set()
    if isinstance(pack, CapabilityPack):
        known = {c.id for lv in pack.capability(item_id).levels for c in lv.criteria}
    kept = tuple(c for c in answer.met if c in known)
    dropped = tuple(c for c in answer.met if c not in known)
    picked = (
        answer.picked_level if answer.picked_level is None or answer.picked_level <= top else top
    )
    target = None if answer.target_level is None else min(answer.target_level, top)
    return replace(answer, met=kept, picked_level=picked, target_level=target), dropped


def carry_answers(
    pack: Pack, answers: Mapping[str, AnswerInput], old_levels: Mapping[str, int | None]
) -> tuple[dict[str, AnswerInput], CarryOver]:
    """Move answers onto ``pack`` by stable ids: an item carries over when its id persists, a
    met criterion when its id persists; levels above the new top are capped to it."""
    present = set(item_ids(pack))
    carried: dict[str, AnswerInput] = {}
    dropped_criteria: list[str] = []
    changed = []
    for item_id, answer in answers.items():
        if item_id not in present:
            continue
        adapted, dropped = _adapt(pack, item_id, answer)
        carried[item_id] = adapted
        dropped_criteria += dropped
        rating = rate(pack, item_id, adapted)
        new_level = None if rating is None else rating.level
        if new_level != old_levels.get(item_id):
            changed.append((item_id, old_levels.get(item_id), new_level))
    report = CarryOver(
        carried=tuple(carried),
        dropped_items=tuple(sorted(set(answers) - present)),
        dropped_criteria=tuple(dropped_criteria),
        changed=tuple(changed),
    )
    return carried, report
