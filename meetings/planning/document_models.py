"""Tables and schemas of the documents shared with a session's sites (the bytes live
under var/, `meetings.planning.documents`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime, utcnow


class Document(SQLModel, table=True):
    """A file shared with the sites before the session; the bytes live under var/."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    filename: str = Field(max_length=255)
    stored_name: str = Field(max_length=100, unique=True)
    content_type: str = Field(max_length=100)
    size: int
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    uploaded_by: str = Field(default="", max_length=64)


class DocumentPublic(SQLModel):
    id: int
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime
    uploaded_by: str
