"""The register's health for the administrator: what would stop a site from being invited,
reminded or connected (no cluster, no e-mail, no technical contact, no video endpoint).
One query, whatever the size of the register."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.register.bounces import reachable
from meetings.register.models import Cluster, Contact, ContactRole, Site


@dataclass(frozen=True)
class RegisterHealth:
    sites: int
    clusters: int
    #: Sites in no cluster (cluster invitations and reports miss them).
    without_cluster: int
    #: Sites nobody can be mailed at: no address, or every one bounced (nothing reaches
    #: them).
    without_email: int
    #: Sites without a technical contact (the rehearsal notice goes to their first contact).
    without_technical: int
    #: Sites without a video endpoint.
    without_endpoint: int

    @property
    def is_healthy(self) -> bool:
        return not (
            self.without_cluster
            or self.without_email
            or self.without_technical
            or self.without_endpoint
        )


async def register_health(session: AsyncSession) -> RegisterHealth:
    mailed = select(col(Contact.site_id)).where(reachable())
    technical = select(col(Contact.site_id)).where(col(Contact.role) == ContactRole.technical)

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = (
        await session.execute(
            select(
                func.count(),
                count(col(Site.cluster_id).is_(None)),
                count(col(Site.id).not_in(mailed)),
                count(col(Site.id).not_in(technical)),
                count(col(Site.endpoint) == ""),
                select(func.count()).select_from(Cluster).scalar_subquery(),
            ).select_from(Site)
        )
    ).one()
    return RegisterHealth(
        sites=row[0],
        clusters=row[5],
        without_cluster=row[1],
        without_email=row[2],
        without_technical=row[3],
        without_endpoint=row[4],
    )
