"""Bulk import of assessments from paper or spreadsheet surveys (CSV or JSON).

One row per site and capability (or SIRI dimension):
``site, pack, version, date, capability, level, met, target, confidence, notes``.
``level`` alone records a level picked directly; ``met`` (criterion ids separated by ``;``)
records the criteria met, and a ``level`` given beside it must equal the level they give.
Rows of the same site, pack, version and date form one submitted assessment. Every row is
checked first; any problem means nothing is written, otherwise everything is written in one
transaction.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.assessment.answers import AnswerInput, answer_problems, item_ids, rate
from lighthouse_os.assessment.models import Answer, Assessment
from lighthouse_os.assessment.service import SUBMITTED
from lighthouse_os.auth import audit
from lighthouse_os.auth.models import Site
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import InvalidInput, LhosError
from lighthouse_os.framework import service as packs
from lighthouse_os.framework.models import FrameworkPack
from lighthouse_os.framework.pack import Pack

REQUIRED = ("site", "pack", "capability")
COLUMNS = (
    "site",
    "pack",
    "version",
    "date",
    "capability",
    "level",
    "met",
    "target",
    "confidence",
    "notes",
)


@dataclass(frozen=True)
class ImportRow:
    """One survey row as text; ``line`` is its CSV line, or its position in a JSON list."""

    line: int
    values: Mapping[str, str]

    def get(self, column: str) -> str:
        """The stripped value of ``column`` ('' when absent)."""
        return self.values.get(column, "").strip()


@dataclass(frozen=True)
class RowProblem:
    """A problem of one row, located by line (CSV) or item number (JSON)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class Planned:
    """A valid row, resolved: site, pack record, date, item and answer."""

    line: int
    site: Site
    record: FrameworkPack
    day: date | None
    item_id: str
    answer: AnswerInput


@dataclass(frozen=True)
class ImportReport:
    """Outcome: the assessments written (site code, pack label, id), or the problems found."""

    rows: int
    assessments: tuple[tuple[str, str, int], ...]
    problems: tuple[RowProblem, ...]
    dry_run: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "rows": self.rows,
            "dry_run": self.dry_run,
            "assessments": [{"site": s, "pack": p, "id": i} for s, p, i in self.assessments],
            "problems": [{"line": p.line, "message": p.message} for p in self.problems],
        }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def read_rows(filename: str, content: bytes) -> tuple[list[ImportRow], list[RowProblem]]:
    """Parse a ``.csv`` or ``.json`` file (a list of row objects, or ``{"rows": [...]}``)."""
    suffix = PurePath(filename).suffix.lower()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowProblem(1, "the file is not UTF-8 text")]
    if suffix == ".json":
        return _json_rows(text)
    if suffix == ".csv":
        return _csv_rows(text)
    return [], [RowProblem(1, "use a .csv or .json file")]


def _csv_rows(text: str) -> tuple[list[ImportRow], list[RowProblem]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [RowProblem(1, f"missing column(s): {', '.join(missing)}")]
    rows = []
    for raw in reader:
        values = {(k or "").strip(): _text(v) for k, v in raw.items()}
        if any(values.values()):  # blank lines of a spreadsheet export are not rows
            rows.append(ImportRow(reader.line_num, values))
    return rows, []


def _json_rows(text: str) -> tuple[list[ImportRow], list[RowProblem]]:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        return [], [RowProblem(1, f"not valid JSON: {err}")]
    items = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return [], [RowProblem(1, 'expected a list of rows or {"rows": [...]}')]
    rows, problems = [], []
    for index, item in enumerate(items, start=1):
        if isinstance(item, dict):
            rows.append(ImportRow(index, {str(k): _text(v) for k, v in item.items()}))
        else:
            problems.append(RowProblem(index, "a row must be an object"))
    return rows, problems


class _Resolver:
    """Looks up sites and pack versions once per import."""

    def __init__(self, session: Session, rows: Iterable[ImportRow]) -> None:
        codes = {r.get("site") for r in rows}
        found = session.scalars(select(Site).where(Site.code.in_(codes)))
        self.session = session
        self.sites = {s.code: s for s in found}
        self.records: dict[tuple[str, str], tuple[FrameworkPack, Pack] | str] = {}

    def pack(self, pack_id: str, version: str) -> tuple[FrameworkPack, Pack] | str:
        key = (pack_id, version)
        if key not in self.records:
            try:
                record = packs.find_record(self.session, pack_id, version or None)
                self.records[key] = (record, packs.pack_of(self.session, record))
            except LhosError as err:
                self.records[key] = err.message
        return self.records[key]


def _int(value: str, column: str) -> int | None:
    if not value:
        return None
    if not re.fullmatch(r"-?\d+", value):
        raise ValueError(f"{column} must be a whole number, not {value!r}")
    return int(value)


def _day(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"date must be YYYY-MM-DD, not {value!r}") from None


def _answer(row: ImportRow) -> tuple[AnswerInput, int | None]:
    level = _int(row.get("level"), "level")
    met = tuple(m for m in re.split(r"[;\s]+", row.get("met")) if m)
    if level is None and not met:
        raise ValueError("give a level or the met criteria")
    answer = AnswerInput(
        met=met,
        picked_level=None if met else level,
        target_level=_int(row.get("target"), "target"),
        confidence=row.get("confidence").lower(),
        notes=row.get("notes"),
    )
    return answer, level


def _plan_row(row: ImportRow, resolver: _Resolver) -> Planned:
    missing = [c for c in REQUIRED if not row.get(c)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    site = resolver.sites.get(row.get("site"))
    if site is None:
        raise ValueError(f"unknown site {row.get('site')!r}")
    found = resolver.pack(row.get("pack"), row.get("version"))
    if isinstance(found, str):
        raise ValueError(found)
    record, pack = found
    item = row.get("capability")
    if item not in item_ids(pack):
        raise ValueError(f"{item!r} is not a capability of {record.label}")
    day = _day(row.get("date"))
    answer, level = _answer(row)
    problems = answer_problems(pack, item, answer)
    if problems:
        raise ValueError("; ".join(f"{k}: {v}" for k, v in problems.items()))
    rating = rate(pack, item, answer)
    if answer.met and level is not None and rating is not None and rating.level != level:
        raise ValueError(f"level {level} does not match the met criteria (level {rating.level})")
    return Planned(row.line, site, record, day, item, answer)


def plan(session: Session, rows: list[ImportRow]) -> tuple[list[Planned], list[RowProblem]]:
    """Check every row; return the resolved rows and every problem (with its line)."""
    resolver = _Resolver(session, rows)
    planned: list[Planned] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[str, str, date | None, str], int] = {}
    for row in rows:
        try:
            item = _plan_row(row, resolver)
        except ValueError as err:
            problems.append(RowProblem(row.line, str(err)))
            continue
        key = (item.site.code, item.record.label, item.day, item.item_id)
        if key in seen:
            problems.append(RowProblem(row.line, f"duplicate of line {seen[key]}"))
            continue
        seen[key] = row.line
        planned.append(item)
    return planned, problems


def _write(
    session: Session, planned: list[Planned], now: datetime, origin: str
) -> list[tuple[str, str, int]]:
    groups: dict[tuple[int, int, date | None], list[Planned]] = {}
    for item in planned:
        groups.setdefault((item.site.id, item.record.id, item.day), []).append(item)
    return [_write_group(session, items, now, origin) for items in groups.values()]


def _write_group(
    session: Session, items: list[Planned], now: datetime, origin: str
) -> tuple[str, str, int]:
    """One submitted assessment from the rows of one site, pack version and date."""
    first = items[0]
    moment = now if first.day is None else datetime.combine(first.day, datetime.min.time(), UTC)
    assessment = Assessment(
        site_id=first.site.id,
        framework_pack_id=first.record.id,
        pack_id=first.record.pack_id,
        pack_version=first.record.version,
        status=SUBMITTED,
        origin=origin,
        created_at=moment,
        submitted_at=moment,
    )
    session.add(assessment)
    session.flush()
    pack = packs.pack_of(session, first.record)
    for item in items:
        rating = rate(pack, item.item_id, item.answer)
        session.add(_answer_row(assessment.id, item, None if rating is None else rating.level))
    audit.record(
        session,
        "assessment.imported" if origin == "import" else f"assessment.{origin}",
        org_id=first.site.org_id,
        site_id=first.site.id,
        target=f"assessment {assessment.id}",
        rows=len(items),
    )
    return first.site.code, first.record.label, assessment.id


def _answer_row(assessment_id: int, item: Planned, level: int | None) -> Answer:
    a = item.answer
    return Answer(
        assessment_id=assessment_id,
        item_id=item.item_id,
        met=list(a.met),
        picked_level=a.picked_level,
        level=level,
        target_level=a.target_level,
        confidence=a.confidence,
        notes=a.notes,
        links=[],
        kpi_refs=[],
    )


def import_file(
    session: Session, filename: str, content: bytes, *, dry_run: bool = False
) -> ImportReport:
    """Parse a survey file, then ``import_rows``."""
    rows, problems = read_rows(filename, content)
    return import_rows(session, rows, dry_run=dry_run, problems=problems)


def import_rows(
    session: Session,
    rows: list[ImportRow],
    *,
    dry_run: bool = False,
    origin: str = "import",
    problems: list[RowProblem] | None = None,
) -> ImportReport:
    """Check every row, then (unless ``dry_run`` or any problem) write all in one transaction."""
    planned, row_problems = plan(session, rows)
    found = [*(problems or []), *row_problems]
    if not rows and not found:
        found.append(RowProblem(1, "the file holds no rows"))
    if found or dry_run:
        session.rollback()
        return ImportReport(len(rows), (), tuple(sorted(found, key=lambda p: p.line)), dry_run)
    try:
        written = _write(session, planned, utcnow(), origin)
        session.commit()
    except BaseException:
        session.rollback()  # nothing is half-imported
        raise
    return ImportReport(len(rows), tuple(written), ())


def require_clean(report: ImportReport) -> ImportReport:
    """Raise InvalidInput listing every problem when the import did not go through."""
    if report.problems:
        lines = "\n".join(str(p) for p in report.problems)
        raise InvalidInput(f"{len(report.problems)} bad row(s), nothing imported:\n{lines}")
    return report
