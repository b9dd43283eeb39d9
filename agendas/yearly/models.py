"""The year at a glance as the JSON API returns it (no table: every figure is computed)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import SQLModel

from agendas.yearly.stats import Figures, YearlyReport


class FiguresPublic(SQLModel):
    """Counts, and each measure's rate in percent (one decimal; null with nothing to
    count): attended of invited, rsvp_on_time of invited, reports_on_time of reports_due,
    answered of recommendations, actions_on_time of actions_due."""

    invited: int
    attended: int
    rsvp_on_time: int
    reports_due: int
    reports_on_time: int
    recommendations: int
    answered: int
    actions_due: int
    actions_on_time: int
    rates: dict[str, float | None]


class ClusterYearPublic(SQLModel):
    cluster_id: int | None
    name: str
    figures: FiguresPublic


class ClusterSessionPublic(SQLModel):
    """One cluster's attendance in one session (the chart of clusters across the year)."""

    cluster_id: int | None
    invited: int
    attended: int
    rate: float | None


class SessionYearPublic(SQLModel):
    meeting_id: int
    title: str
    starts_at: datetime
    figures: FiguresPublic
    clusters: list[ClusterSessionPublic]


class SiteYearPublic(SQLModel):
    site_id: int
    code: str
    name: str
    cluster_id: int | None
    figures: FiguresPublic


class YearlyPublic(SQLModel):
    year: int
    series_id: int | None
    series_name: str | None
    generated_at: datetime
    totals: FiguresPublic
    clusters: list[ClusterYearPublic]
    sessions: list[SessionYearPublic]
    #: Every site invited in the year.
    sites: list[SiteYearPublic]


def figures_public(figures: Figures) -> FiguresPublic:
    return FiguresPublic.model_construct(**vars(figures), rates=figures.rates())


def yearly_public(report: YearlyReport) -> YearlyPublic:
    return YearlyPublic.model_construct(
        year=report.year,
        series_id=report.series_id,
        series_name=report.series_name,
        generated_at=report.generated_at,
        totals=figures_public(report.totals),
        clusters=[
            ClusterYearPublic.model_construct(
                cluster_id=c.cluster_id, name=c.name, figures=figures_public(c.figures)
            )
            for c in report.clusters
        ],
        sessions=[
            SessionYearPublic.model_construct(
                meeting_id=s.meeting_id,
                title=s.title,
                starts_at=s.starts_at,
                figures=figures_public(s.figures),
                clusters=[
                    ClusterSessionPublic.model_construct(
                        cluster_id=cid,
                        invited=f.invited,
                        attended=f.attended,
                        rate=f.rates()["attended"],
                    )
                    for cid, f in s.by_cluster.items()
                ],
            )
            for s in report.sessions
        ],
        sites=[
            SiteYearPublic.model_construct(
                site_id=s.site_id,
                code=s.code,
                name=s.name,
                cluster_id=s.cluster_id,
                figures=figures_public(s.figures),
            )
            for s in report.sites
        ],
    )
