"""Import and export of the site register (CSV and XLSX), all-or-nothing."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

FileKind = Literal["csv", "xlsx"]


class ImportRow(BaseModel):
    """What the import does (or would do, in a dry run) with one line of the file."""

    line: int
    code: str
    name: str
    cluster_code: str | None = None
    action: Literal["create", "update", "unchanged"]


class ImportReport(BaseModel):
    dry_run: bool
    total: int
    created: int
    updated: int
    unchanged: int
    rows: list[ImportRow]


async def import_sites(
    session: AsyncSession, *, content: bytes, kind: FileKind, dry_run: bool
) -> ImportReport:
    raise NotImplementedError


async def export_sites_csv(session: AsyncSession) -> bytes:
    raise NotImplementedError


def kind_from_name(filename: str) -> FileKind:
    raise NotImplementedError
