"""Imports every feature's ORM models so `Base.metadata` is complete (Alembic, tests)."""

from lighthouse_os.auth import models as auth_models
from lighthouse_os.db.base import Base, MetaEntry

__all__ = ["Base", "MetaEntry", "auth_models"]
