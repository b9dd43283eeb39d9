"""Documents shared with the sites before a session: checked, named safely, kept under var/.

The type is read from the content (a PDF starts with %PDF; DOCX, XLSX and PPTX are ZIP
packages with a known inner folder), never trusted from the browser. The file is written
before its row and removed again if writing the row fails, so nothing is half-written (a
failure of the final commit itself would leave an unreferenced file, never a broken row).
"""

from __future__ import annotations

import asyncio
import io
import re
import secrets
import unicodedata
import zipfile
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import quote, unquote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import FieldProblem, Invalid, NotFound, TooLarge
from meetings.core.labels import N_
from meetings.planning.document_models import Document, DocumentPublic
from meetings.planning.lifecycle import get_meeting_row

#: extension → (content type, the folder a genuine package of that type contains)
KINDS: dict[str, tuple[str, str | None]] = {
    "pdf": ("application/pdf", None),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "word/"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xl/"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "ppt/"),
}
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
#: Folders, reserved and control characters (C0, DEL, C1), and the lone surrogates that stand
#: for bytes of a name that were not UTF-8 (they cannot be stored).
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f\ud800-\udfff/\\:*?"<>|]+')


def safe_filename(name: str) -> str:
    """The name without folders, control or reserved characters, NFC, at most 200 chars."""
    if _PERCENT.search(name):  # some clients send RFC 5987-style %XX names
        name = unquote(name)
    base = PureWindowsPath(PurePosixPath(name).name).name
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip(" .")
    stem, dot, ext = cleaned.rpartition(".")
    if not dot:
        stem, ext = cleaned, ""
    stem = stem[: 200 - len(ext) - 1] or "tai-lieu"
    return f"{stem}.{ext.lower()}" if ext else stem


def detect_kind(filename: str, content: bytes) -> str:
    """The extension this content really is, or Invalid naming what is accepted."""
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    if ext not in KINDS:
        raise Invalid(
            "forbidden type",
            [FieldProblem("file", "only PDF, DOCX, XLSX and PPTX files are accepted")],
        )
    _, folder = KINDS[ext]
    if folder is None:
        genuine = content.startswith(b"%PDF-")
    else:
        genuine = _zip_has(content, folder)
    if not genuine:
        raise Invalid(
            "content does not match",
            [
                FieldProblem.of(
                    "file", N_("the file's content is not a valid .{ext} document"), ext=ext
                )
            ],
        )
    return ext


def _zip_has(content: bytes, folder: str) -> bool:
    if not content.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            return any(name.startswith(folder) for name in package.namelist())
    except zipfile.BadZipFile:
        return False


@asynccontextmanager
async def stored_file(path: Path, content: bytes) -> AsyncIterator[None]:
    """Keep the file only if the block (the database work) succeeds."""
    await asyncio.to_thread(_write, path, content)
    try:
        yield
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def checked_file(filename: str, content: bytes, *, max_bytes: int) -> tuple[str, str]:
    """The safe name and real extension of an upload within the size limit, else refused
    (documents and the reports sites send follow the same rule)."""
    if len(content) > max_bytes:
        raise TooLarge.of(
            N_("the file is larger than the limit of {megabytes} MB"),
            megabytes=max_bytes // (1024 * 1024),
        )
    if not content:
        raise Invalid("empty file", [FieldProblem("file", N_("the file is empty"))])
    name = safe_filename(filename)
    return name, detect_kind(name, content)


async def add_document(
    session: AsyncSession,
    meeting_id: int,
    *,
    filename: str,
    content: bytes,
    folder: Path,
    max_bytes: int,
    uploaded_by: str,
) -> DocumentPublic:
    await get_meeting_row(session, meeting_id)
    name, ext = checked_file(filename, content, max_bytes=max_bytes)
    stored_name = f"{meeting_id}/{secrets.token_hex(16)}.{ext}"
    async with stored_file(folder / stored_name, content):
        document = Document(
            meeting_id=meeting_id,
            filename=name,
            stored_name=stored_name,
            content_type=KINDS[ext][0],
            size=len(content),
            uploaded_by=uploaded_by,
        )
        session.add(document)
        await session.flush()  # constraint failures surface here, while the file can go
    return DocumentPublic.model_validate(document)


async def documents_of(
    session: AsyncSession, *, meeting_ids: Collection[int]
) -> dict[int, list[Document]]:
    """The documents of each session, oldest first, in one query (a page or a mail batch
    shows many sessions)."""
    documents: dict[int, list[Document]] = {}
    for document in await session.scalars(
        select(Document)
        .where(col(Document.meeting_id).in_(meeting_ids))
        .order_by(col(Document.meeting_id), col(Document.uploaded_at))
    ):
        documents.setdefault(document.meeting_id, []).append(document)
    return documents


async def session_documents(session: AsyncSession, *, meeting_id: int) -> list[Document]:
    """The documents shared with the sites of one session, oldest first."""
    return (await documents_of(session, meeting_ids=[meeting_id])).get(meeting_id, [])


async def list_documents(session: AsyncSession, meeting_id: int) -> list[DocumentPublic]:
    await get_meeting_row(session, meeting_id)
    rows = await session_documents(session, meeting_id=meeting_id)
    return [DocumentPublic.model_validate(d) for d in rows]


async def get_document(session: AsyncSession, meeting_id: int, document_id: int) -> Document:
    document = await session.get(Document, document_id)
    if document is None or document.meeting_id != meeting_id:
        raise NotFound.of(
            N_("no document {document_id} in session {meeting_id}"),
            document_id=document_id,
            meeting_id=meeting_id,
        )
    return document


async def delete_document(
    session: AsyncSession, meeting_id: int, document_id: int, *, folder: Path
) -> None:
    document = await get_document(session, meeting_id, document_id)
    await session.delete(document)
    await session.flush()
    await asyncio.to_thread((folder / document.stored_name).unlink, missing_ok=True)


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", fallback) or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
