"""A register file received onto disk as it arrives, and never read past [imports] max_size_mb.

The body is streamed in chunks to a file under `var/imports/`; the moment it passes the
limit the upload is refused (413) and the rest is not read. A form already parsed (the
CSRF check parses forms sent with a cookie; aiohttp keeps file fields on disk) is copied
within the same limit. The file then goes to `imports.import_sites` by its path.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aiohttp import BodyPartReader, hdrs, web

from meetings.core.errors import FieldProblem, Invalid
from meetings.core.keys import settings_key
from meetings.core.labels import N_
from meetings.core.settings import ImportSettings
from meetings.core.web import MALFORMED_FORM, form_data
from meetings.register.files import FileKind, kind_from_name, over_size

#: The media types of a file sent as the whole body.
KINDS: dict[str, FileKind] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}

CHUNK = 64 * 1024

#: Room in a multipart body for the part headers and the form's other fields.
FORM_SLACK = 64 * 1024


class NoFile(Invalid):
    """The request has no file: no field 'file', or one without a name (a browser sends
    that when none was chosen)."""

    def __init__(self) -> None:
        problem = FieldProblem("file", N_("send the file in a form field named 'file'"))
        super().__init__("no file", [problem])


@dataclass(frozen=True)
class Upload:
    """The received file: on disk as `<token>.<kind>`, and its name as sent ("" if none)."""

    path: Path
    kind: FileKind
    filename: str


#: A preview never confirmed is dropped after this long.
LIFETIME_SECONDS = 24 * 3600


def folder(request: web.Request) -> Path:
    """Where uploads wait (a page's preview keeps its file there until confirmed)."""
    return request.app[settings_key].var_dir / "imports"


def forget_old(into: Path) -> None:
    """Previews that were never confirmed, and uploads cut off, are dropped after a day."""
    cutoff = time.time() - LIFETIME_SECONDS
    for path in into.glob("*.*"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


async def receive(
    request: web.Request, limits: ImportSettings, *, from_page: bool = False
) -> Upload:
    """The file of the request (the whole body, or the form field 'file'), saved under
    `folder(request)`; `OverLimit` (413) as soon as it passes `limits.max_bytes`.

    A page's form must name its file (`NoFile` otherwise, as for any other body); the API
    also takes a part without a name whose media type says the kind.
    """
    length = request.content_length
    if request.content_type in KINDS:
        if length is not None and length > limits.max_bytes:
            raise over_size(limits)  # said up front: not a byte of it is read
        kind = KINDS[request.content_type]
        chunks = request.content.iter_chunked(CHUNK)
        return Upload(await _save(chunks, folder(request), kind, limits), kind, "")
    if request.content_type != "multipart/form-data":
        if from_page:
            raise NoFile()
        raise web.HTTPUnsupportedMediaType(
            text="send the file as text/csv, as application/vnd.openxmlformats-officedocument"
            ".spreadsheetml.sheet, or as multipart/form-data with a field named 'file'"
        )
    if length is not None and length > limits.max_bytes + FORM_SLACK:
        raise over_size(limits)
    try:
        if request.content.at_eof():  # parsed already, by the CSRF check
            return await _from_form(request, limits, from_page)
        return await _from_parts(request, limits, from_page)
    except MALFORMED_FORM:
        raise web.HTTPBadRequest(text="the body is not a well-formed multipart/form-data") from None


async def _from_parts(request: web.Request, limits: ImportSettings, from_page: bool) -> Upload:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == "file":
            media = part.headers.get(hdrs.CONTENT_TYPE, "").split(";")[0].strip().lower()
            kind = _kind(part.filename or "", media, from_page)
            path = await _save(_part_chunks(part), folder(request), kind, limits)
            return Upload(path, kind, part.filename or "")
        await part.release()
    raise NoFile()


async def _from_form(request: web.Request, limits: ImportSettings, from_page: bool) -> Upload:
    upload = (await form_data(request)).get("file")
    if not isinstance(upload, web.FileField):
        raise NoFile()
    kind = _kind(upload.filename or "", upload.content_type, from_page)
    path = await _save(_file_chunks(upload.file), folder(request), kind, limits)
    return Upload(path, kind, upload.filename or "")


def _kind(filename: str, media: str, from_page: bool) -> FileKind:
    """From the file's name; without a name, from its media type (not on a page)."""
    if not filename and from_page:
        raise NoFile()
    if filename or media not in KINDS:
        return kind_from_name(filename)
    return KINDS[media]


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


async def _file_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := file.read(CHUNK):
        yield chunk


async def _save(
    chunks: AsyncIterator[bytes], into: Path, kind: FileKind, limits: ImportSettings
) -> Path:
    """The chunks written to `<into>/<new token>.<kind>`, stopping at the limit; nothing
    is left behind by an upload refused or cut off."""
    path, out = await asyncio.to_thread(_create, into, kind)
    size = 0
    try:
        with out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limits.max_bytes:
                    raise over_size(limits)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _create(into: Path, kind: FileKind) -> tuple[Path, IO[bytes]]:
    into.mkdir(parents=True, exist_ok=True)
    path = into / f"{secrets.token_urlsafe(24)}.{kind}"
    return path, path.open("xb")
