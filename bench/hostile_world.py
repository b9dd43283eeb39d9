"""The world of bench/hostile_input.py: a real app on loopback with a session, four invited
sites with their links, and one request builder per operation that takes a text field.

A builder returns a valid request for its operation; the runner then puts the hostile
value at the field's place. Writes that replace a whole list (agenda, focus items, a
site's contacts) start from what is stored, so an earlier hostile value stays shown.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlmodel import SQLModel

import meetings.core.tables  # noqa: F401  (every table, for the PostgreSQL wipe)
from meetings.accounts import accounts
from meetings.accounts.models import Role, UserCreate
from meetings.core.app import create_app
from meetings.core.keys import sessions_key
from meetings.core.migrate import upgrade
from meetings.core.settings import Settings, load_settings
from meetings.core.store import create_engine
from meetings.planning import lifecycle
from meetings.planning.models import MeetingCreate, MeetingStatus
from meetings.register import sites
from meetings.register.models import ClusterCreate, ContactIn, SiteCreate
from notify.mail import outbox, transports
from notify.mail.render import make_renderer
from notify.site import tokens

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD = "correct horse battery staple"
SITES = ("S1", "S2", "S3", "S4")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Request:
    method: str
    url: str
    body: Any = None
    #: A site's link answers without the bearer token.
    bearer: bool = True
    #: The value goes into an uploaded file's name (a multipart body), not into JSON.
    upload: bool = False


@dataclass
class World:
    settings: Settings
    app: web.Application
    base: str
    api: aiohttp.ClientSession
    pages: aiohttp.ClientSession
    anon: aiohttp.ClientSession
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    serial: count[int] = field(default_factory=lambda: count(1))
    server: TestServer | None = None

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self.serial)}"

    async def get(self, url: str) -> Any:
        async with self.api.get(url) as answer:
            answer.raise_for_status()
            return await answer.json()

    async def send(
        self, request: Request, data: bytes | None = None, kind: str = "application/json"
    ) -> tuple[int, str]:
        """The request with its body (JSON of `request.body` unless `data` is given)."""
        data = json.dumps(request.body).encode() if data is None else data
        session = self.api if request.bearer else self.anon
        async with session.request(
            request.method, request.url, data=data, headers={"Content-Type": kind}
        ) as answer:
            return answer.status, await answer.text()

    async def deliver(self) -> None:
        """The delivery worker's work, done here: every queued message into the mail drop."""
        drop = transports.DropTransport(self.settings.mail.drop_dir)
        renderer = make_renderer(self.settings)
        while (await outbox.deliver_due(self.app[sessions_key], drop, renderer)).sent:
            pass


def settings_for(folder: Path, database_url: str) -> Settings:
    sections: dict[str, dict[str, Any]] = {
        "server": {"var_dir": str(folder / "var")},
        "database": {"url": database_url},
        "mail": {"mode": "drop", "drop_dir": str(folder / "maildrop"), "worker": False},
        "documents": {"dir": str(folder / "documents")},
        "scheduler": {"enabled": False},
    }
    return load_settings(None, environ={"GIAOBAN_SECRET_KEY": SECRET}, overrides=sections)


class Databases:
    """A fresh database per world: a copy of one migrated SQLite file, or PostgreSQL emptied."""

    def __init__(self, folder: Path, postgres_url: str | None) -> None:
        self.postgres_url = postgres_url
        self.template = folder / "template.sqlite3"
        url = postgres_url or f"sqlite+aiosqlite:///{self.template}"
        if postgres_url:
            asyncio.run(self._wipe(drop=True))
        upgrade(settings_for(folder, url).database)

    async def _wipe(self, *, drop: bool) -> None:
        engine = create_engine(settings_for(Path("."), self.postgres_url or "").database)
        names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        async with engine.begin() as connection:
            if drop:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
            else:
                await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    async def fresh(self, folder: Path) -> str:
        if self.postgres_url:
            await self._wipe(drop=False)
            return self.postgres_url
        path = folder / "giaoban.sqlite3"
        shutil.copy(self.template, path)
        return f"sqlite+aiosqlite:///{path}"


async def _seed_store(w: World) -> None:
    """Accounts, a cluster, four sites with their links, a session today and one to cancel."""
    now = datetime.now(UTC).replace(microsecond=0)
    async with w.app[sessions_key]() as db, db.begin():
        for name, role in (("admin", Role.admin), ("vanphong", Role.organiser)):
            user = await accounts.create_user(
                db, UserCreate(username=name, role=role, full_name=name.title(), password=PASSWORD)
            )
            w.ids[name] = user.id
        token = await accounts.create_token(db, username="admin")
        w.api.headers["Authorization"] = f"Bearer {token}"
        w.ids["cluster"] = (
            await sites.create_cluster(db, ClusterCreate(code="C1", name="Cụm 1"))
        ).id
        for code in SITES:
            contact = ContactIn(name=f"Lan {code}", email=f"{code.lower()}@example.org")
            site = await sites.create_site(
                db,
                SiteCreate(
                    code=code,
                    name=f"Liên hiệp {code}",
                    cluster_id=w.ids["cluster"],
                    contacts=[contact],
                ),
            )
            w.ids[code] = site.id
            w.tokens[code] = await tokens.site_token(db, site.id, secret_key=SECRET)
        for key, start, invited in (
            ("M", now + timedelta(hours=2), SITES),
            ("Mc", now + timedelta(days=3), SITES[:2]),
        ):
            meeting = await lifecycle.create_meeting(
                db,
                MeetingCreate(
                    title=f"Giao ban {key}",
                    starts_at=start,
                    ends_at=start + timedelta(hours=3),
                    is_urgent=True,
                    site_ids=[w.ids[code] for code in invited],
                ),
                organiser_id=None,
                default_location="Hội trường",
            )
            await lifecycle.change_status(db, meeting.id, MeetingStatus.scheduled)
            w.ids[key] = meeting.id


async def _seed_api(w: World) -> None:
    """An agenda, focus items and two recommendations; the cancelled session's invitations."""
    m = w.ids["M"]
    agenda = [{"title": f"Mục {n}", "presenter": "Ông A", "duration_minutes": 30} for n in (1, 2)]
    focus = [{"number": n, "title": f"Trọng tâm {n}"} for n in (1, 2)]
    for url, body in (
        (f"/api/v1/meetings/{m}/agenda", agenda),
        (f"/api/v1/meetings/{m}/focus-items", focus),
    ):
        status, answer = await w.send(Request("PUT", url, body))
        if status >= 300:
            raise RuntimeError(f"seed PUT {url}: {status} {answer}")
    for n in (1, 2):
        body = {"kind": "recommendation", "text": f"Kiến nghị {n}", "site_id": w.ids["S1"]}
        status, answer = await w.send(Request("POST", f"/api/v1/meetings/{m}/contributions", body))
        if status >= 300:
            raise RuntimeError(f"seed contribution: {status} {answer}")
    recommendations = (await w.get("/api/v1/recommendations"))["items"]
    for n, item in enumerate(sorted(recommendations, key=lambda r: r["id"]), start=1):
        w.ids[f"rec{n}"] = item["id"]
    w.ids["focus2"] = sorted(i["id"] for i in await w.get(f"/api/v1/meetings/{m}/focus-items"))[1]
    await w.send(Request("POST", f"/api/v1/meetings/{w.ids['Mc']}/invitations", {}))
    await w.deliver()


async def open_world(folder: Path, databases: Databases) -> World:
    folder.mkdir(parents=True, exist_ok=True)
    settings = settings_for(folder, await databases.fresh(folder))
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url(""))
    jar = aiohttp.CookieJar(unsafe=True)
    api, anon = aiohttp.ClientSession(base), aiohttp.ClientSession(base)
    w = World(settings, app, base, api, aiohttp.ClientSession(base, cookie_jar=jar), anon)
    w.server = server
    await _seed_store(w)
    await _seed_api(w)
    await _log_in(w)
    return w


async def close_world(w: World) -> None:
    for session in (w.api, w.pages, w.anon):
        await session.close()
    if w.server is not None:
        await w.server.close()


async def _log_in(w: World) -> None:
    async with w.pages.get("/login") as page:
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    form = {"username": "admin", "password": PASSWORD, "_csrf": csrf.group(1) if csrf else ""}
    async with w.pages.post("/login", data=form, allow_redirects=False) as answer:
        if answer.status != 303:
            raise RuntimeError(f"log in: {answer.status}")


# --- one builder per operation ---------------------------------------------------------

Builder = Callable[[World, tuple[Any, ...], int], Awaitable[Request]]


def _contact_in(contact: dict[str, Any]) -> dict[str, Any]:
    return {k: contact[k] for k in ("name", "title", "email", "phone", "role") if k in contact}


async def user_create(w: World, path: tuple[Any, ...], k: int) -> Request:
    name = w.unique("u")
    body = {
        "username": name,
        "password": PASSWORD,
        "full_name": "Người dùng",
        "email": f"{name}@example.org",
    }
    return Request("POST", "/api/v1/users", body)


async def user_update(w: World, path: tuple[Any, ...], k: int) -> Request:
    users = (await w.get("/api/v1/users"))["items"]
    user = next(u for u in users if u["id"] == w.ids["vanphong"])
    return Request("PATCH", f"/api/v1/users/{user['id']}", {"version": user["version"]})


async def cluster_create(w: World, path: tuple[Any, ...], k: int) -> Request:
    return Request("POST", "/api/v1/clusters", {"code": w.unique("K"), "name": "Cụm mới"})


async def cluster_update(w: World, path: tuple[Any, ...], k: int) -> Request:
    cluster = await w.get(f"/api/v1/clusters/{w.ids['cluster']}")
    return Request("PATCH", f"/api/v1/clusters/{cluster['id']}", {"version": cluster["version"]})


async def site_create(w: World, path: tuple[Any, ...], k: int) -> Request:
    body = {
        "code": w.unique("N"),
        "name": "Liên hiệp mới",
        "cluster_id": w.ids["cluster"],
        "contacts": [{"name": "Hà", "email": "ha@example.org"}],
    }
    return Request("POST", "/api/v1/sites", body)


async def site_update(w: World, path: tuple[Any, ...], k: int) -> Request:
    site = await w.get(f"/api/v1/sites/{w.ids['S1']}")
    body: dict[str, Any] = {"version": site["version"]}
    if path[0] == "contacts":
        body["contacts"] = [_contact_in(c) for c in site["contacts"]]
    return Request("PATCH", f"/api/v1/sites/{site['id']}", body)


def _times(days: int) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat()}


async def meeting_create(w: World, path: tuple[Any, ...], k: int) -> Request:
    body = {"title": "Phiên mới", "site_ids": [w.ids["S1"]], "is_urgent": True, **_times(5)}
    return Request("POST", "/api/v1/meetings", body)


async def meeting_update(w: World, path: tuple[Any, ...], k: int) -> Request:
    meeting = await w.get(f"/api/v1/meetings/{w.ids['M']}")
    return Request("PATCH", f"/api/v1/meetings/{meeting['id']}", {"version": meeting["version"]})


async def meeting_cancel(w: World, path: tuple[Any, ...], k: int) -> Request:
    return Request("POST", f"/api/v1/meetings/{w.ids['Mc']}/cancel", {"reason": "Hoãn"})


async def follow_up(w: World, path: tuple[Any, ...], k: int) -> Request:
    return Request("POST", f"/api/v1/meetings/{w.ids['M']}/next", _times(30 + k))


async def rsvp(w: World, path: tuple[Any, ...], k: int) -> Request:
    url = f"/api/v1/site/{w.tokens[SITES[k]]}/meetings/{w.ids['M']}/rsvp"
    return Request("POST", url, {"response": "accepted", "expected_delegates": 5}, bearer=False)


async def agenda(w: World, path: tuple[Any, ...], k: int) -> Request:
    keep = ("title", "presenter", "presenter_title", "kind", "duration_minutes")
    items = await w.get(f"/api/v1/meetings/{w.ids['M']}/agenda")
    body = [{key: item[key] for key in keep if key in item} for item in items]
    return Request("PUT", f"/api/v1/meetings/{w.ids['M']}/agenda", body)


async def focus_items(w: World, path: tuple[Any, ...], k: int) -> Request:
    keep = ("number", "title", "detail", "status", "summary")
    items = await w.get(f"/api/v1/meetings/{w.ids['M']}/focus-items")
    body = [{key: item[key] for key in keep if key in item} for item in items]
    return Request("PUT", f"/api/v1/meetings/{w.ids['M']}/focus-items", body)


async def attendance(w: World, path: tuple[Any, ...], k: int) -> Request:
    body = {"site_id": w.ids[SITES[k]], "status": "connected", "officials_present": ["Ông B"]}
    return Request("POST", f"/api/v1/meetings/{w.ids['M']}/attendance", body)


async def rehearsal(w: World, path: tuple[Any, ...], k: int) -> Request:
    body = {"site_id": w.ids["S3"], "status": "ok"}
    return Request("POST", f"/api/v1/meetings/{w.ids['M']}/rehearsal", body)


async def check_in(w: World, path: tuple[Any, ...], k: int) -> Request:
    url = f"/api/v1/site/{w.tokens['S4']}/meetings/{w.ids['M']}/check-in"
    return Request(
        "POST", url, {"delegates_present": 3, "officials_present": ["Bà C"]}, bearer=False
    )


async def notes(w: World, path: tuple[Any, ...], k: int) -> Request:
    body = {"agenda": {"1": "Ghi chép"}} if path[0] == "agenda" else {}
    return Request("PUT", f"/api/v1/meetings/{w.ids['M']}/notes", body)


async def focus_outcome(w: World, path: tuple[Any, ...], k: int) -> Request:
    url = f"/api/v1/meetings/{w.ids['M']}/focus-items/{w.ids['focus2']}/outcome"
    return Request("PUT", url, {"status": "done"})


async def contribution(w: World, path: tuple[Any, ...], k: int) -> Request:
    body = {"kind": "opinion", "text": "Ý kiến", "site_id": w.ids["S2"]}
    return Request("POST", f"/api/v1/meetings/{w.ids['M']}/contributions", body)


async def recommendation(w: World, path: tuple[Any, ...], k: int) -> Request:
    body = {"status": "answered", "response": "Đã trả lời", "meeting_id": w.ids["M"]}
    return Request("PATCH", f"/api/v1/recommendations/{w.ids[f'rec{k + 1}']}", body)


async def action(w: World, path: tuple[Any, ...], k: int) -> Request:
    return Request("POST", f"/api/v1/meetings/{w.ids['M']}/actions", {"text": "Việc cần làm"})


async def site_contribution(w: World, path: tuple[Any, ...], k: int) -> Request:
    url = f"/api/v1/site/{w.tokens['S3']}/meetings/{w.ids['M']}/contributions"
    return Request("POST", url, {"text": "Kiến nghị của tỉnh"}, bearer=False)


async def document(w: World, path: tuple[Any, ...], k: int) -> Request:
    """The file name of an upload, written into the multipart header as a browser would."""
    return Request("POST", f"/api/v1/meetings/{w.ids['M']}/documents", upload=True)


def multipart(filename: bytes) -> tuple[bytes, str]:
    boundary = b"hostileboundary7MA4YWxkTrZu0gW"
    body = (
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: application/pdf\r\n\r\n'
        + PDF
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )
    return body, f"multipart/form-data; boundary={boundary.decode()}"


BUILDERS: dict[tuple[str, str], Builder] = {
    ("POST", "/api/v1/users"): user_create,
    ("PATCH", "/api/v1/users/{id}"): user_update,
    ("POST", "/api/v1/clusters"): cluster_create,
    ("PATCH", "/api/v1/clusters/{id}"): cluster_update,
    ("POST", "/api/v1/sites"): site_create,
    ("PATCH", "/api/v1/sites/{id}"): site_update,
    ("POST", "/api/v1/meetings"): meeting_create,
    ("PATCH", "/api/v1/meetings/{id}"): meeting_update,
    ("POST", "/api/v1/meetings/{id}/cancel"): meeting_cancel,
    ("POST", "/api/v1/site/{site_token}/meetings/{id}/rsvp"): rsvp,
    ("POST", "/api/v1/meetings/{id}/next"): follow_up,
    ("PUT", "/api/v1/meetings/{id}/agenda"): agenda,
    ("PUT", "/api/v1/meetings/{id}/focus-items"): focus_items,
    ("POST", "/api/v1/meetings/{id}/attendance"): attendance,
    ("POST", "/api/v1/meetings/{id}/rehearsal"): rehearsal,
    ("POST", "/api/v1/site/{site_token}/meetings/{id}/check-in"): check_in,
    ("PUT", "/api/v1/meetings/{id}/notes"): notes,
    ("PUT", "/api/v1/meetings/{id}/focus-items/{focus_id}/outcome"): focus_outcome,
    ("POST", "/api/v1/meetings/{id}/contributions"): contribution,
    ("PATCH", "/api/v1/recommendations/{id}"): recommendation,
    ("POST", "/api/v1/meetings/{id}/actions"): action,
    ("POST", "/api/v1/site/{site_token}/meetings/{id}/contributions"): site_contribution,
    ("POST", "/api/v1/meetings/{id}/documents"): document,
}
