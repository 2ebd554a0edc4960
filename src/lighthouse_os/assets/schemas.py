"""API shapes of assets: `…Create` in, `…Update` for changes, `…Public` out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lighthouse_os.assets.hierarchy import NodeDraft, TagDraft


class NodeCreate(BaseModel):
    """A new area, line or machine; `path` is the keys from the site down (`line1/press2`)."""

    path: str = Field(examples=["line1/press2"])
    level: str = Field(examples=["machine"])
    name_vi: str = ""
    name_en: str = ""
    asset_type: str = Field(default="", examples=["press"])

    def draft(self) -> NodeDraft:
        return NodeDraft(self.path, self.level, self.name_vi, self.name_en, self.asset_type)


class NodeUpdate(BaseModel):
    """Names and asset type of a node; its path and level never change."""

    name_vi: str = ""
    name_en: str = ""
    asset_type: str = ""


class NodePublic(BaseModel):
    """A node as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    parent_id: int | None
    path: str
    level: str
    key: str
    name_vi: str
    name_en: str
    asset_type: str


class TagDefinition(BaseModel):
    """What a tag measures and how: UCUM unit, kind, scaling (stored = raw x scale + offset)."""

    unit: str = Field(examples=["kW.h"])
    kind: str = Field(examples=["counter"])
    scale: float | None = None
    offset: float | None = None
    states: list[str] = Field(default_factory=list, examples=[["off", "idle", "run", "fault"]])
    description_vi: str = ""
    description_en: str = ""

    def draft(self, path: str = "") -> TagDraft:
        return TagDraft(
            path,
            self.unit,
            self.kind,
            self.scale,
            self.offset,
            tuple(self.states),
            self.description_vi,
            self.description_en,
        )


class TagCreate(TagDefinition):
    """A new tag at `path` (`line1/press2/kwh`, or a bare key for a site-level tag)."""

    path: str = Field(examples=["line1/press2/kwh"])

    def draft(self, path: str = "") -> TagDraft:
        return super().draft(path or self.path)


class TagPublic(BaseModel):
    """A tag as the API shows it; `series_id` keys its data in the time-series store."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    series_id: int
    node_id: int | None
    path: str
    key: str
    unit: str
    kind: str
    scale: float | None
    offset: float | None
    states: list[str]
    description_vi: str
    description_en: str


class AssetTreePublic(BaseModel):
    """Every node and tag of a site, ordered by path."""

    site: str
    nodes: list[NodePublic]
    tags: list[TagPublic]


class NodeForm(BaseModel):
    """The add-node form: the parent's path (empty for the site) and the new key."""

    parent: str = ""
    key: str = ""
    level: str = ""
    name_vi: str = ""
    name_en: str = ""
    asset_type: str = ""


class TagForm(BaseModel):
    """The add/edit-tag form; numbers and states arrive as text and are checked by the service."""

    parent: str = ""
    key: str = ""
    unit: str = ""
    kind: str = ""
    scale: str = ""
    offset: str = ""
    states: str = ""
    description_vi: str = ""
    description_en: str = ""
