"""UCUM unit codes: a syntax check of case-sensitive codes against a table of atoms (pure core)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lighthouse_os.text import N_, Text

# A component ends at an operator, a bracket or the start of an annotation.
_OPERATOR = re.compile(r"[./]")
_EXPONENT = re.compile(r"^(?P<unit>.*?[^0-9+-])(?P<exp>[+-]?[0-9]+)$")
_FACTOR = re.compile(r"[0-9]+")
_ANNOTATION = re.compile(r"\{[!-z|~]*\}")


class UnitError(ValueError):
    """A unit code that is not valid UCUM (case-sensitive), with the reason."""

    def __init__(self, text: Text) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class UnitTable:
    """Prefixes (symbol -> factor) and atoms (code -> may take a prefix), loaded from data."""

    prefixes: dict[str, float]
    atoms: dict[str, bool]


def check_unit(code: str, table: UnitTable) -> str:
    """Return `code` when it is a valid UCUM expression, else raise UnitError.

    Grammar (UCUM 2.1 §2-§9, without parentheses' nesting limits): a term is components joined
    by `.` (multiplication) or `/` (division), optionally starting with `/`; a component is an
    integer factor, an annotation `{…}`, a parenthesised term, or a simple unit (an atom, or a
    prefix before a metric atom) with an optional signed integer exponent and annotation.
    Examples: `kW.h`, `Cel`, `1`, `ug/m3`, `m3/h`, `kvar.h`, `%`, `/min`, `{count}`.
    """
    if not code or code != code.strip():
        raise UnitError(Text(N_("unit is empty or has spaces around it")))
    _check_term(code, code, table)
    return code


def _check_term(term: str, whole: str, table: UnitTable) -> None:
    body = term[1:] if term.startswith("/") else term
    for component in _split_components(body, whole):
        _check_component(component, whole, table)


def _split_components(term: str, whole: str) -> list[str]:
    """Split at top-level `.` and `/`, keeping parenthesised groups and annotations intact."""
    parts, depth, start, in_annotation = [], 0, 0, False
    for i, char in enumerate(term):
        if char == "{":
            in_annotation = True
        elif char == "}":
            in_annotation = False
        elif in_annotation:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise UnitError(Text(N_("unbalanced parenthesis in {unit!r}"), unit=whole))
        elif depth == 0 and _OPERATOR.fullmatch(char):
            parts.append(term[start:i])
            start = i + 1
    if depth or in_annotation:
        raise UnitError(Text(N_("unbalanced bracket in {unit!r}"), unit=whole))
    parts.append(term[start:])
    return parts


def _check_component(component: str, whole: str, table: UnitTable) -> None:
    if not component:
        raise UnitError(Text(N_("empty component in {unit!r}"), unit=whole))
    if component.startswith("(") and component.endswith(")"):
        _check_term(component[1:-1], whole, table)
        return
    annotation = component.find("{")
    if annotation >= 0:
        if not _ANNOTATION.fullmatch(component[annotation:]):
            raise UnitError(Text(N_("bad annotation in {unit!r}"), unit=whole))
        component = component[:annotation]
        if not component:
            return  # an annotation alone stands for the unity, e.g. {count}
    if _FACTOR.fullmatch(component):
        return
    _check_simple_unit(_strip_exponent(component), whole, table)


def _strip_exponent(component: str) -> str:
    match = _EXPONENT.match(component)
    # A bracketed atom such as [ppm] never takes digits inside; the exponent follows it.
    return match.group("unit") if match else component


def _check_simple_unit(unit: str, whole: str, table: UnitTable) -> None:
    if unit in table.atoms:
        return
    for prefix in sorted(table.prefixes, key=len, reverse=True):
        atom = unit[len(prefix) :]
        if unit.startswith(prefix) and table.atoms.get(atom):
            return
    raise UnitError(
        Text(
            N_(
                "unknown unit {part!r} in {unit!r}: UCUM codes are case-sensitive and products"
                " are written with '.' (kW.h, not kWh)"
            ),
            part=unit,
            unit=whole,
        )
    )
