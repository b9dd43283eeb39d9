"""One language at a time: the Vietnamese rendering of every page has no English in it.

Every GET page of the mounted parts is opened with the demo's data, as each role and
through a site's link, and so are the pages its links lead to; the text a reader sees or
hears (text, title, placeholder, aria-label, alt, a button's value) must hold no common
English word. Error pages, an import's problems and a form's errors are checked too.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlmodel import col

from meetings.accounts.models import User
from meetings.core import demo, demo_sessions
from meetings.core.app import PARTS
from meetings.core.i18n import format_zone
from meetings.core.store import utcnow
from meetings.planning.models import Meeting, Participation
from meetings.register.models import Cluster, Site
from notify.site import tokens
from tests.conftest import TEST_SECRET
from tests.factories import csrf_from, login

#: Common English words of a UI and its messages; none is a Vietnamese word written
#: without diacritics ("to", "do", "in", "an", "can", "long", "may", "than", "day" are,
#: in names too: Long An, Cần Thơ written "can-tho", and are left out).
ENGLISH = frozenset(
    """
    the is are was were be been has have had not no such input should required empty
    error errors found from subject date please invalid and or of for with this that
    these there here what which who when where will would cannot could must your
    you we our its their by into then yet all any each every none yes
    edit save delete cancel send sent open close back next previous page list name
    file files line column value field user users role site sites session sessions
    meeting meetings minutes draft version approve approved login password search filter
    cluster clusters contacts contact export import download upload show hide more less
    total unknown valid missing too short large small characters number time zone
    local days week today tomorrow yesterday status ended planned cancelled present
    absent late connected attendance record notes agenda report message messages
    invitation invitations reply answer answered accepted declined tentative delegates
    """.split()
)
#: A raw IANA time zone ("Asia/Ho_Chi_Minh") is not a name a reader knows.
IANA_ZONE = re.compile(r"\b(?:Africa|America|Asia|Atlantic|Australia|Europe|Etc|Pacific)/\w+")
#: Text of these elements is code or data written by the user, not the UI's words.
SKIPPED = frozenset({"script", "style", "code", "kbd", "samp", "template", "textarea", "pre"})
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
#: Pages that only download (or switch the language) are not read here.
NOT_PAGES = frozenset({"health", "openapi", "language", "site_letter", "site_document", "logout"})
#: How many different addresses of one page the crawl opens at most.
PER_PAGE = 4


class VisibleText(HTMLParser):
    """The words a reader sees or hears on a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag in SKIPPED:
            self._skipping.append(tag)
        if tag == "a" and found.get("href", "").startswith("/"):
            self.links.append(found["href"])
        self.texts += [found[name] for name in ATTRIBUTES if name in found]
        is_button = tag == "button" or found.get("type") in ("submit", "button", "reset")
        if tag == "input" and is_button and "value" in found:
            self.texts.append(found["value"])

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping and data.strip():
            self.texts.append(data.strip())


def english_in(html: str) -> list[str]:
    """Every visible text of the page that holds an English word or a raw time zone."""
    parser = VisibleText()
    parser.feed(html)
    found = []
    for text in parser.texts:
        text_without_mail = re.sub(r"\S+@\S+|https?://\S+|[\w-]+\.[a-z]{2,4}\b", "", text)
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", text_without_mail) if not w.isupper()}
        if words & ENGLISH or IANA_ZONE.search(text):
            found.append(text)
    return found


def _pages() -> list[tuple[str, re.Pattern[str]]]:
    """The GET pages of the mounted parts: name and the pattern of their paths."""
    pages = []
    for part in PARTS:
        for page in part.pages:
            if page.method == "GET" and page.name not in NOT_PAGES:
                pattern = re.sub(r"{(\w+)(?::[^}]*)?}", r"[^/?#]+", page.path)
                pages.append((page.name, re.compile(f"^{pattern}$")))
    return pages


def _start_paths(ids: dict[str, list[int]], site_token: str) -> list[str]:
    """Every page's path, with the demo's records in its placeholders."""
    names = {name for name, _pattern in _pages()}
    paths = []
    for part in PARTS:
        for page in part.pages:
            if page.method != "GET" or page.name not in names:
                continue
            if "{site_token}" in page.path and "{id" in page.path:
                continue  # reached through the site's page
            record = page.path.split("/")[1]
            # every session of the demo (each in its phase), two of any other record
            for value in ids.get(record, [0])[: None if record == "sessions" else 2]:
                path = re.sub(r"{id(?::[^}]*)?}", str(value), page.path)
                paths.append(path.replace("{site_token}", site_token))
    return [p for p in paths if "{" not in p]


async def _demo(
    session_factory: Any, settings: Any
) -> tuple[dict[str, list[int]], dict[str, str], str]:
    """The demo's register, sessions and accounts; the ids of each kind of record, the
    accounts' passwords, and the link of a site invited to the demo's sessions."""
    async with session_factory() as session, session.begin():
        await demo.load_demo(session)
        await demo_sessions.load_reference_sessions(
            session, hall=settings.organisation.hall, now=utcnow()
        )
        people = {p.username: p.password for p in await demo.demo_accounts(session)}
        ids = {
            "sessions": list(
                await session.scalars(select(col(Meeting.id)).order_by(col(Meeting.id)))
            ),
            "sites": list(await session.scalars(select(col(Site.id)).order_by(col(Site.id)))),
            "clusters": list(await session.scalars(select(col(Cluster.id)))),
            "users": list(await session.scalars(select(col(User.id)))),
        }
        invited = await session.scalar(select(col(Participation.site_id)).limit(1))
        assert invited is not None
        token = await tokens.site_token(session, invited, secret_key=TEST_SECRET)
    return ids, people, token


async def _crawl(client: TestClient, start: list[str]) -> dict[str, list[str]]:
    """Open `start` and the pages their links lead to; English found, by path."""
    pages = _pages()
    seen: dict[str, int] = {}
    queue, opened, found = list(start), set(), {}
    while queue:
        path = queue.pop(0)
        name = next((n for n, pattern in pages if pattern.match(path.split("?")[0])), None)
        if path in opened or name is None or seen.get(name, 0) >= PER_PAGE:
            continue
        opened.add(path)
        seen[name] = seen.get(name, 0) + 1
        response = await client.get(path)
        if response.status >= 500:
            found[path] = [f"server error {response.status}"]
        if "text/html" not in response.headers.get("Content-Type", ""):
            continue
        html = await response.text()
        if leaks := english_in(html):
            found[path] = leaks
        parser = VisibleText()
        parser.feed(html)
        queue += [link for link in parser.links if link not in opened]
    return found


async def test_every_page_speaks_only_vietnamese_to_every_role_and_to_a_site(
    client: TestClient, session_factory: Any, settings: Any
):
    ids, people, token = await _demo(session_factory, settings)
    start = _start_paths(ids, token)
    assert len(start) > 20  # the walk really covers the app
    found: dict[str, list[str]] = {}
    site = await _crawl(client, [f"/s/{token}"])
    found.update({f"site link {p}": t for p, t in site.items()})
    for username in ("admin", "organiser", "secretary", "chair"):
        client.session.cookie_jar.clear()
        await login(client, username, people[username])
        pages = await _crawl(client, start)
        found.update({f"{username} {p}": t for p, t in pages.items()})
    assert found == {}


async def test_error_pages_speak_vietnamese(
    client: TestClient, session_factory: Any, settings: Any
):
    _ids, people, _token = await _demo(session_factory, settings)
    unknown_link = await client.get("/s/" + "x" * 43)
    assert unknown_link.status == 404
    html = await unknown_link.text()
    assert english_in(html) == [] and "Lỗi 404" in html
    await login(client, "secretary", people["secretary"])
    for path, status in (("/sessions/999999", 404), ("/users", 403), ("/nowhere", 404)):
        response = await client.get(path)
        assert response.status == status, path
        assert english_in(await response.text()) == [], path


async def test_an_import_and_a_form_say_their_problems_in_vietnamese(
    client: TestClient, session_factory: Any, settings: Any
):
    _ids, people, _token = await _demo(session_factory, settings)
    csrf = await login(client, "organiser", people["organiser"])
    sheet = "code,name,locale,cluster\nhp,,fr,CUM-X\n!x,Hải Phòng,vi,\n"
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field("file", sheet.encode(), filename="sites.csv", content_type="text/csv")
    refused = await client.post("/sites/import", data=form)
    assert refused.status == 422
    html = unescape(await refused.text())
    assert english_in(html) == []
    assert "Hãy chọn một trong: vi, en" in html  # was "Input should be 'vi' or 'en'"
    assert "bắt buộc; ô đang trống" in html  # was "required; the cell is empty"
    assert "không phải mã hợp lệ" in html and "không có cụm mã 'CUM-X'" in html

    bad = {"_csrf": csrf, "code": "x y", "name": "", "locale": "fr", "timezone": "Mars/Base"}
    page = await client.post("/sites/new", data=bad)
    assert page.status == 422
    html = await page.text()
    assert english_in(html) == []
    assert "Bắt buộc" in html and "Múi giờ không hợp lệ" in html


async def test_the_api_speaks_english_to_scripts_and_the_page_language_to_pages(
    client: TestClient, session_factory: Any, settings: Any
):
    _ids, people, _token = await _demo(session_factory, settings)
    body = {"code": "lao", "name": "Lào", "locale": "fr"}
    await login(client, "organiser", people["organiser"])
    csrf = csrf_from(await (await client.get("/sites/new")).text())
    page = await client.post("/api/v1/sites", json=body, headers={"X-CSRF-Token": csrf})
    detail = (await page.json())["error"]["details"][0]
    assert page.status == 422 and detail == {
        "field": "locale",
        "message": "Hãy chọn một trong: vi, en",
    }
    client.session.cookie_jar.clear()
    async with session_factory() as session, session.begin():
        from meetings.accounts import accounts

        token = await accounts.create_token(session, username="organiser")
    script = await client.post(
        "/api/v1/sites", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert (await script.json())["error"]["details"][0]["message"] == "Input should be 'vi' or 'en'"


def test_time_zones_are_named_as_a_reader_names_them():
    assert format_zone("Asia/Ho_Chi_Minh", "vi") == "Giờ Việt Nam (UTC+7)"
    assert format_zone("Asia/Ho_Chi_Minh", "en") == "Vietnam Time (UTC+7)"
    assert format_zone("Asia/Kolkata", "vi") == "Giờ Ấn Độ (UTC+5:30)"


def test_the_check_finds_what_the_issue_saw_and_spares_names_and_codes():
    seen = (
        "<p>Lỗi 404 · no such site link</p><th>Vào lúc (Asia/Ho_Chi_Minh)</th>"
        '<button title="Save">Lưu</button><input placeholder="Search">'
        "<td>Chưa lưu: This time is too far from the session</td>"
    )
    assert len(english_in(seen)) == 5
    names = (
        "<p>Liên hiệp các tổ chức hữu nghị Long An · Cần Thơ · PDF, DOCX, CSV · Zoom</p>"
        "<p>lan@example.org · https://meet.example.org/a · bien-ban-1.pdf</p>"
        "<code>code, name, province</code>"
    )
    assert english_in(names) == []
