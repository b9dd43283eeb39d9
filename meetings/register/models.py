"""Tables and schemas of the register (clusters, sites, contacts) and of accounts.

Each entity is a family: `XBase` (validated fields) → `XCreate` / `XUpdate` → `X`
(the table) → `XPublic` (what the API returns; never the table itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import EmailStr
from sqlalchemy import Column, ForeignKey, Index, Integer, String, func, text
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime, utcnow
from meetings.core.types import (
    MAX_INT,
    Code,
    Count,
    Id,
    Line,
    Patch,
    SiteLocale,
    Text,
    TimeZoneName,
)


class ContactRole(StrEnum):
    head = "head"
    secretary = "secretary"
    technical = "technical"
    other = "other"


class ClusterBase(SQLModel):
    code: Code = Field(max_length=32, unique=True, index=True)
    name: Line = Field(min_length=1, max_length=200)
    #: The cluster's leader site (cụm trưởng) and deputy (cụm phó) for `leader_year`.
    leader_site_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_INT,
        sa_column=Column(
            Integer,
            ForeignKey("site.id", ondelete="SET NULL", use_alter=True, name="fk_cluster_leader"),
            nullable=True,
        ),
    )
    deputy_site_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_INT,
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


class ClusterUpdate(Patch):
    nullable = frozenset({"leader_site_id", "deputy_site_id", "leader_year"})

    version: Count
    code: Code | None = None
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    leader_site_id: Id | None = None
    deputy_site_id: Id | None = None
    leader_year: int | None = Field(default=None, ge=1990, le=2100)


class ClusterPublic(ClusterBase):
    id: int
    version: int
    site_count: int = 0


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
    #: Mail to this address bounced for good (a 5.x.x delivery status): when, and the
    #: server's reason. Cleared when the address changes.
    bounced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bounce_reason: str = Field(default="", max_length=500)

    #: Inbound mail names contacts by address as it was written, whatever the case.
    __table_args__ = (Index("ix_contact_email_lower", func.lower(text("email"))),)


class ContactIn(ContactBase):
    pass


class ContactPublic(ContactBase):
    id: int
    #: Mail to this address bounced for good: when, and the server's reason (None: not).
    bounced_at: datetime | None = None
    bounce_reason: str = ""

    @classmethod
    def of_stored(cls, row: Mapping[Any, Any]) -> ContactPublic:
        """A stored contact's columns (at least this model's fields), validated when they
        were written: read back without validating again (no address is checked on a
        read), the same JSON."""
        values = {name: row[name] for name in cls.model_fields}
        values["role"] = ContactRole(values["role"])
        return cls.model_construct(**values)


class SiteBase(SQLModel):
    code: Code = Field(max_length=32, unique=True, index=True)
    name: Line = Field(min_length=1, max_length=200)
    province: Line = Field(default="", max_length=100)
    cluster_id: int | None = Field(
        default=None, foreign_key="cluster.id", index=True, ondelete="RESTRICT", ge=1, le=MAX_INT
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


class BounceClear(SQLModel):
    """POST …/contacts/{contact_id}/bounce/clear: the site's version the organiser saw."""

    version: Count


class SiteCreate(SiteBase):
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)


class SiteUpdate(Patch):
    """PATCH body: only the fields sent change; `contacts`, when sent, replaces the list."""

    nullable = frozenset({"cluster_id", "timezone", "locale"})

    version: Count
    code: Code | None = None
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    province: Line | None = Field(default=None, max_length=100)
    cluster_id: Id | None = None
    timezone: TimeZoneName | None = Field(default=None, max_length=64)
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

    @classmethod
    def of_stored(
        cls, site: Site, contacts: list[ContactPublic], cluster: Cluster | None
    ) -> SitePublic:
        """A stored site with its contacts and cluster, as ContactPublic.of_stored."""
        own = cls.model_fields.keys() & Site.model_fields.keys()
        values = {name: getattr(site, name) for name in own}
        return cls.model_construct(
            **values,
            contacts=contacts,
            cluster_code=cluster.code if cluster else None,
            cluster_name=cluster.name if cluster else None,
        )
