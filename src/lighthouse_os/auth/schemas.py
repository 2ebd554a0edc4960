"""API shapes for sites and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class SitePublic(BaseModel):
    """A site as the API shows it to callers who may read it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    org_id: int
    vsic_code: str
    vsic_name: str
    park: str
    district: str
    ward: str
    latitude: float | None
    longitude: float | None
    headcount_band: str
    timezone: str


class TokenPublic(BaseModel):
    """A token's metadata; never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    public_id: str
    name: str
    scope: str
    site_id: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
