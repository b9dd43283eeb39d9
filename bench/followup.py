"""The year at a glance under a year's load: the page, the XLSX and the PDF of 12 sessions
× 5,000 sites, against the floor of the grouped queries alone.

    .venv/bin/python bench/followup.py [--sites 5000] [--sessions 12] [--runs 7]
                                       [--postgres URL]

Builds a fresh SQLite file (or, with `--postgres URL`, a scratch PostgreSQL database,
emptied first) with bulk inserts: 5 clusters, `--sites` sites, one series of `--sessions`
ended sessions last year (one a month) inviting every site, each site's answer (most in
time, some late, some never), its attendance (connected, present, late, left, absent or
never seen), one report request per session with most sites' uploads (some late), 300
recommendations and 500 action items per session (owned by sites and clusters, due a
month later, done in time, late or not at all). Then it serves the real app
(`create_app`, aiohttp's TestServer on loopback) and, after one warm-up of each, measures
`--runs` times, interleaved in each run:

- the page `GET /yearly?year=Y` (HTML with its three charts as SVG images inside, their
  tables and the first 100 sites),
- `GET /api/v1/yearly.xlsx` (every site) and `GET /api/v1/yearly.pdf`,
- the floor: `agendas.yearly.stats.yearly_report` called directly on the same database
  (the grouped queries and their sums, no HTTP, no rendering).

Printed: the median and the spread (min–max) of each, the ratio of each median to the
floor's, and PASS/MISS against the target (each < 2 s); beside them the median CPU
seconds of the process (every thread: the server runs in it), which move less than the
wall clock on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from invitations import wipe_postgres  # noqa: E402  (bench/, this script's folder)
from pydantic_core import PydanticUndefined  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from sqlmodel import SQLModel, col  # noqa: E402

import meetings.core.tables  # noqa: E402, F401  (every table, for the PostgreSQL wipe)
from agendas.record.models import ActionItem, Recommendation  # noqa: E402
from agendas.yearly import stats  # noqa: E402
from meetings.accounts import accounts  # noqa: E402
from meetings.accounts.models import Role, UserCreate  # noqa: E402
from meetings.core.app import create_app  # noqa: E402
from meetings.core.migrate import upgrade  # noqa: E402
from meetings.core.settings import Settings, load_settings  # noqa: E402
from meetings.core.store import SessionMaker, create_engine, session_maker, table_of  # noqa: E402
from meetings.planning.models import Meeting, Participation, Series  # noqa: E402
from meetings.planning.request_models import ReportRequest, SiteReport  # noqa: E402
from meetings.register.models import Cluster, Site  # noqa: E402

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
CLUSTERS = 5
RECOMMENDATIONS = 300
ACTIONS = 500
TARGET_SECONDS = 2.0
CHUNK = 5000
ATTENDANCE = ("present", "present", "connected", "late", "left", "absent", None)


def settings_for(folder: Path, url: str | None) -> Settings:
    sections: dict[str, dict[str, Any]] = {
        "server": {"var_dir": str(folder / "var")},
        "database": {"url": url or f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"},
        "mail": {"mode": "drop", "drop_dir": str(folder / "mail"), "worker": False},
        "documents": {"dir": str(folder / "documents")},
        "security": {"secret_key_file": str(folder / "secret")},
        "scheduler": {"enabled": False},
    }
    return load_settings(None, environ={"GIAOBAN_SECRET_KEY": SECRET}, overrides=sections)


def defaults(model: type[SQLModel]) -> dict[str, Any]:
    """A row's default values (the models' defaults live in Python, not in the tables)."""
    row: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.default_factory is not None:
            row[name] = info.default_factory()  # type: ignore[call-arg]
        elif info.default is not PydanticUndefined:
            row[name] = info.default
    row.pop("id", None)
    return row


async def bulk(maker: SessionMaker, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    base = defaults(model)
    async with maker() as session, session.begin():
        for start in range(0, len(rows), CHUNK):
            chunk = [base | row for row in rows[start : start + CHUNK]]
            await session.execute(insert(table_of(model)), chunk)


async def ids(maker: SessionMaker, column: Any) -> list[int]:
    async with maker() as session:
        return list((await session.scalars(select(column).order_by(column))).all())


async def build(maker: SessionMaker, *, sites: int, sessions: int, year: int) -> None:
    rng = random.Random(16)
    await bulk(maker, Cluster, [{"code": f"CUM-{n}", "name": f"Cụm {n}"} for n in range(1, 6)])
    clusters = await ids(maker, col(Cluster.id))
    await bulk(
        maker,
        Site,
        [
            {
                "code": f"DC-{n:05d}",
                "name": f"Liên hiệp các tổ chức hữu nghị điểm cầu {n}",
                "cluster_id": clusters[n % CLUSTERS],
                "search_text": f"dc-{n:05d}",
            }
            for n in range(sites)
        ],
    )
    site_ids = await ids(maker, col(Site.id))
    site_cluster = {sid: clusters[n % CLUSTERS] for n, sid in enumerate(site_ids)}
    await bulk(maker, Series, [{"name": f"Giao ban {year}"}])
    series_id = (await ids(maker, col(Series.id)))[0]
    starts = [datetime(year, month, 10, 1, 0, tzinfo=UTC) for month in range(1, sessions + 1)]
    await bulk(
        maker,
        Meeting,
        [
            {
                "title": f"Giao ban tháng {at.month}/{year}",
                "uid": f"bench-{at.month}@giaoban",
                "starts_at": at,
                "ends_at": at + timedelta(hours=3),
                "status": "ended",
                "series_id": series_id,
            }
            for at in starts
        ],
    )
    meetings = list(zip(await ids(maker, col(Meeting.id)), starts, strict=True))
    await _answers(maker, rng, meetings, site_ids)
    await _reports(maker, rng, meetings, site_ids)
    await _record(maker, rng, meetings, site_ids, site_cluster)


async def _answers(
    maker: SessionMaker, rng: random.Random, meetings: list[tuple[int, datetime]], sites: list[int]
) -> None:
    rows = []
    for meeting_id, at in meetings:
        for site_id in sites:
            roll = rng.random()
            answered = None if roll < 0.1 else at - timedelta(hours=rng.randint(-2, 200))
            rows.append(
                {
                    "meeting_id": meeting_id,
                    "site_id": site_id,
                    "rsvp": "needs_action" if answered is None else "accepted",
                    "responded_at": answered,
                    "attendance_status": rng.choice(ATTENDANCE),
                }
            )
    await bulk(maker, Participation, rows)


async def _reports(
    maker: SessionMaker, rng: random.Random, meetings: list[tuple[int, datetime]], sites: list[int]
) -> None:
    await bulk(
        maker,
        ReportRequest,
        [
            {"meeting_id": mid, "title": "Báo cáo tháng", "due_at": at - timedelta(days=3)}
            for mid, at in meetings
        ],
    )
    requests = list(zip(await ids(maker, col(ReportRequest.id)), meetings, strict=True))
    rows = []
    for request_id, (_mid, at) in requests:
        for site_id in sites:
            if rng.random() < 0.15:
                continue
            rows.append(
                {
                    "request_id": request_id,
                    "site_id": site_id,
                    "filename": "bao-cao.pdf",
                    "stored_name": f"r{request_id}-s{site_id}",
                    "content_type": "application/pdf",
                    "size": 1000,
                    "uploaded_at": at - timedelta(days=3, hours=rng.randint(-30, 90)),
                }
            )
    await bulk(maker, SiteReport, rows)


async def _record(
    maker: SessionMaker,
    rng: random.Random,
    meetings: list[tuple[int, datetime]],
    sites: list[int],
    site_cluster: dict[int, int],
) -> None:
    recommendations, actions = [], []
    for mid, at in meetings:
        for _n in range(RECOMMENDATIONS):
            answered = rng.random() < 0.6
            recommendations.append(
                {
                    "meeting_id": mid,
                    "site_id": rng.choice(sites),
                    "text": "Kiến nghị",
                    "status": "answered" if answered else "open",
                }
            )
        for n in range(ACTIONS):
            due = (at + timedelta(days=30)).date()
            done = rng.random()
            owner = rng.choice(sites)
            actions.append(
                {
                    "meeting_id": mid,
                    "text": "Nhiệm vụ",
                    "owner_site_id": owner if n % 10 else None,
                    "owner_cluster_id": None if n % 10 else site_cluster[owner],
                    "due_on": due,
                    "status": "done" if done < 0.7 else "open",
                    "done_at": _done_at(due, done) if done < 0.7 else None,
                }
            )
    await bulk(maker, Recommendation, recommendations)
    await bulk(maker, ActionItem, actions)


def _done_at(due: date, roll: float) -> datetime:
    """In time for most, a few days late for the others."""
    day = due - timedelta(days=3) if roll < 0.5 else due + timedelta(days=4)
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)


async def _get(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url) as answer:
        if answer.status != 200:
            raise SystemExit(f"{url}: {answer.status} {await answer.text()}")
        return len(await answer.read())


Times = dict[str, list[tuple[float, float]]]


async def measure(settings: Settings, *, year: int, runs: int) -> Times:
    engine = create_engine(settings.database)
    maker = session_maker(engine)
    async with maker() as session, session.begin():
        await accounts.create_user(
            session,
            UserCreate(username="bench", role=Role.organiser, full_name="Bench", password="x" * 12),
        )
        token = await accounts.create_token(session, username="bench")
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url(""))
    query = f"year={year}"
    zone = settings.organisation.timezone
    headers = {"Authorization": f"Bearer {token}"}

    async def floor() -> None:
        async with maker() as session:
            await stats.yearly_report(session, year=year, zone=zone, now=datetime.now(UTC))

    async with aiohttp.ClientSession(base_url=base, headers=headers) as http:
        steps: dict[str, Callable[[], Awaitable[object]]] = {
            "floor (grouped queries)": floor,
            "page": lambda: _get(http, f"/yearly?{query}"),
            "XLSX": lambda: _get(http, f"/api/v1/yearly.xlsx?{query}"),
            "PDF": lambda: _get(http, f"/api/v1/yearly.pdf?{query}"),
        }
        sizes = {
            "page": await _get(http, f"/yearly?{query}"),
            "XLSX": await _get(http, f"/api/v1/yearly.xlsx?{query}"),
            "PDF": await _get(http, f"/api/v1/yearly.pdf?{query}"),
        }
        print("sizes: " + ", ".join(f"{k} {v / 1024:,.0f} KiB" for k, v in sizes.items()))
        times: Times = {name: [] for name in steps}
        for _run in range(runs):
            for name, step in steps.items():
                wall, cpu = time.perf_counter(), time.process_time()
                await step()
                times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    await server.close()
    await engine.dispose()
    return times


def report(times: Times) -> bool:
    floor = statistics.median(w for w, _c in times["floor (grouped queries)"])
    ok = True
    print(f"{'':26} {'median':>9} {'min–max':>17} {'× floor':>8} {'CPU':>9}")
    for name, pairs in times.items():
        values = [w for w, _c in pairs]
        median = statistics.median(values)
        cpu = statistics.median(c for _w, c in pairs)
        verdict = ""
        if not name.startswith("floor"):
            passed = median < TARGET_SECONDS
            ok &= passed
            verdict = "PASS" if passed else "MISS"
        spread = f"{min(values) * 1000:7.0f}–{max(values) * 1000:.0f} ms"
        print(
            f"{name:26} {median * 1000:7.0f} ms {spread} {median / floor:7.1f}× "
            f"{cpu * 1000:6.0f} ms {verdict}"
        )
    return ok


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=12, choices=range(1, 13))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", metavar="URL", help="a scratch database (emptied first)")
    args = parser.parse_args()
    year = datetime.now(UTC).year - 1
    with tempfile.TemporaryDirectory() as folder:
        settings = settings_for(Path(folder), args.postgres)
        await asyncio.to_thread(upgrade, settings.database)  # Alembic runs a loop of its own
        if args.postgres:
            await wipe_postgres(settings)
        engine = create_engine(settings.database)
        start = time.perf_counter()
        await build(session_maker(engine), sites=args.sites, sessions=args.sessions, year=year)
        await engine.dispose()
        store = "PostgreSQL" if args.postgres else "SQLite"
        print(
            f"{store}: {args.sessions} sessions × {args.sites:,} sites of {year} built in "
            f"{time.perf_counter() - start:.1f} s"
        )
        times = await measure(settings, year=year, runs=args.runs)
    return 0 if report(times) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
