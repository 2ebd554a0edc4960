"""Set-up steps shared by `lhos init`, `lhos demo` and the tests: data dir, migrations, content."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from lighthouse_os import __version__
from lighthouse_os.assessment.service import load_framework_packs
from lighthouse_os.db.base import MetaEntry
from lighthouse_os.db.engine import make_engine, make_session_factory, session_scope
from lighthouse_os.db.migrate import upgrade
from lighthouse_os.settings import Settings, ensure_data_dir

Step = Callable[[Settings, Session], str]


@dataclass(frozen=True)
class InitReport:
    """What `initialise` did, for the CLI's text and JSON output."""

    data_dir: str
    database_url: str
    timeseries_url: str
    steps: tuple[str, ...]


def _record_version(_settings: Settings, session: Session) -> str:
    session.merge(MetaEntry(key="version", value=__version__))
    return f"schema at version {__version__}"


# Built-in content loaders, in order; features append theirs (framework packs, limits, ...).
CONTENT_STEPS: list[Step] = [_record_version, load_framework_packs]


def initialise(settings: Settings, progress: Callable[[str], None] = lambda _m: None) -> InitReport:
    """Create the data dir, migrate the database and load the built-in content. Idempotent."""
    ensure_data_dir(settings)
    progress("migrating database")
    url = settings.resolved_database_url
    upgrade(url)
    engine = make_engine(url)
    done: list[str] = ["data dir ready", "database migrated"]
    try:
        factory = make_session_factory(engine)
        for step in CONTENT_STEPS:
            progress(step.__name__.strip("_").replace("_", " "))
            with session_scope(factory) as session:
                done.append(step(settings, session))
    finally:
        engine.dispose()
    return InitReport(
        data_dir=str(settings.data_dir.resolve()),
        database_url=_redact(url),
        timeseries_url=_redact(settings.resolved_timeseries_url),
        steps=tuple(done),
    )


def _redact(url: str) -> str:
    """Hide a password in a URL before printing it."""
    from sqlalchemy.engine import make_url

    if url.startswith("duckdb:"):
        return url
    return make_url(url).render_as_string(hide_password=True)
