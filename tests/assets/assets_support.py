"""Path values for the access matrix: a real area and tag on the target site of each cell."""

from __future__ import annotations

import itertools
from typing import Any

from lighthouse_os.assets import service as assets
from lighthouse_os.assets.hierarchy import NodeDraft, TagDraft
from lighthouse_os.auth.tenants import get_site
from lighthouse_os.db.engine import make_engine, make_session_factory
from lighthouse_os.settings import Settings

_counter = itertools.count(1)


def _node(settings: Settings, site: str, _path: str) -> int:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        draft = NodeDraft(path=f"matrix{next(_counter)}", level="area", name_en="Area")
        node_id = assets.create_node(session, get_site(session, site), draft).id
    engine.dispose()
    return node_id


def _tag(settings: Settings, site: str, _path: str) -> int:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        draft = TagDraft(path=f"matrix{next(_counter)}", unit="kW.h", kind="counter")
        tag_id = assets.create_tag(session, get_site(session, site), draft).id
    engine.dispose()
    return tag_id


ASSET_PATH_VALUES: dict[str, Any] = {"node_id": _node, "tag_id": _tag}
