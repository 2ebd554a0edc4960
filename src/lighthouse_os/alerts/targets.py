"""What rules and detectors watch: scopes resolved to series; machine data read from the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.alerts.backtest import SeriesFrame
from lighthouse_os.alerts.models import AlertRule
from lighthouse_os.assets import service as assets
from lighthouse_os.assets.models import AssetNode, Tag
from lighthouse_os.auth.models import Site
from lighthouse_os.errors import InvalidInput, NotFound
from lighthouse_os.telemetry.store import TimeSeriesStore

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KPI_SEPARATOR = "#"  # "line-1/press-1#oee": a KPI series of a machine, never a tag path


@dataclass(frozen=True)
class Target:
    """One series a rule watches: a tag (with its store id) or a machine's KPI."""

    series: str
    tag_id: int | None = None
    machine: str | None = None


def kpi_series(machine_path: str, kpi: str) -> str:
    return f"{machine_path}{KPI_SEPARATOR}{kpi}"


def machine(session: Session, site: Site, path: str) -> AssetNode:
    """A machine of the site by path (InvalidInput names the field when there is none)."""
    node = session.scalar(
        select(AssetNode).where(AssetNode.site_id == site.id, AssetNode.path == path)
    )
    if node is None or node.level != "machine":
        raise InvalidInput(f"no machine {path!r} at this site", fields={"machine": "unknown"})
    return node


def rule_machines(session: Session, rule: AlertRule) -> list[AssetNode]:
    """The machines of a machine or asset-type rule, as of now."""
    if rule.scope == "asset_type":
        found = assets.machines_of_type(session, rule.site_id, rule.asset_type)
        return [m for m in found if m.level == "machine"]
    node = session.get(AssetNode, rule.node_id) if rule.node_id is not None else None
    return [] if node is None else [node]


def rule_targets(session: Session, rule: AlertRule) -> list[Target]:
    """Every series the rule watches now; an asset-type rule covers machines added since."""
    if rule.kind == "kpi":
        kpi = str(rule.params["kpi"])
        return [Target(kpi_series(m.path, kpi), None, m.path) for m in rule_machines(session, rule)]
    if rule.scope == "tag":
        tag = session.get(Tag, rule.tag_id) if rule.tag_id is not None else None
        return [] if tag is None else [Target(tag.path, tag.id, None)]
    machines = {m.id: m for m in rule_machines(session, rule)}
    if not machines:
        return []
    tags = session.scalars(
        select(Tag)
        .where(Tag.node_id.in_(list(machines)), Tag.key == rule.tag_key)
        .order_by(Tag.path)
    )
    return [Target(t.path, t.id, machines[t.node_id].path) for t in tags if t.node_id]


def machine_tags(session: Session, node: AssetNode, keys: Sequence[str]) -> list[Tag]:
    """Tags directly under a machine: those named in `keys` (in that order), else every gauge."""
    tags = {t.key: t for t in session.scalars(select(Tag).where(Tag.node_id == node.id))}
    if not keys:
        return [tags[k] for k in sorted(tags) if tags[k].kind == "gauge"]
    missing = [k for k in keys if k not in tags]
    if missing:
        raise InvalidInput(
            f"{node.path} has no tag(s) {', '.join(missing)}", fields={"columns": "unknown"}
        )
    return [tags[k] for k in keys]


def tag_of(session: Session, site: Site, ref: str) -> Tag:
    """A tag of the site by path or id, as a field error when it does not exist."""
    try:
        return assets.get_tag(session, site, ref)
    except NotFound as err:
        raise InvalidInput(f"no tag {ref!r} at this site", fields={"tag": "unknown"}) from err


def _micros(table: pa.Table, column: str) -> np.ndarray:
    return np.asarray(table.column(column).cast(pa.int64()).to_numpy(), dtype=np.int64)


def read_frame(
    store: TimeSeriesStore,
    key: str,
    tags: Sequence[Tag],
    start: datetime,
    end: datetime,
    *,
    resolution: str = "raw",
    tz: str = "Asia/Ho_Chi_Minh",
) -> SeriesFrame:
    """One machine's tags as rows × columns over [start, end), NaN where a tag has no value.

    `raw` aligns points on their exact instants (rows of a file import or of one PLC scan
    share them); `1m` and `1h` use the store's bucket means, so unaligned tags line up.
    """
    ids = [t.id for t in tags]
    if resolution == "raw":
        table, stamp = store.raw(ids, start, end), "ts"
    else:
        table = store.aggregate(ids, start, end, resolution, "avg", tz=tz)  # type: ignore[arg-type]
        stamp = "bucket_start"
    columns = tuple(t.key for t in tags)
    if table.num_rows == 0:
        return SeriesFrame(key, (), columns, np.empty((0, len(ids)), dtype=np.float64))
    micros, rows = np.unique(_micros(table, stamp), return_inverse=True)
    order = np.argsort(ids)
    sids = table.column("series_id").to_numpy()
    cols = order[np.searchsorted(np.asarray(ids)[order], sids)]
    values = np.full((len(micros), len(ids)), np.nan, dtype=np.float64)
    values[rows, cols] = table.column("value").to_numpy()
    stamps = tuple(EPOCH + timedelta(microseconds=int(u)) for u in micros)
    return SeriesFrame(key, stamps, columns, values)


def floor_to(moment: datetime, resolution: str) -> datetime:
    """The start of the bucket `moment` is in: only complete buckets are scored."""
    utc = moment.astimezone(UTC)
    if resolution == "1m":
        return utc.replace(second=0, microsecond=0)
    if resolution == "1h":
        return utc.replace(minute=0, second=0, microsecond=0)
    return utc
