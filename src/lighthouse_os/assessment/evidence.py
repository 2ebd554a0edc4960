"""Evidence files of an assessment: type and size limits, storage under the site's data folder.

Files are stored as ``<data dir>/evidence/site-<site id>/<random hex><extension>``; the original
name is kept in the database only, so an upload can never choose where it is written. A file is
accepted only when its extension is allowed AND its first bytes match that type.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lighthouse_os.assessment import service
from lighthouse_os.assessment.models import EvidenceFile
from lighthouse_os.auth.policy import Action, Principal
from lighthouse_os.errors import InvalidInput, NotFound
from lighthouse_os.settings import Settings
from lighthouse_os.text import N_

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES_PER_ITEM = 10
ZIP = b"PK\x03\x04"
TOO_MANY = N_("At most 10 files per item.")


@dataclass(frozen=True)
class FileType:
    """An accepted type: the content type served back and the leading bytes it must have."""

    content_type: str
    magic: tuple[bytes, ...] = ()  # empty: text, which must decode as UTF-8


FILE_TYPES: dict[str, FileType] = {
    ".pdf": FileType("application/pdf", (b"%PDF-",)),
    ".png": FileType("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": FileType("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": FileType("image/jpeg", (b"\xff\xd8\xff",)),
    ".webp": FileType("image/webp", (b"RIFF",)),
    ".xlsx": FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (ZIP,)),
    ".docx": FileType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (ZIP,)
    ),
    ".pptx": FileType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", (ZIP,)
    ),
    ".csv": FileType("text/csv"),
    ".txt": FileType("text/plain"),
}


def site_folder(settings: Settings, site_id: int) -> Path:
    """The site's evidence folder in the data dir."""
    return settings.data_dir / "evidence" / f"site-{site_id}"


def _clean_name(filename: str) -> str:
    name = PurePath(filename.replace("\\", "/")).name.strip()
    return "".join(ch for ch in name if ch.isprintable())[:200]


def check_upload(filename: str, data: bytes) -> tuple[str, FileType]:
    """(extension, type) of an acceptable file; InvalidInput naming the problem (field ``file``)."""
    ext = PurePath(filename.lower()).suffix
    kind = FILE_TYPES.get(ext)
    problem = None
    if not filename:
        problem = N_("Choose a file to upload.")
    elif kind is None:
        problem = N_("This file type is not accepted.")
    elif not data:
        problem = N_("The file is empty.")
    elif len(data) > MAX_FILE_BYTES:
        problem = N_("The file is larger than 10 MB.")
    elif kind.magic and not data.startswith(kind.magic):
        problem = N_("The content does not match the file type.")
    elif not kind.magic and not _is_utf8(data):
        problem = N_("Text files must be UTF-8.")
    if problem is not None or kind is None:
        raise InvalidInput(f"the file is not accepted: {problem}", fields={"file": str(problem)})
    return ext, kind


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _store(folder: Path, ext: str, data: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16) + ext
    partial = folder / (name + ".part")
    partial.write_bytes(data)
    os.replace(partial, folder / name)  # readers never see half a file
    return name


def add_file(
    session: Session,
    settings: Settings,
    principal: Principal,
    site_ref: int | str,
    assessment_id: int,
    item_id: str,
    *,
    filename: str,
    stream: BinaryIO | None,
) -> EvidenceFile:
    """Attach an uploaded file to a draft answer (read at most 10 MB + 1 byte)."""
    loaded = service.open_assessment(session, principal, site_ref, assessment_id, Action.SITE_WRITE)
    service.require_draft(loaded.assessment)
    service.require_item(loaded.pack, item_id)
    count = session.scalar(
        select(func.count()).where(
            EvidenceFile.assessment_id == assessment_id, EvidenceFile.item_id == item_id
        )
    )
    if (count or 0) >= MAX_FILES_PER_ITEM:
        raise InvalidInput("at most 10 files per item", fields={"file": TOO_MANY})
    data = b"" if stream is None else stream.read(MAX_FILE_BYTES + 1)
    ext, kind = check_upload(filename, data)
    stored = _store(site_folder(settings, loaded.site.id), ext, data)
    row = EvidenceFile(
        assessment_id=assessment_id,
        item_id=item_id,
        filename=_clean_name(filename) or f"evidence{ext}",
        stored_name=stored,
        content_type=kind.content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=principal.user_id,
    )
    session.add(row)
    session.commit()
    return row


def _file(session: Session, assessment_id: int, file_id: int) -> EvidenceFile:
    row = session.get(EvidenceFile, file_id)
    if row is None or row.assessment_id != assessment_id:
        raise NotFound("file not found")
    return row


def open_file(
    session: Session,
    settings: Settings,
    principal: Principal,
    site_ref: int | str,
    assessment_id: int,
    file_id: int,
) -> tuple[EvidenceFile, Path]:
    """An evidence file the caller may read, and where its bytes are."""
    loaded = service.open_assessment(session, principal, site_ref, assessment_id)
    row = _file(session, assessment_id, file_id)
    path = site_folder(settings, loaded.site.id) / row.stored_name
    if not path.is_file():
        raise NotFound("the file is missing from the data folder")
    return row, path


def delete_file(
    session: Session,
    settings: Settings,
    principal: Principal,
    site_ref: int | str,
    assessment_id: int,
    file_id: int,
) -> None:
    """Remove a file from a draft; the bytes go only when no other assessment refers to them."""
    loaded = service.open_assessment(session, principal, site_ref, assessment_id, Action.SITE_WRITE)
    service.require_draft(loaded.assessment)
    row = _file(session, assessment_id, file_id)
    session.delete(row)
    session.flush()
    others = session.scalar(select(func.count()).where(EvidenceFile.stored_name == row.stored_name))
    session.commit()
    if not others:
        (site_folder(settings, loaded.site.id) / row.stored_name).unlink(missing_ok=True)
