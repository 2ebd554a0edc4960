"""Asset use cases: the site's tree, create/update/delete of nodes and tags, and bulk import.

Every function takes a `Site` the caller already authorised (`auth.service.authorize_site`) and
commits once. Each change bumps the site's asset revision in the same transaction, which tells
ingestion caches to reload the site's tags.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lighthouse_os.assets.bulk import ImportPlan, Row, RowProblem, plan_import
from lighthouse_os.assets.hierarchy import (
    NodeDraft,
    SiteShape,
    TagDraft,
    asset_type_problem,
    definition_problems,
    node_problems,
    split_path,
    tag_problems,
)
from lighthouse_os.assets.models import AssetNode, AssetRevision, Tag
from lighthouse_os.assets.unit_data import unit_table
from lighthouse_os.auth.models import Site
from lighthouse_os.db.base import utcnow
from lighthouse_os.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True)
class AssetTree:
    """A site's nodes and tags, each ordered by path (a parent sorts before its children)."""

    site: Site
    nodes: tuple[AssetNode, ...]
    tags: tuple[Tag, ...]


@dataclass(frozen=True)
class ImportReport:
    """Outcome of a bulk import; nothing was changed when `problems` is not empty."""

    created_nodes: int
    updated_nodes: int
    created_tags: int
    updated_tags: int
    unchanged: int
    problems: tuple[RowProblem, ...]
    dry_run: bool = False


# -- reading --------------------------------------------------------------------------------


def site_tree(session: Session, site: Site) -> AssetTree:
    """Every node and tag of the site."""
    nodes = session.scalars(
        select(AssetNode).where(AssetNode.site_id == site.id).order_by(AssetNode.path)
    )
    return AssetTree(site, tuple(nodes), tags_of_site(session, site.id))


def tags_of_site(session: Session, site_id: int) -> tuple[Tag, ...]:
    """The site's tags by path (what ingestion caches)."""
    return tuple(session.scalars(select(Tag).where(Tag.site_id == site_id).order_by(Tag.path)))


def get_node(session: Session, site: Site, node_id: int) -> AssetNode:
    """A node of this site; another site's node is NotFound, as a missing one is."""
    node = session.get(AssetNode, node_id)
    if node is None or node.site_id != site.id:
        raise NotFound("asset not found")
    return node


def get_tag(session: Session, site: Site, ref: int | str) -> Tag:
    """A tag of this site by id or path."""
    if isinstance(ref, int) or ref.isdigit():
        tag = session.get(Tag, int(ref))
    else:
        tag = session.scalar(select(Tag).where(Tag.site_id == site.id, Tag.path == ref))
    if tag is None or tag.site_id != site.id:
        raise NotFound(f"tag {str(ref)!r} not found")
    return tag


def machines_of_type(session: Session, site_id: int, asset_type: str) -> tuple[AssetNode, ...]:
    """The machines of a site with `asset_type` (alert rules target asset types)."""
    query = select(AssetNode).where(
        AssetNode.site_id == site_id, AssetNode.asset_type == asset_type
    )
    return tuple(session.scalars(query.order_by(AssetNode.path)))


def revision(session: Session, site_id: int) -> int:
    """The site's asset revision: it changes whenever a node or tag changes."""
    value = session.scalar(select(AssetRevision.revision).where(AssetRevision.site_id == site_id))
    return int(value or 0)


# -- single changes -------------------------------------------------------------------------


def create_node(session: Session, site: Site, draft: NodeDraft) -> AssetNode:
    """Add an area, line or machine; InvalidInput names each field at fault."""
    problems = node_problems(draft, _shape(session, site.id))
    if problems:
        raise InvalidInput("the asset is not valid", fields=problems)
    node = _new_node(session, site.id, draft)
    _commit(session, site.id, draft.path)
    return node


def update_node(
    session: Session, site: Site, node_id: int, *, name_vi: str, name_en: str, asset_type: str
) -> AssetNode:
    """Rename a node or change a machine's asset type (paths are fixed: topics depend on them)."""
    node = get_node(session, site, node_id)
    problem = asset_type_problem(node.level, asset_type.strip())
    if problem:
        raise InvalidInput("the asset is not valid", fields={"asset_type": problem})
    node.name_vi, node.name_en, node.asset_type = (
        name_vi.strip(),
        name_en.strip(),
        asset_type.strip(),
    )
    _commit(session, site.id, node.path)
    return node


def delete_node(session: Session, site: Site, node_id: int) -> None:
    """Remove a node that has neither child nodes nor tags."""
    node = get_node(session, site, node_id)
    children = session.scalar(select(func.count()).where(AssetNode.parent_id == node.id))
    tags = session.scalar(select(func.count()).where(Tag.node_id == node.id))
    if children or tags:
        raise Conflict(f"{node.path!r} still has {children} asset(s) and {tags} tag(s) below it")
    session.delete(node)
    _commit(session, site.id, node.path)


def create_tag(session: Session, site: Site, draft: TagDraft) -> Tag:
    """Add a tag; its id becomes the series id of its data."""
    problems = tag_problems(draft, _shape(session, site.id), unit_table())
    if problems:
        raise InvalidInput("the tag is not valid", fields=problems)
    tag = _new_tag(session, site.id, draft)
    _commit(session, site.id, draft.path)
    return tag


def update_tag(session: Session, site: Site, tag_id: int, draft: TagDraft) -> Tag:
    """Change a tag's unit, kind, scaling, states or descriptions (not its path)."""
    tag = get_tag(session, site, tag_id)
    draft = replace(draft, path=tag.path)
    problems = definition_problems(draft, unit_table())
    if problems:
        raise InvalidInput("the tag is not valid", fields=problems)
    _apply_tag(tag, draft)
    _commit(session, site.id, tag.path)
    return tag


def delete_tag(session: Session, site: Site, tag_id: int) -> None:
    """Remove a tag; its stored data stays under its series id, which is never reused."""
    tag = get_tag(session, site, tag_id)
    session.delete(tag)
    _commit(session, site.id, tag.path)


# -- bulk import ----------------------------------------------------------------------------


def rows_from_file(name: str, data: bytes) -> list[Row]:
    """Rows of a YAML (`nodes:` and `tags:` lists) or CSV (a `record` column) asset file."""
    suffix = PurePath(name).suffix.lower()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"{name}: not UTF-8 text ({err.reason})") from err
    if suffix in {".yaml", ".yml"}:
        return _yaml_rows(name, text)
    if suffix == ".csv":
        return _csv_rows(text)
    raise InvalidInput(f"{name}: use a .yaml, .yml or .csv file")


def import_assets(
    session: Session, site: Site, rows: Sequence[Row], *, dry_run: bool = False
) -> ImportReport:
    """Create or update every row, or nothing at all when any row is invalid."""
    plan = plan_import(rows, *_existing(session, site.id), unit_table())
    if not plan.problems and not dry_run:
        _apply_plan(session, site.id, plan)
        _commit(session, site.id, "imported assets")
    return ImportReport(
        created_nodes=len(plan.new_nodes),
        updated_nodes=len(plan.changed_nodes),
        created_tags=len(plan.new_tags),
        updated_tags=len(plan.changed_tags),
        unchanged=plan.unchanged,
        problems=plan.problems,
        dry_run=dry_run,
    )


def _apply_plan(session: Session, site_id: int, plan: ImportPlan) -> None:
    for draft in plan.new_nodes:
        _new_node(session, site_id, draft)
    nodes = {
        n.path: n for n in session.scalars(select(AssetNode).where(AssetNode.site_id == site_id))
    }
    for draft in plan.changed_nodes:
        node = nodes[draft.path]
        node.name_vi, node.name_en, node.asset_type = draft.name_vi, draft.name_en, draft.asset_type
    for tag_draft_ in plan.new_tags:
        _new_tag(session, site_id, tag_draft_)
    tags = {t.path: t for t in tags_of_site(session, site_id)}
    for changed in plan.changed_tags:
        _apply_tag(tags[changed.path], changed)


def _existing(session: Session, site_id: int) -> tuple[dict[str, NodeDraft], dict[str, TagDraft]]:
    nodes = session.scalars(select(AssetNode).where(AssetNode.site_id == site_id))
    node_drafts = {
        n.path: NodeDraft(n.path, n.level, n.name_vi, n.name_en, n.asset_type) for n in nodes
    }
    return node_drafts, {t.path: tag_draft(t) for t in tags_of_site(session, site_id)}


def tag_draft(tag: Tag) -> TagDraft:
    """The editable definition of a stored tag."""
    return TagDraft(
        tag.path,
        tag.unit,
        tag.kind,
        tag.scale,
        tag.offset,
        tuple(tag.states or ()),
        tag.description_vi,
        tag.description_en,
    )


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans: state names `off`, `on`, `no` stay text."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(name: str, text: str) -> object:
    """Parse YAML as YAML 1.2 does booleans; InvalidInput names the file when it is malformed."""
    try:
        return yaml.load(text, Loader=_Yaml12Loader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as err:
        raise InvalidInput(f"{name}: not valid YAML ({err})") from err


def _yaml_rows(name: str, text: str) -> list[Row]:
    data = load_yaml(name, text) or {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{name}: expected a mapping with 'nodes' and 'tags' lists")
    rows: list[Row] = []
    for section, record in (("nodes", "node"), ("tags", "tag")):
        items = data.get(section) or []
        if not isinstance(items, list):
            raise InvalidInput(f"{name}: '{section}' must be a list")
        for i, item in enumerate(items):
            values = item if isinstance(item, dict) else {}
            rows.append(Row(f"{section}[{i}]", record, {str(k): v for k, v in values.items()}))
    return rows


def _csv_rows(text: str) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "record" not in reader.fieldnames:
        raise InvalidInput("the CSV needs a 'record' column (node or tag) and a 'path' column")
    rows: list[Row] = []
    for values in reader:
        record = (values.get("record") or "").strip().lower()
        fields = {k: v for k, v in values.items() if k and v is not None}
        rows.append(Row(f"line {reader.line_num}", record, fields))
    return rows


# -- helpers --------------------------------------------------------------------------------


def _shape(session: Session, site_id: int) -> SiteShape:
    levels = session.execute(
        select(AssetNode.path, AssetNode.level).where(AssetNode.site_id == site_id)
    )
    tag_paths = session.scalars(select(Tag.path).where(Tag.site_id == site_id))
    return SiteShape({str(path): str(level) for path, level in levels}, set(tag_paths))


def _node_id(session: Session, site_id: int, path: str | None) -> int | None:
    if path is None:
        return None
    query = select(AssetNode.id).where(AssetNode.site_id == site_id, AssetNode.path == path)
    return session.scalar(query)


def _new_node(session: Session, site_id: int, draft: NodeDraft) -> AssetNode:
    parent, key = split_path(draft.path)
    node = AssetNode(
        site_id=site_id,
        parent_id=_node_id(session, site_id, parent),
        level=draft.level,
        key=key,
        path=draft.path,
        name_vi=draft.name_vi,
        name_en=draft.name_en,
        asset_type=draft.asset_type,
    )
    session.add(node)
    session.flush()  # children created next in the same transaction need the id
    return node


def _new_tag(session: Session, site_id: int, draft: TagDraft) -> Tag:
    parent, key = split_path(draft.path)
    tag = Tag(site_id=site_id, node_id=_node_id(session, site_id, parent), key=key, path=draft.path)
    _apply_tag(tag, draft)
    session.add(tag)
    return tag


def _apply_tag(tag: Tag, draft: TagDraft) -> None:
    tag.unit, tag.kind = draft.unit, draft.kind
    tag.scale, tag.offset = draft.scale, draft.offset
    tag.states = list(draft.states)
    tag.description_vi, tag.description_en = draft.description_vi, draft.description_en


def _bump_revision(session: Session, site_id: int) -> None:
    bumped = session.execute(
        update(AssetRevision)
        .where(AssetRevision.site_id == site_id)
        .values(revision=AssetRevision.revision + 1, changed_at=utcnow())
    )
    if getattr(bumped, "rowcount", 0) == 0:
        session.add(AssetRevision(site_id=site_id, revision=1, changed_at=utcnow()))


def _commit(session: Session, site_id: int, what: str) -> None:
    try:
        _bump_revision(session, site_id)
        session.commit()
    except IntegrityError as err:
        session.rollback()
        raise Conflict(f"{what!r} clashes with an asset saved at the same time; retry") from err
