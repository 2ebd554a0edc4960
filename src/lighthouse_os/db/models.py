"""Imports every feature's ORM models so `Base.metadata` is complete (Alembic, tests)."""

from lighthouse_os.alerts import models as alert_models  # noqa: F401
from lighthouse_os.assessment import models as assessment_models  # noqa: F401
from lighthouse_os.assets import models as asset_models  # noqa: F401
from lighthouse_os.auth import models as auth_models
from lighthouse_os.db.base import Base, MetaEntry
from lighthouse_os.environment import models as environment_models  # noqa: F401
from lighthouse_os.kpi import models as kpi_models  # noqa: F401
from lighthouse_os.telemetry import models as telemetry_models  # noqa: F401

__all__ = ["Base", "MetaEntry", "auth_models"]
