"""Summaries of the built-in framework packs (ids, versions, content counts, validity)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lighthouse_os.framework import pack as p
from lighthouse_os.framework.loader import PACKS_DIR, PackRef, available_packs, load_pack
from lighthouse_os.framework.problem import PackInvalidError


@dataclass(frozen=True)
class PackSummary:
    """One pack version: identity, whether it is valid, and how much content it holds."""

    id: str
    version: str
    path: Path
    method: str | None
    title: p.Text | None
    problems: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """True when the pack loaded without problems."""
        return self.problems == 0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        title = None if self.title is None else {"vi": self.title.vi, "en": self.title.en}
        return {
            "id": self.id,
            "version": self.version,
            "path": str(self.path),
            "method": self.method,
            "title": title,
            "valid": self.valid,
            "problems": self.problems,
            "counts": dict(self.counts),
        }


def pack_counts(pack: p.Pack) -> dict[str, int]:
    """Counts of the pack's content, named after the method's own terms."""
    if isinstance(pack, p.SiriPack):
        return {
            "blocks": len(pack.blocks),
            "pillars": sum(len(b.areas) for b in pack.blocks),
            "dimensions": len(pack.dimensions),
            "bands": sum(len(d.bands) for d in pack.dimensions),
            "kpis": len(pack.kpis),
        }
    return {
        "principles": len(pack.principles),
        "areas": sum(len(pr.areas) for pr in pack.principles),
        "capabilities": len(pack.capabilities),
        "criteria": sum(len(lv.criteria) for c in pack.capabilities for lv in c.levels),
        "use_cases": len(pack.use_cases),
        "kpis": len(pack.kpis),
    }


def summarise(ref: PackRef) -> PackSummary:
    """Load ``ref`` and summarise it; an invalid pack is summarised with its problem count."""
    try:
        pack = load_pack(ref.path)
    except PackInvalidError as err:
        return PackSummary(ref.id, ref.version, ref.path, None, None, len(err.problems))
    return PackSummary(ref.id, ref.version, ref.path, pack.method, pack.title, 0, pack_counts(pack))


def pack_summaries(root: Path = PACKS_DIR) -> list[PackSummary]:
    """Summaries of every pack version under ``root``."""
    return [summarise(ref) for ref in available_packs(root)]
