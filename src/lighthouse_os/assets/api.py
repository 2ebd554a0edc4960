"""REST API of a site's assets: the tree, nodes, tags and bulk import."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from lighthouse_os.assets import service
from lighthouse_os.assets.bulk import Row
from lighthouse_os.assets.models import Tag
from lighthouse_os.assets.schemas import (
    AssetTreePublic,
    NodeCreate,
    NodePublic,
    NodeUpdate,
    TagCreate,
    TagDefinition,
    TagPublic,
)
from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.service import authorize_site
from lighthouse_os.errors import InvalidInput
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.responses import JSONBytes

router = APIRouter(prefix="/api/v1/sites/{site}/assets", tags=["assets"])


def tag_public(tag: Tag) -> TagPublic:
    """A tag for the API (its id is also its series id)."""
    return TagPublic.model_validate({**_columns(tag), "series_id": tag.id})


def _columns(tag: Tag) -> dict[str, object]:
    return {c.key: getattr(tag, c.key) for c in Tag.__table__.columns}


@router.get("")
def tree(site: str, principal: PrincipalDep, session: SessionDep) -> AssetTreePublic:
    """Every node and tag of the site."""
    target = authorize_site(session, principal, site, "site.read")
    found = service.site_tree(session, target)
    nodes = [NodePublic.model_validate(n) for n in found.nodes]
    return AssetTreePublic(site=target.code, nodes=nodes, tags=[tag_public(t) for t in found.tags])


@router.post("/nodes", status_code=201)
def create_node(
    site: str, body: NodeCreate, principal: PrincipalDep, session: SessionDep
) -> NodePublic:
    """Add an area, line or machine; 422 names each field at fault."""
    target = authorize_site(session, principal, site, "site.write")
    return NodePublic.model_validate(service.create_node(session, target, body.draft()))


@router.patch("/nodes/{node_id}")
def update_node(
    site: str, node_id: int, body: NodeUpdate, principal: PrincipalDep, session: SessionDep
) -> NodePublic:
    """Rename a node or change a machine's asset type."""
    target = authorize_site(session, principal, site, "site.write")
    node = service.update_node(session, target, node_id, **body.model_dump())
    return NodePublic.model_validate(node)


@router.delete("/nodes/{node_id}", status_code=204)
def delete_node(site: str, node_id: int, principal: PrincipalDep, session: SessionDep) -> Response:
    """Remove a node without children or tags (409 otherwise)."""
    service.delete_node(session, authorize_site(session, principal, site, "site.write"), node_id)
    return Response(status_code=204)


@router.post("/tags", status_code=201)
def create_tag(
    site: str, body: TagCreate, principal: PrincipalDep, session: SessionDep
) -> TagPublic:
    """Add a tag; its id is the series id of its data."""
    target = authorize_site(session, principal, site, "site.write")
    return tag_public(service.create_tag(session, target, body.draft()))


@router.get("/tags/{tag_id}")
def get_tag(site: str, tag_id: int, principal: PrincipalDep, session: SessionDep) -> TagPublic:
    """One tag of the site."""
    target = authorize_site(session, principal, site, "site.read")
    return tag_public(service.get_tag(session, target, tag_id))


@router.put("/tags/{tag_id}")
def update_tag(
    site: str, tag_id: int, body: TagDefinition, principal: PrincipalDep, session: SessionDep
) -> TagPublic:
    """Replace a tag's definition (unit, kind, scaling, states, descriptions)."""
    target = authorize_site(session, principal, site, "site.write")
    return tag_public(service.update_tag(session, target, tag_id, body.draft()))


@router.delete("/tags/{tag_id}", status_code=204)
def delete_tag(site: str, tag_id: int, principal: PrincipalDep, session: SessionDep) -> Response:
    """Remove a tag; its data stays in the store under its never-reused series id."""
    service.delete_tag(session, authorize_site(session, principal, site, "site.write"), tag_id)
    return Response(status_code=204)


@router.post("/import")
async def import_file(
    site: str,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    file_format: Annotated[str, Query(alias="format", pattern="^(yaml|csv)$")] = "yaml",
    dry_run: bool = False,
) -> JSONBytes:
    """Create or update assets from a YAML or CSV body: all rows, or none (422 with every row)."""
    # Access first: a caller the policy refuses gets its 403/404, not a parse of its file.
    target = await run_in_threadpool(authorize_site, session, principal, site, "site.write")
    rows = service.rows_from_file(f"body.{file_format}", await request.body())
    report = await run_in_threadpool(_import_rows, session, target, rows, dry_run)
    return JSONBytes(asdict(report))


def _import_rows(
    session: Session, target: Site, rows: list[Row], dry_run: bool
) -> service.ImportReport:
    report = service.import_assets(session, target, rows, dry_run=dry_run)
    if report.problems:
        fields = {f"{p.where}.{p.field}": p.message for p in report.problems}
        raise InvalidInput(
            f"{len(report.problems)} row problem(s); nothing imported", fields=fields
        )
    return report
