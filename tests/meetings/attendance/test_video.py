"""Video rooms: Jitsi links and tokens, and BigBlueButton against a server that checks
checksums as the API reference says, feeding attendance on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from meetings.attendance import tracking as attendance
from meetings.attendance import video
from meetings.attendance.models import AttendanceStatus, Author, EventKind, SiteAttendance
from meetings.attendance.tracking import Change
from meetings.attendance.video_poller import poll_once, present_site_ids, video_poll_context
from meetings.core.config import ConfigError
from meetings.core.keys import sessions_key, settings_key
from meetings.core.settings import Settings
from meetings.core.store import create_engine, session_maker
from meetings.planning import lifecycle as planning
from meetings.planning.models import Meeting, MeetingCreate, MeetingStatus
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import make_site
from tests.meetings.attendance.bbb_server import FakeBigBlueButton


def _meeting(title: str = "Giao ban quý II", **fields) -> Meeting:
    starts = datetime(2030, 4, 19, 1, 0, tzinfo=UTC)
    return Meeting(title=title, starts_at=starts, ends_at=starts + timedelta(hours=3), **fields)


class _Site:
    code = "HN"
    name = "Liên hiệp các tổ chức hữu nghị thành phố Hà Nội (HUFO)"


def _jitsi(tmp_path: Path, sqlite_url: str, **video_keys) -> Settings:
    keys = {"provider": "jitsi", "base_url": "https://meet.example.org", **video_keys}
    return make_settings(tmp_path, sqlite_url, video=keys)


def _decode(token: str, secret: str) -> dict:
    """A JWT checked by hand: the signature over header.payload, then the claims."""
    header, payload, signature = token.split(".")

    def unpad(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(unpad(signature), expected), "signature does not verify"
    assert json.loads(unpad(header)) == {"alg": "HS256", "typ": "JWT"}
    return json.loads(unpad(payload))


# --- Jitsi ---------------------------------------------------------------------------------


def test_a_jitsi_room_is_the_same_for_a_session_and_differs_between_sessions(tmp_path, sqlite_url):
    settings = _jitsi(tmp_path, sqlite_url)
    first, second = _meeting(), _meeting()
    link = video.jitsi_room(settings, first)
    assert link.startswith("https://meet.example.org/giaoban-")
    assert "?" not in link  # no secret configured: a plain room
    first.title = "Giao ban quý II (sửa tên)"
    first.starts_at += timedelta(days=1)
    assert video.jitsi_room(settings, first) == link  # edits do not move the room
    assert video.jitsi_room(settings, second) != link
    assert video.join_url(settings, first, _Site()) == link


def test_a_jitsi_token_names_the_room_the_site_and_expires_after_the_session(tmp_path, sqlite_url):
    settings = make_settings(
        tmp_path,
        sqlite_url,
        video={
            "provider": "jitsi",
            "base_url": "https://meet.example.org",
            "jitsi_app_id": "giaoban",
            # make_settings' environment holds one secret; the video secret names it.
            "secret_env": "GIAOBAN_SECRET_KEY",
        },
    )
    meeting = _meeting()
    link = video.jitsi_room(settings, meeting, _Site())
    room_url, _, query = link.partition("?")
    room = room_url.rsplit("/", 1)[1]
    token = parse_qs(query)["jwt"][0]
    claims = _decode(token, TEST_SECRET)
    assert claims["room"] == room
    assert claims["aud"] == claims["iss"] == "giaoban"
    assert claims["sub"] == "meet.example.org"
    assert claims["exp"] == int((meeting.ends_at + timedelta(hours=2)).timestamp())
    assert claims["context"]["user"] == {"id": "HN", "name": _Site.name}
    with pytest.raises(AssertionError, match="signature"):
        _decode(token, "another secret")
    hall = _decode(
        parse_qs(urlsplit(video.join_url(settings, meeting)).query)["jwt"][0], TEST_SECRET
    )
    assert hall["context"]["user"]["name"] == settings.organisation.hall


def test_a_jitsi_tenant_is_the_tokens_subject():
    assert video._jitsi_subject("https://meet.example.org/LHHN") == "lhhn"
    assert video._jitsi_subject("https://Meet.Example.org") == "meet.example.org"


def test_without_a_platform_the_link_is_the_sessions_own(settings):
    assert video.join_url(settings, _meeting(video_url="https://zoom.example/j/1")) == (
        "https://zoom.example/j/1"
    )
    assert video.join_url(settings, _meeting()) is None


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({"provider": "bigbluebutton", "base_url": "https://bbb.example.org"}, "secret_env"),
        (
            {"provider": "jitsi", "base_url": "https://m.example.org", "jitsi_app_id": "x"},
            "secret_env",
        ),
        ({"room_prefix": "Giao Ban"}, "room_prefix"),
        ({"poll_seconds": 1}, "poll_seconds"),
    ],
)
def test_incomplete_video_settings_stop_start_up_naming_the_key(tmp_path, sqlite_url, keys, named):
    with pytest.raises(ConfigError, match=f"\\[video\\] {named}"):
        make_settings(tmp_path, sqlite_url, video={"secret_env": "NO_SUCH_VARIABLE", **keys})


# --- BigBlueButton: the protocol ---------------------------------------------------------


def test_the_checksum_is_the_documented_one():
    # The worked example of the API reference's security model.
    query = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444"
    secret = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
    assert video.checksum("create", query, secret) == "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"


@pytest.fixture
async def bbb(aiohttp_server) -> FakeBigBlueButton:
    fake = FakeBigBlueButton(TEST_SECRET)
    server = await aiohttp_server(fake.app())
    fake.base_url = str(server.make_url("/bigbluebutton"))
    return fake


def _bbb_settings(tmp_path: Path, database_url: str, base_url: str, **keys) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        video={
            "provider": "bigbluebutton",
            "base_url": base_url,
            "secret_env": "GIAOBAN_SECRET_KEY",
            **keys,
        },
    )


async def _open(http: aiohttp.ClientSession, link: str | None) -> aiohttp.ClientResponse:
    """Follow a join link as a browser does: the query exactly as written (checksummed)."""
    assert link is not None
    return await http.get(URL(link, encoded=True), allow_redirects=False)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_a_wrong_secret_gets_the_servers_checksum_error(tmp_path, sqlite_url, bbb, http):
    settings = _bbb_settings(tmp_path, sqlite_url, bbb.base_url)
    wrong = dataclasses.replace(settings.video, secret="not-the-secret")
    with pytest.raises(video.VideoPlatformError) as refused:
        await video.get_meeting_info(wrong, _meeting(), http)
    assert refused.value.key == "checksumError"
    assert not bbb.calls


async def test_create_join_and_meeting_info_speak_the_protocol(tmp_path, sqlite_url, bbb, http):
    settings = _bbb_settings(tmp_path, sqlite_url, bbb.base_url)
    meeting = _meeting("Giao ban (quý II) & tổng kết 6 tháng*")
    assert await video.get_meeting_info(settings.video, meeting, http) is None  # not created
    await video.create_room(settings, meeting, http)
    await video.create_room(settings, meeting, http)  # idempotent
    room = video.room_name(settings.video, meeting)
    assert bbb.meetings[room].name == "Giao ban (quý II) & tổng kết 6 tháng*"

    joined = await _open(http, video.join_url(settings, meeting, _Site()))
    assert joined.status == 302
    hall = await _open(http, video.join_url(settings, meeting))
    assert hall.status == 302
    info = await video.get_meeting_info(settings.video, meeting, http)
    assert info is not None and info.running
    assert [(a.user_id, a.full_name, a.role) for a in info.attendees] == [
        ("HN", _Site.name, "VIEWER"),
        (video.HALL_USER_ID, settings.organisation.hall, "MODERATOR"),
    ]
    assert bbb.calls == {"getMeetingInfo": 2, "create": 2, "join": 2}


async def test_the_join_passwords_alone_give_the_right_roles(tmp_path, sqlite_url, bbb, http):
    """Servers before 2.4 ignore `role`: the password must say the same thing."""
    settings = _bbb_settings(tmp_path, sqlite_url, bbb.base_url)
    meeting = _meeting()
    await video.create_room(settings, meeting, http)
    for site, role in ((_Site(), "VIEWER"), (None, "MODERATOR")):
        link = video.join_url(settings, meeting, site)
        params = [
            (k, v)
            for k, v in parse_qs(urlsplit(link).query).items()
            if k not in ("role", "checksum")
        ]
        again = video.bbb_url(settings.video, "join", [(k, v[0]) for k, v in params])
        assert (await _open(http, again)).status == 302
        assert bbb.meetings[video.room_name(settings.video, meeting)].attendees[-1].role == role


# --- BigBlueButton: attendance from the room ----------------------------------------------


async def _live_meeting(session, site_ids: list[int]) -> int:
    now = datetime.now(UTC)
    created = await planning.create_meeting(
        session,
        MeetingCreate(
            title="Hội nghị giao ban trực tuyến",
            starts_at=now - timedelta(minutes=10),
            ends_at=now + timedelta(hours=2),
            site_ids=site_ids,
        ),
        organiser_id=None,
        default_location="Hội trường",
    )
    await planning.change_status(session, created.id, MeetingStatus.scheduled)
    await planning.change_status(session, created.id, MeetingStatus.live)
    return created.id


@pytest.mark.postgres
async def test_polling_marks_sites_connected_then_left(tmp_path, database_url, bbb, http):
    settings = _bbb_settings(tmp_path, database_url, bbb.base_url)
    engine = create_engine(settings.database)
    maker = session_maker(engine)
    try:
        async with maker() as session, session.begin():
            hanoi = await make_site(session, code="HN", name="Liên hiệp Hà Nội")
            hue = await make_site(session, code="TTH", name="Liên hiệp Thừa Thiên Huế")
            phone = await make_site(session, code="CM", name="Liên hiệp Cà Mau")
            quiet = await make_site(session, code="LC", name="Liên hiệp Lào Cai")
            meeting_id = await _live_meeting(session, [hanoi.id, hue.id, phone.id, quiet.id])
            meeting = await planning.get_meeting_row(session, meeting_id)
        room = video.room_name(settings.video, meeting)

        async def states() -> dict[str, str | None]:
            async with maker() as session:
                rows = await attendance.sites(session, meeting_id)
            return {r.site_code: r.attendance_status for r in rows}

        # The session went live before anyone opened a link: the poller opens the room.
        report = await poll_once(maker, settings, http)
        assert (report.meetings, report.connected, report.errors) == (1, 0, 0)
        assert room in bbb.meetings

        # Hà Nội follows its own link; Huế came through the hall's link and typed its
        # name without diacritics; the hall and a stranger are in the room too.
        site_link = video.join_url(settings, meeting, hanoi)
        assert (await _open(http, site_link)).status == 302
        hall_link = video.join_url(settings, meeting)
        assert (await _open(http, hall_link)).status == 302
        bbb.add_attendee(room, "lien hiep  thua thien hue")
        bbb.add_attendee(room, "Khách mời")
        # Cà Mau is on the phone bridge: the operator marks it present by hand.
        async with maker() as session, session.begin():
            await attendance.record(
                session,
                meeting_id,
                phone.id,
                Change(
                    kind=EventKind.attendance,
                    status=AttendanceStatus.present,
                    at=datetime.now(UTC),
                    author_kind=Author.operator,
                    author="organiser",
                    delegates_present=6,
                ),
                settings.attendance,
            )

        report = await poll_once(maker, settings, http)
        assert (report.connected, report.left, report.errors) == (2, 0, 0)
        assert await states() == {
            "HN": "connected",
            "TTH": "connected",
            "CM": "present",
            "LC": None,
        }

        # Hà Nội drops out; nothing else changes.
        bbb.leave(room, "HN")
        report = await poll_once(maker, settings, http)
        assert (report.connected, report.left) == (0, 1)
        assert await states() == {"HN": "left", "TTH": "connected", "CM": "present", "LC": None}

        # Another pass over the same room records nothing more.
        async with maker() as session:
            before = len(await attendance.events(session, meeting_id))
        report = await poll_once(maker, settings, http)
        assert (report.connected, report.left) == (0, 0)
        async with maker() as session:
            log = await attendance.events(session, meeting_id)
        assert len(log) == before
        assert {(e.author_kind, e.author) for e in log if e.site_id != phone.id} == {
            ("platform", "bigbluebutton")
        }

        # Hà Nội comes back.
        assert (await _open(http, site_link)).status == 302
        await poll_once(maker, settings, http)
        assert (await states())["HN"] == "connected"
    finally:
        await engine.dispose()


def test_a_name_two_sites_share_matches_neither():
    def state(site_id: int, code: str, name: str) -> SiteAttendance:
        return SiteAttendance.model_construct(site_id=site_id, site_code=code, site_name=name)

    sites = [state(1, "A", "Liên hiệp Bắc"), state(2, "B", "Lien hiep Bac"), state(3, "C", "Nam")]
    people = [
        video.Attendee(user_id="w_1", full_name="Liên hiệp Bắc", role="VIEWER"),
        video.Attendee(user_id="w_2", full_name="NAM", role="VIEWER"),
        video.Attendee(user_id="b", full_name="Someone", role="VIEWER"),
    ]
    assert present_site_ids(people, sites) == {2, 3}


async def test_a_failing_server_is_logged_and_the_pass_goes_on(
    tmp_path, sqlite_url, bbb, http, caplog
):
    settings = _bbb_settings(tmp_path, sqlite_url, bbb.base_url)
    wrong = dataclasses.replace(settings.video, secret="not-the-secret")
    settings = dataclasses.replace(settings, video=wrong)
    engine = create_engine(settings.database)
    maker = session_maker(engine)
    try:
        async with maker() as session, session.begin():
            site = await make_site(session)
            await _live_meeting(session, [site.id])
            await _live_meeting(session, [site.id])
        with caplog.at_level(logging.ERROR, logger="meetings.attendance.video_poller"):
            report = await poll_once(maker, settings, http)
        assert (report.meetings, report.errors) == (2, 2)
        assert "checksumError" in caplog.text
    finally:
        await engine.dispose()


async def test_the_poll_context_reads_live_rooms_and_stops_with_the_app(tmp_path, sqlite_url, bbb):
    settings = _bbb_settings(tmp_path, sqlite_url, bbb.base_url)
    engine = create_engine(settings.database)
    app = web.Application()
    app[settings_key] = settings
    app[sessions_key] = session_maker(engine)
    try:
        async with app[sessions_key]() as session, session.begin():
            site = await make_site(session)
            await _live_meeting(session, [site.id])
        context = video_poll_context(app)
        await context.__anext__()  # the app starts: the first pass runs at once
        await asyncio.wait_for(bbb.answered["create"].wait(), timeout=10)
        with pytest.raises(StopAsyncIteration):
            await context.__anext__()  # the app stops: the poller ends with it
        assert bbb.calls["getMeetingInfo"] >= 1 and bbb.calls["create"] >= 1
    finally:
        await engine.dispose()


async def test_the_poll_context_does_nothing_without_bigbluebutton(settings):
    app = web.Application()
    app[settings_key] = settings
    context = video_poll_context(app)
    await context.__anext__()
    with pytest.raises(StopAsyncIteration):
        await context.__anext__()
