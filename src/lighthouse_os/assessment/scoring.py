"""Assessment scoring: cumulative capability levels, area/principle means, SIRI bands (pure core).

Rules (WEF Lighthouse Operating System, April 2025: maturity levels are cumulative, each level
includes the criteria of the one below):

- capability level = the highest L in 0..5 such that every criterion of levels 1..L is met; a
  missing criterion at level k caps the level at k - 1 whatever is met above it;
- an assessor may instead pick a level directly (recorded as such in the explanation);
- area / principle score = arithmetic mean of the levels of its *assessed* capabilities;
  unassessed capabilities are excluded from the mean and listed and counted separately;
- SIRI: each dimension gets an integer band 0..5 chosen directly. SIRI has no official
  composite score; the pillar / block means here are this project's, and say so.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from lighthouse_os.framework.pack import (
    Capability,
    CapabilityPack,
    Dimension,
    Lang,
    Principle,
    SiriPack,
    Text,
)

MIN_LEVEL = 0
MAX_BAND = 5


def _num(value: float, lang: Lang) -> str:
    # Vietnamese writes the decimal separator as a comma.
    text = f"{value:.2f}"
    return text.replace(".", ",") if lang == "vi" else text


@dataclass(frozen=True)
class LevelExplanation:
    """How a capability level was obtained.

    ``first_unmet_level`` is the lowest level with a missing criterion (None when every level is
    met or the level was picked); ``missing`` are its unmet criterion ids; ``ignored`` are
    criteria met above it, which do not count because levels are cumulative.
    """

    method: Literal["criteria", "picked"]
    level: int
    max_level: int
    first_unmet_level: int | None = None
    missing: tuple[str, ...] = ()
    total_at_unmet: int = 0
    ignored: tuple[str, ...] = ()

    @property
    def text(self) -> Text:
        """The explanation in Vietnamese and English."""
        return Text(vi=self._render("vi"), en=self._render("en"))

    def _render(self, lang: Lang) -> str:
        lv, top = self.level, self.max_level
        if self.method == "picked":
            return (
                f"Mức {lv} do người đánh giá chọn trực tiếp."
                if lang == "vi"
                else f"Level {lv} picked directly by the assessor."
            )
        if self.first_unmet_level is None:
            return (
                f"Mức {lv}: đạt mọi tiêu chí của các mức 1–{top}."
                if lang == "vi"
                else f"Level {lv}: every criterion of levels 1–{top} is met."
            )
        return self._render_gap(lang)

    def _render_gap(self, lang: Lang) -> str:
        lv, nxt = self.level, self.first_unmet_level
        ids, k, n = ", ".join(self.missing), len(self.missing), self.total_at_unmet
        if lang == "vi":
            head = f"Mức {lv}: " + (f"đạt mọi tiêu chí của mức 1–{lv}; " if lv else "")
            text = f"{head}mức {nxt} còn thiếu {ids} ({k}/{n} tiêu chí chưa đạt)."
            if self.ignored:
                text += (
                    f" {len(self.ignored)} tiêu chí đạt ở mức cao hơn chưa được tính"
                    f" cho đến khi hoàn thành mức {nxt}."
                )
            return text
        head = f"Level {lv}: " + (f"every criterion of levels 1–{lv} is met; " if lv else "")
        text = f"{head}level {nxt} is missing {ids} ({k} of {n} criteria unmet)."
        if self.ignored:
            text += (
                f" {len(self.ignored)} criteria met at higher levels do not count"
                f" until level {nxt} is complete."
            )
        return text


@dataclass(frozen=True)
class CapabilityScore:
    """The level of one capability and how it was obtained."""

    capability_id: str
    level: int
    explanation: LevelExplanation


def cumulative_level(levels: Sequence[Sequence[str]], met: Collection[str]) -> LevelExplanation:
    """Level from criteria: ``levels[i]`` holds the criterion ids of level i + 1.

    Formula: L = max{l in 0..n : every criterion of levels 1..l is in ``met``}, n = len(levels).
    Unit: maturity level (integer). Source: WEF Lighthouse OS (2025), cumulative levels.
    """
    met_set = set(met)
    for index, criteria in enumerate(levels):
        missing = tuple(c for c in criteria if c not in met_set)
        if missing:
            above = [c for lv in levels[index + 1 :] for c in lv if c in met_set]
            return LevelExplanation(
                "criteria", index, len(levels), index + 1, missing, len(criteria), tuple(above)
            )
    return LevelExplanation("criteria", len(levels), len(levels))


def score_capability(capability: Capability, met: Collection[str]) -> CapabilityScore:
    """Score ``capability`` from the met criterion ids (ids of other capabilities are ignored).

    Formula and source: see ``cumulative_level``.
    """
    ids = [[c.id for c in level.criteria] for level in capability.levels]
    explanation = cumulative_level(ids, met)
    return CapabilityScore(capability.id, explanation.level, explanation)


def score_capability_picked(capability: Capability, level: int) -> CapabilityScore:
    """Record a level the assessor picked directly; ValueError outside 0..max level."""
    if not MIN_LEVEL <= level <= capability.max_level:
        raise ValueError(
            f"level {level} of {capability.id} is outside {MIN_LEVEL}..{capability.max_level}"
        )
    explanation = LevelExplanation("picked", level, capability.max_level)
    return CapabilityScore(capability.id, level, explanation)


def score_assessment(pack: CapabilityPack, met: Collection[str]) -> dict[str, CapabilityScore]:
    """Score every capability of ``pack``; ValueError if a met id is no criterion of the pack."""
    known = {c.id for cap in pack.capabilities for lv in cap.levels for c in lv.criteria}
    unknown = sorted(set(met) - known)
    if unknown:
        raise ValueError(f"unknown criterion ids: {', '.join(unknown)}")
    return {cap.id: score_capability(cap, met) for cap in pack.capabilities}


@dataclass(frozen=True)
class AggregateScore:
    """Mean level of a group (area, principle, pillar, block) over its assessed members.

    ``mean`` is None when no member is assessed. ``official`` is False for SIRI groups, for which
    no official composite exists.
    """

    scope: str
    scope_id: str
    mean: float | None
    assessed: tuple[tuple[str, int], ...]
    unassessed: tuple[str, ...]
    official: bool = True

    @property
    def text(self) -> Text:
        """How the mean was computed, in Vietnamese and English."""
        return Text(vi=self._render("vi"), en=self._render("en"))

    def _render(self, lang: Lang) -> str:
        if self.mean is None:
            return "Chưa có mục nào được đánh giá." if lang == "vi" else "Nothing assessed yet."
        parts = ", ".join(f"{i}={lv}" for i, lv in self.assessed)
        n, m = len(self.assessed), len(self.unassessed)
        if lang == "vi":
            text = f"Trung bình của {n} mục đã đánh giá = {_num(self.mean, lang)} ({parts})."
            if m:
                text += (
                    f" {m} mục chưa đánh giá bị loại khỏi phép tính: {', '.join(self.unassessed)}."
                )
            if not self.official:
                text += " Đây là trung bình của dự án, không phải điểm SIRI chính thức."
            return text
        text = f"Mean of {n} assessed items = {_num(self.mean, lang)} ({parts})."
        if m:
            text += f" {m} not assessed, excluded: {', '.join(self.unassessed)}."
        if not self.official:
            text += " This is the project's mean, not an official SIRI score."
        return text


def mean_score(
    scope: str,
    scope_id: str,
    member_ids: Sequence[str],
    levels: Mapping[str, int],
    *,
    official: bool = True,
) -> AggregateScore:
    """Mean of ``levels`` over the members present in it.

    Formula: mean = (1/n) * sum of levels of the n assessed members; unassessed members (absent
    from ``levels``) are excluded and listed. Unit: maturity level or band (0..5).
    """
    assessed = tuple((m, levels[m]) for m in member_ids if m in levels)
    unassessed = tuple(m for m in member_ids if m not in levels)
    mean = sum(lv for _, lv in assessed) / len(assessed) if assessed else None
    return AggregateScore(scope, scope_id, mean, assessed, unassessed, official)


def _levels(scores: Mapping[str, CapabilityScore]) -> dict[str, int]:
    return {cap_id: score.level for cap_id, score in scores.items()}


def score_areas(
    pack: CapabilityPack, scores: Mapping[str, CapabilityScore]
) -> tuple[AggregateScore, ...]:
    """Mean level per key improvement area (see ``mean_score``)."""
    levels = _levels(scores)
    return tuple(
        mean_score("area", area.id, _members(pack, principle, area.id), levels)
        for principle in pack.principles
        for area in principle.areas
    )


def score_principles(
    pack: CapabilityPack, scores: Mapping[str, CapabilityScore]
) -> tuple[AggregateScore, ...]:
    """Mean level per principle over all its capabilities (see ``mean_score``)."""
    levels = _levels(scores)
    return tuple(
        mean_score("principle", pr.id, _members(pack, pr, None), levels) for pr in pack.principles
    )


def _members(pack: CapabilityPack, principle: Principle, area_id: str | None) -> list[str]:
    return [
        c.id
        for c in pack.capabilities
        if c.principle == principle.id and (area_id is None or c.area == area_id)
    ]


@dataclass(frozen=True)
class BandScore:
    """A SIRI-style band chosen directly for a dimension, with what that band means."""

    dimension_id: str
    band: int
    name: Text
    description: Text

    @property
    def text(self) -> Text:
        """The band and its meaning, in Vietnamese and English."""
        return Text(
            vi=f"Bậc {self.band} ({self.name.vi}), do người đánh giá chọn: {self.description.vi}",
            en=f"Band {self.band} ({self.name.en}), chosen by the assessor: {self.description.en}",
        )


def score_dimension(dimension: Dimension, band: int) -> BandScore:
    """Record the band (integer 0..5) chosen for ``dimension``; ValueError outside 0..5."""
    if not MIN_LEVEL <= band <= MAX_BAND or band >= len(dimension.bands):
        raise ValueError(f"band {band} of {dimension.id} is outside {MIN_LEVEL}..{MAX_BAND}")
    spec = dimension.bands[band]
    return BandScore(dimension.id, band, spec.name, spec.description)


def score_siri_groups(pack: SiriPack, bands: Mapping[str, int]) -> tuple[AggregateScore, ...]:
    """Unofficial mean band per pillar, then per block (see ``mean_score``; ``official=False``)."""
    pillars = tuple(
        mean_score(
            "pillar",
            pillar.id,
            [d.id for d in pack.dimensions if d.block == block.id and d.pillar == pillar.id],
            bands,
            official=False,
        )
        for block in pack.blocks
        for pillar in block.areas
    )
    blocks = tuple(
        mean_score(
            "block",
            block.id,
            [d.id for d in pack.dimensions if d.block == block.id],
            bands,
            official=False,
        )
        for block in pack.blocks
    )
    return pillars + blocks
