"""HTML pages of assets: the sites, a site's tree, and forms to add or edit nodes and tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from lighthouse_os.assets import service
from lighthouse_os.assets.hierarchy import (
    KINDS,
    LEVELS,
    AssetRuleError,
    NodeDraft,
    TagDraft,
    child_path,
)
from lighthouse_os.assets.models import AssetNode, Tag
from lighthouse_os.assets.schemas import NodeForm, TagForm
from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.auth.models import Site
from lighthouse_os.auth.policy import Principal
from lighthouse_os.auth.service import authorize_site, visible_sites
from lighthouse_os.errors import Forbidden, InvalidInput
from lighthouse_os.text import N_, Text
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.templating import render

router = APIRouter(include_in_schema=False)
FormText = Annotated[str, Form()]
# Levels and kinds are shown translated; these marks put them in the catalog.
LABELS = (
    N_("area"),
    N_("line"),
    N_("machine"),
    N_("gauge"),
    N_("counter"),
    N_("state"),
    N_("event"),
)


@dataclass
class Branch:
    """A node with the nodes and tags directly below it, for the tree template."""

    node: AssetNode | None
    children: list[Branch] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)


def build_tree(nodes: tuple[AssetNode, ...], tags: tuple[Tag, ...]) -> Branch:
    """Nest nodes under their parents and tags under their nodes; the root is the site."""
    root = Branch(None)
    branches = {n.id: Branch(n) for n in nodes}
    for node in nodes:  # ordered by path, so parents come first
        parent = branches.get(node.parent_id) if node.parent_id else root
        (parent or root).children.append(branches[node.id])
    for tag in tags:
        owner = branches.get(tag.node_id) if tag.node_id else root
        (owner or root).tags.append(tag)
    return root


def _can_write(session: Session, principal: Principal, site: Site) -> bool:
    try:
        authorize_site(session, principal, site.id, "site.write")
    except Forbidden:
        return False
    return True


@router.get("/assets", response_class=HTMLResponse)
def sites(request: Request, principal: PrincipalDep, session: SessionDep) -> HTMLResponse:
    """The sites whose assets the caller may see."""
    return render(request, "assets/index.html", {"sites": visible_sites(session, principal)})


@router.get("/sites/{site}/assets", response_class=HTMLResponse)
def tree(request: Request, site: str, principal: PrincipalDep, session: SessionDep) -> HTMLResponse:
    """The site's hierarchy with each tag's unit, kind and series id."""
    target = authorize_site(session, principal, site, "site.read")
    found = service.site_tree(session, target)
    context = {
        "site": target,
        "root": build_tree(found.nodes, found.tags),
        "can_write": _can_write(session, principal, target),
    }
    return render(request, "assets/tree.html", context)


# -- nodes ----------------------------------------------------------------------------------


def _node_form(
    request: Request, session: Session, site: Site, values: dict[str, Any], errors: dict[str, str]
) -> HTMLResponse:
    parents = [n for n in service.site_tree(session, site).nodes if n.level != "machine"]
    context = {"site": site, "values": values, "errors": errors, "parents": parents}
    context["levels"] = LEVELS
    return render(request, "assets/node_form.html", context, status_code=422 if errors else 200)


@router.get("/sites/{site}/assets/nodes/new", response_class=HTMLResponse)
def new_node(
    request: Request, site: str, principal: PrincipalDep, session: SessionDep, parent: str = ""
) -> HTMLResponse:
    target = authorize_site(session, principal, site, "site.write")
    return _node_form(request, session, target, {"parent": parent, "level": "machine"}, {})


@router.post("/sites/{site}/assets/nodes/new", response_model=None)
def create_node(
    request: Request,
    site: str,
    principal: PrincipalDep,
    session: SessionDep,
    data: Annotated[NodeForm, Form()],
) -> Response:
    """Add a node; on error the form comes back with each message beside its field."""
    target = authorize_site(session, principal, site, "site.write")
    try:
        path = _path(data.parent, data.key)
        draft = NodeDraft(path, data.level, data.name_vi, data.name_en, data.asset_type)
        service.create_node(session, target, draft)
    except InvalidInput as err:
        return _node_form(request, session, target, data.model_dump(), _key_errors(err.fields))
    return _back_to_tree(target)


@router.get("/sites/{site}/assets/nodes/{node_id}/edit", response_class=HTMLResponse)
def edit_node(
    request: Request, site: str, node_id: int, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    target = authorize_site(session, principal, site, "site.write")
    node = service.get_node(session, target, node_id)
    return render(request, "assets/node_edit.html", {"site": target, "node": node, "errors": {}})


@router.post("/sites/{site}/assets/nodes/{node_id}/edit", response_model=None)
def update_node(
    request: Request,
    site: str,
    node_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    name_vi: FormText = "",
    name_en: FormText = "",
    asset_type: FormText = "",
) -> Response:
    target = authorize_site(session, principal, site, "site.write")
    try:
        service.update_node(
            session, target, node_id, name_vi=name_vi, name_en=name_en, asset_type=asset_type
        )
    except InvalidInput as err:
        node = service.get_node(session, target, node_id)
        context = {"site": target, "node": node, "errors": err.fields}
        return render(request, "assets/node_edit.html", context, status_code=422)
    return _back_to_tree(target)


@router.post("/sites/{site}/assets/nodes/{node_id}/delete")
def delete_node(
    site: str, node_id: int, principal: PrincipalDep, session: SessionDep
) -> RedirectResponse:
    target = authorize_site(session, principal, site, "site.write")
    service.delete_node(session, target, node_id)
    return _back_to_tree(target)


# -- tags -----------------------------------------------------------------------------------


def _tag_form(
    request: Request,
    session: Session,
    site: Site,
    values: dict[str, Any],
    errors: dict[str, str],
    tag: Tag | None = None,
) -> HTMLResponse:
    context = {"site": site, "values": values, "errors": errors, "tag": tag, "kinds": KINDS}
    context["parents"] = list(service.site_tree(session, site).nodes)
    return render(request, "assets/tag_form.html", context, status_code=422 if errors else 200)


@router.get("/sites/{site}/assets/tags/new", response_class=HTMLResponse)
def new_tag(
    request: Request, site: str, principal: PrincipalDep, session: SessionDep, parent: str = ""
) -> HTMLResponse:
    target = authorize_site(session, principal, site, "site.write")
    return _tag_form(request, session, target, {"parent": parent, "kind": "gauge"}, {})


@router.post("/sites/{site}/assets/tags/new", response_model=None)
def create_tag(
    request: Request,
    site: str,
    principal: PrincipalDep,
    session: SessionDep,
    data: Annotated[TagForm, Form()],
) -> Response:
    """Add a tag from the form; errors come back beside their fields."""
    target = authorize_site(session, principal, site, "site.write")
    try:
        service.create_tag(session, target, _tag_draft(_path(data.parent, data.key), data))
    except InvalidInput as err:
        return _tag_form(request, session, target, data.model_dump(), _key_errors(err.fields))
    return _back_to_tree(target)


@router.get("/sites/{site}/assets/tags/{tag_id}/edit", response_class=HTMLResponse)
def edit_tag(
    request: Request, site: str, tag_id: int, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    target = authorize_site(session, principal, site, "site.write")
    tag = service.get_tag(session, target, tag_id)
    return _tag_form(request, session, target, _tag_values(tag), {}, tag)


@router.post("/sites/{site}/assets/tags/{tag_id}/edit", response_model=None)
def update_tag(
    request: Request,
    site: str,
    tag_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    data: Annotated[TagForm, Form()],
) -> Response:
    target = authorize_site(session, principal, site, "site.write")
    tag = service.get_tag(session, target, tag_id)
    try:
        service.update_tag(session, target, tag_id, _tag_draft(tag.path, data))
    except InvalidInput as err:
        return _tag_form(request, session, target, data.model_dump(), err.fields, tag)
    return _back_to_tree(target)


@router.post("/sites/{site}/assets/tags/{tag_id}/delete")
def delete_tag(
    site: str, tag_id: int, principal: PrincipalDep, session: SessionDep
) -> RedirectResponse:
    target = authorize_site(session, principal, site, "site.write")
    service.delete_tag(session, target, tag_id)
    return _back_to_tree(target)


# -- helpers --------------------------------------------------------------------------------


def _back_to_tree(site: Site) -> RedirectResponse:
    return RedirectResponse(f"/sites/{site.code}/assets", status_code=303)


def _path(parent: str, key: str) -> str:
    try:
        return child_path(parent or None, key.strip())
    except AssetRuleError as err:
        raise InvalidInput("the key is not valid", fields={"key": err.message}) from err


def _key_errors(fields: dict[str, str]) -> dict[str, str]:
    """A path problem is shown beside the key, the only part of the path the form asks for."""
    errors = dict(fields)
    if "path" in errors:
        errors.setdefault("key", errors.pop("path"))
    return errors


def _number(text: str, name: str) -> float | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError as err:
        problem = Text(N_("{text!r} is not a number"), text=text)
        raise InvalidInput("not a number", fields={name: problem}) from err


def _tag_draft(path: str, data: TagForm) -> TagDraft:
    names = data.states.replace("|", ",").split(",")
    return TagDraft(
        path=path,
        unit=data.unit.strip(),
        kind=data.kind,
        scale=_number(data.scale, "scale"),
        offset=_number(data.offset, "offset"),
        states=tuple(s.strip() for s in names if s.strip()),
        description_vi=data.description_vi.strip(),
        description_en=data.description_en.strip(),
    )


def _tag_values(tag: Tag) -> dict[str, Any]:
    return {
        "unit": tag.unit,
        "kind": tag.kind,
        "scale": "" if tag.scale is None else tag.scale,
        "offset": "" if tag.offset is None else tag.offset,
        "states": ", ".join(tag.states or []),
        "description_vi": tag.description_vi,
        "description_en": tag.description_en,
    }
