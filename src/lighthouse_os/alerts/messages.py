"""Translatable alert messages (pure): what an alert raised by the platform itself (not by a
user's rule) says, stored as a key and its arguments and rendered in the reader's language.

A rule's alert is titled with the rule's name, which its author wrote. Environmental alerts
(QCVN limits, monitoring feed gaps) have no author: their title and detail are catalogued
messages (`N_`), filled in with the finding's facts (station, parameter, value, limit) when they
are shown, so the same alert reads in Vietnamese or English. The caller brings the language: a
gettext and a number format (`service.wording` uses the UI catalogs and Babel). The English
rendering is stored as the alert's `title`, for logs and for readers of the raw table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lighthouse_os.text import N_

Arg = str | float | int | bool | None
Translate = Callable[[str], str]

# key → (title, detail sentences); `{name}` placeholders are the message's arguments.
TEMPLATES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "air_exceedance": (
        N_("{parameter} above the QCVN 05:2023 {averaging} limit at {station}"),
        (N_("The {averaging} mean was {value} {unit}; QCVN 05:2023/BTNMT allows {limit} {unit}."),),
    ),
    "effluent_above": (
        N_("{parameter} above the {standard} limit at {station}"),
        (
            N_(
                "The hourly mean was {value} {unit}; {standard} column {column} allows at most"
                " {high} {unit} (coefficient {factor})."
            ),
        ),
    ),
    "effluent_outside": (
        N_("{parameter} outside the {standard} range at {station}"),
        (
            N_(
                "The hourly mean was {value} {unit}; {standard} column {column} allows {low} to"
                " {high} {unit}."
            ),
        ),
    ),
    "feed_gap": (
        N_("No data from monitoring station {station}"),
        (
            N_(
                "The station should send a file every {interval} minutes"
                " (Circular 10/2021/TT-BTNMT); none came for {silence} minutes after one was due."
            ),
        ),
    ),
}
PROVISIONAL = N_(
    "Provisional: {standard} has been replaced and its successor's table is not loaded yet."
)
# Arguments that are codes with a catalogued wording.
WORDED: Mapping[str, Mapping[str, str]] = {
    "averaging": {"1h": N_("1-hour"), "8h": N_("8-hour"), "24h": N_("24-hour")},
}
NUMBERS = ("value", "limit", "low", "high", "factor", "interval", "silence")
_LOOSE = re.compile(r"\s+([;.,)])")


@dataclass(frozen=True)
class AlertMessage:
    """A catalogued message (`key` of `TEMPLATES`) and its arguments."""

    key: str
    args: Mapping[str, Arg] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.key not in TEMPLATES:
            raise ValueError(f"unknown alert message {self.key!r}")

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "args": dict(self.args)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> AlertMessage | None:
        """The stored message, None for alerts without one (or with a key no longer known)."""
        if not data or data.get("key") not in TEMPLATES:
            return None
        return cls(str(data["key"]), dict(data.get("args") or {}))


def english_number(value: float) -> str:
    """1234.5 → "1,234.5": at most two decimals, like Babel's "#,##0.##" in English (the stored
    title; what people read goes through Babel in their locale)."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _fill(template: str, args: Mapping[str, str], translate: Translate) -> str:
    text = translate(template).format_map(args)
    return _LOOSE.sub(r"\1", " ".join(text.split()))  # an empty unit (pH) leaves no gap


def render(
    message: AlertMessage, translate: Translate, number: Callable[[float], str]
) -> tuple[str, str]:
    """(title, detail) in the language of `translate` (a gettext), numbers written by `number`."""
    args: dict[str, str] = {}
    for name, value in message.args.items():
        if name in WORDED and isinstance(value, str):
            args[name] = translate(WORDED[name].get(value, value))
        elif name in NUMBERS and isinstance(value, int | float) and not isinstance(value, bool):
            args[name] = number(value)
        else:
            args[name] = "" if value is None else str(value)
    title, sentences = TEMPLATES[message.key]
    detail = [_fill(s, args, translate) for s in sentences]
    if message.args.get("provisional"):
        detail.append(_fill(PROVISIONAL, args, translate))
    return _fill(title, args, translate), " ".join(detail)


def english(message: AlertMessage) -> tuple[str, str]:
    """The source-language rendering (stored as the alert's title)."""
    return render(message, lambda text: text, english_number)
