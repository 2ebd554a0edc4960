"""VSIC 2018 manufacturing divisions (section C), to name a site's sector from its code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

VSIC_FILE = Path(__file__).with_name("vsic2018_manufacturing.yaml")


@dataclass(frozen=True)
class Sector:
    """A VSIC code and the name of its division in both languages."""

    code: str
    vi: str
    en: str


@cache
def _divisions() -> dict[str, tuple[str, str]]:
    data = yaml.safe_load(VSIC_FILE.read_text(encoding="utf-8"))
    return {str(d["code"]): (d["vi"], d["en"]) for d in data["divisions"]}


def sector(code: str) -> Sector | None:
    """The division of a VSIC code (2 to 5 digits, optionally prefixed 'C'), or None."""
    digits = code.strip().upper().removeprefix("C")
    if not digits.isdigit() or not 2 <= len(digits) <= 5:
        return None
    names = _divisions().get(digits[:2])
    return Sector(digits, *names) if names else None
