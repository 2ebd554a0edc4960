"""The import report: counts and first examples of everything odd in a file (pure core)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lighthouse_os.telemetry.timeline import TimelineFacts


@dataclass(frozen=True)
class RowNote:
    """A located remark: the file row (CSV: line number with the header as 1), stamp, detail."""

    row: int
    stamp: str
    detail: str


@dataclass(frozen=True)
class RejectedCell:
    """A value the write path refused, where it was and why."""

    row: int
    column: str
    tag: str
    value: str
    reason: str


@dataclass(frozen=True)
class FileImportReport:
    """Everything a user should know after an import, as counts with first examples."""

    file: str
    site: str
    rows_read: int
    points_written: int
    duplicates: int
    conflicts: int
    rejected: int
    rejected_by_reason: dict[str, int]
    rejected_examples: tuple[RejectedCell, ...]
    empty_cells: int
    out_of_order: int
    out_of_order_examples: tuple[RowNote, ...]
    ambiguous_local_times: int
    ambiguous_examples: tuple[RowNote, ...]
    nonexistent_local_times: int
    nonexistent_examples: tuple[RowNote, ...]
    midnight_rollovers: int
    stamps: str
    shift: timedelta
    timezone: str
    timeline: TimelineFacts


def report_dict(report: FileImportReport) -> dict[str, Any]:
    """The report for JSON output; instants are shown in the file's time zone."""
    zone = ZoneInfo(report.timezone)
    facts = report.timeline

    def local(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(zone).isoformat()

    return {
        **{k: v for k, v in asdict(report).items() if k not in {"timeline", "shift"}},
        "shift_s": report.shift.total_seconds(),
        "timeline": {
            "first": local(facts.first),
            "last": local(facts.last),
            "distinct_timestamps": facts.distinct,
            "duplicated_timestamps": facts.duplicated,
            "duplicate_examples": [local(t) for t in facts.duplicate_examples],
            "gaps": facts.gaps,
            "missing_intervals": facts.missing_intervals,
            "gap_examples": [
                {"after": local(g.after), "before": local(g.before), "missing": g.missing}
                for g in facts.gap_examples
            ],
            "irregular_steps": facts.irregular_steps,
            "interval_s": facts.interval.total_seconds() if facts.interval else None,
            "interval_inferred": facts.interval_inferred,
        },
    }


def import_report_lines(report: FileImportReport) -> list[str]:
    """The report as text for a person: what was stored, what was refused, what looks odd."""
    data = report_dict(report)
    facts = data["timeline"]
    lines = [
        f"{report.file} -> site {report.site}",
        f"rows read: {report.rows_read:,}; points written: {report.points_written:,}; "
        f"already stored (duplicates): {report.duplicates:,}; empty cells: {report.empty_cells:,}",
        f"time line ({report.timezone}): {facts['first']} .. {facts['last']}, "
        f"{facts['distinct_timestamps']:,} distinct time stamps",
    ]
    if report.shift:
        lines.append(
            f"stamps mark the END of each {duration_text(-report.shift)} interval; "
            "points are stored at the interval start (stamp - interval)"
        )
    if report.conflicts:
        lines.append(
            f"! {report.conflicts:,} points were stored already (or earlier in the file) with "
            "OTHER values; the first values were kept, because a stored point is never rewritten"
        )
    lines += _rejections(report)
    lines += _time_findings(report, facts)
    return lines


def _rejections(report: FileImportReport) -> list[str]:
    if not report.rejected:
        return ["rejected: none"]
    reasons = ", ".join(f"{code} {count:,}" for code, count in report.rejected_by_reason.items())
    lines = [f"rejected: {report.rejected:,} ({reasons}); kept as dead letters"]
    lines += [f"  row {e.row} {e.column}={e.value!r}: {e.reason}" for e in report.rejected_examples]
    return lines


def _time_findings(report: FileImportReport, facts: dict[str, Any]) -> list[str]:
    interval = facts["interval_s"]
    findings = [
        (
            report.midnight_rollovers,
            "'D 00:00' stamps read as 24:00 of day D (midnight_rollover)",
            (),
        ),
        (
            report.out_of_order,
            "rows out of order (earlier than the row before)",
            report.out_of_order_examples,
        ),
        (facts["duplicated_timestamps"], "repeated time stamps (first value kept)", ()),
        (
            report.ambiguous_local_times,
            "ambiguous local times (clock went back)",
            report.ambiguous_examples,
        ),
        (
            report.nonexistent_local_times,
            "non-existent local times (clock went forward)",
            report.nonexistent_examples,
        ),
        (
            facts["gaps"],
            f"gaps, {facts['missing_intervals']:,} missing intervals of {interval} s",
            (),
        ),
        (facts["irregular_steps"], f"steps that are not a multiple of {interval} s", ()),
    ]
    lines: list[str] = []
    for count, label, examples in findings:
        if count:
            lines.append(f"! {count:,} {label}")
            lines += [f"    row {n.row}: {n.stamp} {n.detail}" for n in examples]
    lines += [f"    e.g. {t}" for t in facts["duplicate_examples"]]
    lines += [
        f"    gap after {g['after']} until {g['before']} ({g['missing']} missing)"
        for g in facts["gap_examples"]
    ]
    if facts["interval_inferred"] and interval:
        lines.append(f"interval inferred from the data: {interval} s (set timestamp.interval)")
    return lines or ["time stamps: nothing odd"]


def duration_text(span: timedelta) -> str:
    """`15 min`, `1 h`, `30 s` or `1 d`: the largest unit that divides the span."""
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
