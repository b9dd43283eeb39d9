"""Tables and schemas of the register (clusters, sites, contacts) and of accounts.

Each entity is a family: `XBase` (validated fields) → `XCreate` / `XUpdate` → `X`
(the table) → `XPublic` (what the API returns; never the table itself).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, EmailStr, StringConstraints
from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from meetings.store import UTCDateTime, utcnow


def nfc(value: Any) -> Any:
    """Vietnamese text arrives composed or decomposed; store one form (NFC), trimmed."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


def _no_line_breaks(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must be on one line")
    return value


Text = Annotated[str, BeforeValidator(nfc)]
Line = Annotated[str, BeforeValidator(nfc), AfterValidator(_no_line_breaks)]
Code = Annotated[
    str,
    BeforeValidator(nfc),
    StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
]
TimeZoneName = Annotated[str, BeforeValidator(nfc), AfterValidator(_check_timezone)]
#: A UI and e-mail language (the catalogs that exist).
SiteLocale = Literal["vi", "en"]


def search_key(*parts: str | None) -> str:
    """Lower-case text without diacritics, so that "ha noi" finds "Hà Nội"."""
    text = " ".join(p for p in parts if p).replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def word_conditions(column: Any, query: str | None) -> list[Any]:
    """One LIKE per word of `query` against a `search_key` column: every word must match."""
    conditions = []
    for word in search_key(query or "").split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(column.like(f"%{escaped}%", escape="\\"))
    return conditions


class Role(StrEnum):
    """What an account may do; each route names the roles it admits."""

    admin = "admin"
    organiser = "organiser"
    secretary = "secretary"
    chair = "chair"


class ContactRole(StrEnum):
    head = "head"
    secretary = "secretary"
    technical = "technical"
    other = "other"


# --- clusters --------------------------------------------------------------------------


class ClusterBase(SQLModel):
    code: Code = Field(max_length=32, unique=True, index=True)
    name: Line = Field(min_length=1, max_length=200)
    #: The cluster's leader site (cụm trưởng) and deputy (cụm phó) for `leader_year`.
    leader_site_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("site.id", ondelete="SET NULL", use_alter=True, name="fk_cluster_leader"),
            nullable=True,
        ),
    )
    deputy_site_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("site.id", ondelete="SET NULL", use_alter=True, name="fk_cluster_deputy"),
            nullable=True,
        ),
    )
    leader_year: int | None = Field(default=None, ge=1990, le=2100)


class Cluster(ClusterBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ClusterCreate(ClusterBase):
    pass


class ClusterUpdate(SQLModel):
    version: int
    code: Code | None = None
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    leader_site_id: int | None = None
    deputy_site_id: int | None = None
    leader_year: int | None = Field(default=None, ge=1990, le=2100)


class ClusterPublic(ClusterBase):
    id: int
    version: int
    site_count: int = 0


# --- contacts --------------------------------------------------------------------------


class ContactBase(SQLModel):
    name: Line = Field(min_length=1, max_length=200)
    title: Line = Field(default="", max_length=200)
    email: EmailStr = Field(max_length=254)
    phone: Line = Field(default="", max_length=40)
    role: ContactRole = Field(default=ContactRole.other, sa_type=String(16))


class Contact(ContactBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("site.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    #: Order of the contact within its site (0 first), kept so exports round-trip.
    position: int = Field(default=0)


class ContactIn(ContactBase):
    pass


class ContactPublic(ContactBase):
    id: int


# --- sites -----------------------------------------------------------------------------


class SiteBase(SQLModel):
    code: Code = Field(max_length=32, unique=True, index=True)
    name: Line = Field(min_length=1, max_length=200)
    province: Line = Field(default="", max_length=100)
    cluster_id: int | None = Field(
        default=None, foreign_key="cluster.id", index=True, ondelete="RESTRICT"
    )
    #: IANA zone of the site; empty means the organisation's zone.
    timezone: TimeZoneName | None = Field(default=None, max_length=64)
    address: Text = Field(default="", max_length=500)
    #: The site's video endpoint (room system address, SIP URI, or dial-in).
    endpoint: Line = Field(default="", max_length=500)
    #: Language of the site's e-mails and page; empty means the organisation's.
    locale: SiteLocale | None = Field(default=None, sa_type=String(8))


class Site(SiteBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1)
    #: Diacritic-free lower-case code, name and province, for search.
    search_text: str = Field(default="", max_length=400)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (Index("ix_site_cluster_name", "cluster_id", "name"),)


class SiteCreate(SiteBase):
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)


class SiteUpdate(SQLModel):
    """PATCH body: only the fields sent change; `contacts`, when sent, replaces the list."""

    version: int
    code: Code | None = None
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    province: Line | None = Field(default=None, max_length=100)
    cluster_id: int | None = None
    timezone: TimeZoneName | None = None
    address: Text | None = Field(default=None, max_length=500)
    endpoint: Line | None = Field(default=None, max_length=500)
    locale: SiteLocale | None = None
    contacts: list[ContactIn] | None = Field(default=None, max_length=50)


class SitePublic(SiteBase):
    id: int
    version: int
    cluster_code: str | None = None
    cluster_name: str | None = None
    contacts: list[ContactPublic] = []
    created_at: datetime
    updated_at: datetime


# --- accounts --------------------------------------------------------------------------


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


class UserCreate(UserBase):
    password: str = Field(min_length=10, max_length=200)


class UserUpdate(SQLModel):
    version: int
    full_name: Line | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)


class UserPublic(UserBase):
    id: int
    version: int
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
