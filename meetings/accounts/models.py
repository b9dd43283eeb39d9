"""Tables and schemas of the register (clusters, sites, contacts) and of accounts.

Each entity is a family: `XBase` (validated fields) → `XCreate` / `XUpdate` → `X`
(the table) → `XPublic` (what the API returns; never the table itself).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, EmailStr, StringConstraints
from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime, utcnow
from meetings.core.types import Count, Id, Line, Patch, nfc


class Role(StrEnum):
    """What an account may do; each route names the roles it admits."""

    admin = "admin"
    organiser = "organiser"
    secretary = "secretary"
    chair = "chair"
    #: A cluster's leading union (cụm trưởng): plans and runs its cluster's meetings and
    #: follows its sites' action items; sees nothing of other clusters (`User.cluster_id`).
    cluster_leader = "cluster_leader"


class UserBase(SQLModel):
    username: Annotated[
        str,
        BeforeValidator(nfc),
        StringConstraints(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$"),
    ] = Field(unique=True, index=True, max_length=64)
    full_name: Line = Field(default="", max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    role: Role = Field(default=Role.organiser, sa_type=String(16))
    is_active: bool = Field(default=True)


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1)
    password_hash: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Written into each login cookie; raising it (logout, new password, account disabled)
    #: ends every session the user holds, since cookies cannot be recalled.
    session_generation: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    #: The cluster a cluster leader's account is scoped to (None for every other role).
    cluster_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("cluster.id", ondelete="SET NULL"), nullable=True),
    )


class UserCreate(UserBase):
    password: str = Field(min_length=10, max_length=200)
    #: Required for a cluster leader (its cluster), ignored for every other role.
    cluster_id: Id | None = None


class UserUpdate(Patch):
    nullable = frozenset({"email", "cluster_id"})

    version: Count
    full_name: Line | None = Field(default=None, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)
    cluster_id: Id | None = None


class UserPublic(UserBase):
    id: int
    version: int
    #: A cluster leader's cluster.
    cluster_id: int | None = None
    last_login_at: datetime | None = None


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts; only its SHA-256 is kept."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(default="", max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """Failed logins, counted per user name and per address to throttle guessing."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    address: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (
        Index("ix_loginattempt_username_at", "username", "at"),
        Index("ix_loginattempt_address_at", "address", "at"),
    )
