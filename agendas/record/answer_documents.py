"""The document an answer to a recommendation may carry (issue #16): checked like a
session document (type read from the content, size limit [documents] max_size_mb), kept
under the documents folder, listed with the answer and attached to the answer's mail.

A new document replaces the previous one (removed once the new row is written). Given
with the answer, it goes in the answer's mail; added to an answer already given, the
answer is mailed again with it (a changed answer).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from agendas.record.models import Recommendation, RecommendationStatus
from meetings.core import signals
from meetings.core.errors import NotFound
from meetings.core.labels import N_
from meetings.core.store import bump_version
from meetings.planning.documents import KINDS, checked_file, stored_file

#: The answers' documents, beside the sessions' ones.
FOLDER = "recommendations"


@dataclass(frozen=True)
class Upload:
    """A file sent with an answer, and where and how large it may be kept."""

    filename: str
    content: bytes
    folder: Path
    max_bytes: int


@asynccontextmanager
async def kept(row: Recommendation, upload: Upload | None) -> AsyncIterator[None]:
    """The upload checked, written and named on `row` for the block (which writes the
    row): removed again if the block fails; the replaced file removed if it succeeds."""
    if upload is None:
        yield
        return
    name, ext = checked_file(upload.filename, upload.content, max_bytes=upload.max_bytes)
    stored_name = f"{FOLDER}/{secrets.token_hex(16)}.{ext}"
    old_name = row.answer_stored_name
    async with stored_file(upload.folder / stored_name, upload.content):
        row.answer_filename = name
        row.answer_stored_name = stored_name
        row.answer_content_type = KINDS[ext][0]
        row.answer_size = len(upload.content)
        yield
    if old_name:
        await asyncio.to_thread((upload.folder / old_name).unlink, missing_ok=True)


async def _row(session: AsyncSession, recommendation_id: int) -> Recommendation:
    row = await session.get(Recommendation, recommendation_id)
    if row is None:
        raise NotFound.of(
            N_("no recommendation {recommendation_id}"), recommendation_id=recommendation_id
        )
    return row


async def attach(
    session: AsyncSession, recommendation_id: int, upload: Upload, *, version: int | None = None
) -> Recommendation:
    """The answer's document, new or replaced; an answer already given is mailed again."""
    row = await _row(session, recommendation_id)
    await bump_version(session, row, row.version if version is None else version)
    async with kept(row, upload):
        await session.flush()
    if row.status == RecommendationStatus.answered:
        await signals.of(session).recommendation_answered.send(session, recommendation_id)
    return row


async def document_of(session: AsyncSession, recommendation_id: int) -> Recommendation:
    """The recommendation whose answer's document is asked for (404 without one)."""
    row = await _row(session, recommendation_id)
    if not row.answer_stored_name:
        raise NotFound.of(
            N_("the answer to recommendation {recommendation_id} has no document"),
            recommendation_id=recommendation_id,
        )
    return row
