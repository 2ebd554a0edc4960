"""Pack registry use cases: register the built-in packs, publish a new version, load a pinned one.

A registered version keeps a snapshot of its YAML files and their SHA-256 digest (ADR 0005). The
loaded ``Pack`` is cached per digest, so each version is parsed once per process.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.errors import Conflict, InvalidInput, NotFound
from lighthouse_os.framework import pack as p
from lighthouse_os.framework.loader import PACKS_DIR, available_packs, load_pack, version_key
from lighthouse_os.framework.models import FrameworkPack
from lighthouse_os.framework.problem import PackInvalidError

_cache: dict[str, p.Pack] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Snapshot:
    """The YAML files of a pack folder (relative POSIX path -> text) and their digest."""

    files: dict[str, str]
    digest: str


def digest_of(files: dict[str, str]) -> str:
    """SHA-256 over the files in path order: name, NUL, UTF-8 text, NUL for each file."""
    hasher = hashlib.sha256()
    for name in sorted(files):
        hasher.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return hasher.hexdigest()


def snapshot(path: Path) -> Snapshot:
    """Read every ``*.yaml`` file below ``path``."""
    files = {
        f.relative_to(path).as_posix(): f.read_text(encoding="utf-8")
        for f in sorted(path.rglob("*.yaml"))
    }
    return Snapshot(files, digest_of(files))


def _remember(digest: str, pack: p.Pack) -> p.Pack:
    with _cache_lock:
        return _cache.setdefault(digest, pack)


def _cached(digest: str) -> p.Pack | None:
    with _cache_lock:
        return _cache.get(digest)


def forget_cached_packs() -> None:
    """Empty the per-process cache of loaded packs (they reload from their snapshots)."""
    with _cache_lock:
        _cache.clear()


def _validated(path: Path) -> p.Pack:
    try:
        return load_pack(path)
    except PackInvalidError as err:
        problems = "; ".join(str(problem) for problem in err.problems[:5])
        raise InvalidInput(f"the pack at {path} is not valid: {problems}") from err


def _materialise(record: FrameworkPack, files: dict[str, str]) -> p.Pack:
    # The loader reads folders; the snapshot is written to a throw-away <id>/<version> folder.
    with tempfile.TemporaryDirectory(prefix="lhos-pack-") as tmp:
        root = Path(tmp) / record.pack_id / record.version
        for name, text in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return load_pack(root)


def pack_of(session: Session, record: FrameworkPack) -> p.Pack:
    """The content of a registered version, from the cache or from its stored snapshot."""
    found = _cached(record.digest)
    if found is not None:
        return found
    files = session.scalar(select(FrameworkPack.files).where(FrameworkPack.id == record.id))
    if files is None:
        raise NotFound(f"framework pack {record.label} is not registered")
    return _remember(record.digest, _materialise(record, files))


def registered(session: Session) -> list[FrameworkPack]:
    """Every registered version, by pack id then version ascending."""
    rows = session.scalars(select(FrameworkPack))
    return sorted(rows, key=lambda r: (r.pack_id, version_key(r.version)))


def find_record(session: Session, pack_id: str, version: str | None = None) -> FrameworkPack:
    """A registered version, or the latest of ``pack_id`` when ``version`` is None."""
    rows = [r for r in registered(session) if r.pack_id == pack_id]
    if version is not None:
        rows = [r for r in rows if r.version == version]
    if not rows:
        wanted = pack_id if version is None else f"{pack_id} {version}"
        raise NotFound(f"no registered framework pack {wanted}")
    return rows[-1]


def latest_records(session: Session) -> list[FrameworkPack]:
    """The latest registered version of each pack id."""
    latest: dict[str, FrameworkPack] = {}
    for record in registered(session):
        latest[record.pack_id] = record
    return list(latest.values())


def _record(pack: p.Pack, snap: Snapshot, origin: str) -> FrameworkPack:
    return FrameworkPack(
        pack_id=pack.id,
        version=pack.version,
        method=pack.method,
        title_vi=pack.title.vi,
        title_en=pack.title.en,
        digest=snap.digest,
        origin=origin,
        files=snap.files,
    )


def _existing(session: Session, pack: p.Pack) -> FrameworkPack | None:
    return session.scalar(
        select(FrameworkPack).where(
            FrameworkPack.pack_id == pack.id, FrameworkPack.version == pack.version
        )
    )


def register_folder(
    session: Session,
    path: Path,
    *,
    origin: str,
    may_replace: Callable[[FrameworkPack], bool] = lambda _record: False,
) -> tuple[FrameworkPack, str]:
    """Register the pack folder ``path`` (flushes, does not commit); returns the record and what
    happened: ``added``, ``unchanged``, ``replaced`` or ``kept`` (content differs but the version
    is pinned, so the registered copy stays)."""
    snap = snapshot(path)
    # Validating lighthouse-os takes ~0.3 s; an unchanged folder is validated once per process.
    pack = _cached(snap.digest) or _remember(snap.digest, _validated(path))
    record = _existing(session, pack)
    if record is None:
        record = _record(pack, snap, origin)
        session.add(record)
        session.flush()
        return record, "added"
    if record.digest == snap.digest:
        return record, "unchanged"
    if not may_replace(record):
        return record, "kept"
    record.digest, record.files = snap.digest, snap.files
    record.title_vi, record.title_en = pack.title.vi, pack.title.en
    session.flush()
    return record, "replaced"


def register_builtin_packs(
    session: Session,
    *,
    root: Path = PACKS_DIR,
    may_replace: Callable[[FrameworkPack], bool] = lambda _record: False,
) -> list[str]:
    """Register every built-in pack version (caller commits); one line per version."""
    lines = []
    for ref in available_packs(root):
        record, outcome = register_folder(
            session, ref.path, origin="builtin", may_replace=may_replace
        )
        note = {
            "kept": " (files differ from the pinned copy; publish changes as a new version)",
        }.get(outcome, "")
        lines.append(f"{record.label}: {outcome}{note}")
    return lines


def publish_pack(session: Session, path: Path) -> tuple[FrameworkPack, str]:
    """Publish a new pack version from a folder ``<id>/<version>/``; Conflict if that version is
    already registered with other content (a published version never changes)."""
    if not path.is_dir():
        raise InvalidInput(f"{path} is not a pack folder")
    record, outcome = register_folder(session, path, origin="published")
    if outcome == "kept":
        raise Conflict(
            f"{record.label} is already registered with other content; publish a new version"
        )
    session.commit()
    return record, outcome
