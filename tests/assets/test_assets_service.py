"""Asset use cases on SQLite: CRUD, site isolation, revisions and all-or-nothing import."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lighthouse_os.assets import service
from lighthouse_os.assets.hierarchy import NodeDraft, TagDraft
from lighthouse_os.assets.models import AssetNode, Tag
from lighthouse_os.auth.models import Site
from lighthouse_os.errors import Conflict, InvalidInput, NotFound
from tests.support import World

ASSETS_YAML = """
nodes:
  - {path: line1, level: line, name: {vi: "Dây chuyền dập 1", en: "Press line 1"}}
  - {path: line1/press2, level: machine, asset_type: press}
tags:
  - path: line1/press2/kwh
    unit: kW.h
    kind: counter
    description: {vi: "Điện năng tiêu thụ", en: "Energy used"}
  - {path: line1/press2/state, unit: "1", kind: state, states: [off, idle, run, fault]}
"""


def _press(session: Session, site: Site) -> Tag:
    service.create_node(session, site, NodeDraft("line1", "line"))
    service.create_node(session, site, NodeDraft("line1/press2", "machine", asset_type="press"))
    return service.create_tag(session, site, TagDraft("line1/press2/kwh", "kW.h", "counter"))


def test_assets_create_node_and_tag_link_parents(sf_session: Session, site_a1: Site) -> None:
    tag = _press(sf_session, site_a1)
    press = sf_session.get(AssetNode, tag.node_id)
    assert press is not None
    assert press.path == "line1/press2"
    assert press.parent_id is not None
    tree = service.site_tree(sf_session, site_a1)
    assert [n.path for n in tree.nodes] == ["line1", "line1/press2"]
    assert [t.path for t in tree.tags] == ["line1/press2/kwh"]


def test_assets_invalid_node_names_fields(sf_session: Session, site_a1: Site) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.create_node(sf_session, site_a1, NodeDraft("ghost/press", "machine"))
    assert "path" in caught.value.fields


def test_assets_each_change_bumps_the_revision(sf_session: Session, site_a1: Site) -> None:
    assert service.revision(sf_session, site_a1.id) == 0
    tag = _press(sf_session, site_a1)
    assert service.revision(sf_session, site_a1.id) == 3
    service.update_tag(sf_session, site_a1, tag.id, TagDraft("", "kW.h", "counter", scale=0.001))
    assert service.revision(sf_session, site_a1.id) == 4
    assert service.get_tag(sf_session, site_a1, "line1/press2/kwh").scale == 0.001


def test_assets_other_sites_nodes_and_tags_are_not_found(
    sf_session: Session, site_a1: Site, world: World
) -> None:
    tag = _press(sf_session, site_a1)
    other = sf_session.get(Site, world.b1)
    assert other is not None
    with pytest.raises(NotFound):
        service.get_tag(sf_session, other, tag.id)
    with pytest.raises(NotFound):
        service.delete_node(sf_session, other, tag.node_id or 0)


def test_assets_same_path_is_allowed_on_another_site(
    sf_session: Session, site_a1: Site, world: World
) -> None:
    _press(sf_session, site_a1)
    other = sf_session.get(Site, world.b1)
    assert other is not None
    assert _press(sf_session, other).path == "line1/press2/kwh"


def test_assets_node_with_children_cannot_be_deleted(sf_session: Session, site_a1: Site) -> None:
    tag = _press(sf_session, site_a1)
    with pytest.raises(Conflict):
        service.delete_node(sf_session, site_a1, tag.node_id or 0)
    service.delete_tag(sf_session, site_a1, tag.id)
    service.delete_node(sf_session, site_a1, tag.node_id or 0)
    assert service.site_tree(sf_session, site_a1).nodes[-1].path == "line1"


def test_assets_deleted_tag_ids_are_never_reused(sf_session: Session, site_a1: Site) -> None:
    tag = _press(sf_session, site_a1)
    old_id = tag.id
    service.delete_tag(sf_session, site_a1, old_id)
    again = service.create_tag(sf_session, site_a1, TagDraft("line1/press2/kwh", "kW.h", "counter"))
    assert again.id > old_id  # the store's history of the old series must not be inherited


def test_assets_yaml_import_creates_everything(sf_session: Session, site_a1: Site) -> None:
    rows = service.rows_from_file("assets.yaml", ASSETS_YAML.encode())
    report = service.import_assets(sf_session, site_a1, rows)
    assert (report.created_nodes, report.created_tags, report.problems) == (2, 2, ())
    state = service.get_tag(sf_session, site_a1, "line1/press2/state")
    assert state.states == ["off", "idle", "run", "fault"]
    assert service.machines_of_type(sf_session, site_a1.id, "press")[0].path == "line1/press2"


def test_assets_reimport_changes_nothing(sf_session: Session, site_a1: Site) -> None:
    rows = service.rows_from_file("assets.yaml", ASSETS_YAML.encode())
    service.import_assets(sf_session, site_a1, rows)
    revision = service.revision(sf_session, site_a1.id)
    report = service.import_assets(sf_session, site_a1, rows)
    assert (report.created_nodes, report.created_tags, report.unchanged) == (0, 0, 4)
    assert service.revision(sf_session, site_a1.id) == revision + 1


def test_assets_csv_import_is_all_or_nothing(sf_session: Session, site_a1: Site) -> None:
    csv_text = (
        "record,path,level,asset_type,unit,kind,states\n"
        "node,main,area,,,,\n"
        "tag,main/kwh,,,kW.h,counter,\n"
        "tag,main/temp,,,celsius,gauge,\n"
        "tag,main/mode,,,1,state,auto|manual\n"
    )
    rows = service.rows_from_file("assets.csv", csv_text.encode())
    report = service.import_assets(sf_session, site_a1, rows)
    assert [(p.where, p.field) for p in report.problems] == [("line 4", "unit")]
    count = sf_session.scalar(select(func.count()).select_from(AssetNode))
    assert count == 0


def test_assets_dry_run_changes_nothing(sf_session: Session, site_a1: Site) -> None:
    rows = service.rows_from_file("assets.yml", ASSETS_YAML.encode())
    report = service.import_assets(sf_session, site_a1, rows, dry_run=True)
    assert report.created_tags == 2
    assert service.site_tree(sf_session, site_a1).tags == ()


@pytest.mark.parametrize(
    ("name", "data"),
    [("a.txt", b"x"), ("a.yaml", b"nodes: [unclosed"), ("a.yaml", b"- a list"), ("a.csv", b"x\n1")],
)
def test_assets_unreadable_files_are_invalid_input(name: str, data: bytes) -> None:
    with pytest.raises(InvalidInput):
        service.rows_from_file(name, data)
