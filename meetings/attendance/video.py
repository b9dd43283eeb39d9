"""Video rooms: the link each bridge point (or the hall) opens, on Jitsi Meet or BigBlueButton.

Links are built from the session alone, so an invitation sent weeks ahead still opens the
right room. BigBlueButton also needs its room created before anyone can join, and is the
one platform that says who is in the room: `create_room` and `get_meeting_info` are its
two server calls (a small aiohttp client); `meetings.attendance.video_poller` turns the attendee
list into attendance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET  # noqa: S405 (see _parse)
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import aiohttp
from yarl import URL

from meetings.core.settings import Settings, VideoSettings

#: A Jitsi token stays valid this long after the session's planned end (overruns).
TOKEN_GRACE = timedelta(hours=2)
#: The hall's user id in BigBlueButton: "~" is not allowed in site codes, so no site
#: can ever be mistaken for the hall.
HALL_USER_ID = "~hall"
#: getMeetingInfo lists every attendee: a few hundred bytes each, thousands of sites.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class MeetingLike(Protocol):
    """What a link needs from a session: the table row and the public model both fit."""

    @property
    def uid(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def video_url(self) -> str: ...


class SiteLike(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...


class VideoPlatformError(Exception):
    """The platform refused a call; `key` is its stable message key (checksumError, …)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def room_name(video: VideoSettings, meeting: MeetingLike) -> str:
    """The room of a session: a digest of its uid, so it survives edits of title and time.

    A title-based name would move the room whenever the title is corrected after the
    invitations went out, and a readable name is guessable: without tokens, anyone who
    guesses a Jitsi room's name is in it.
    """
    digest = hashlib.sha256(meeting.uid.encode("utf-8")).hexdigest()[:16]
    return f"{video.room_prefix}{digest}"


def join_url(settings: Settings, meeting: MeetingLike, site: SiteLike | None = None) -> str | None:
    """What `site` (the hall when None) opens to join, for the configured platform."""
    provider = settings.video.provider
    if provider == "jitsi":
        return jitsi_room(settings, meeting, site)
    if provider == "bigbluebutton":
        return bbb_join_url(settings, meeting, site)
    return meeting.video_url or None


async def create_room(
    settings: Settings, meeting: MeetingLike, http: aiohttp.ClientSession
) -> None:
    """Make sure the room exists before people follow their links (BigBlueButton only)."""
    if settings.video.provider == "bigbluebutton":
        await bbb_create(settings.video, meeting, http)


# --- Jitsi Meet --------------------------------------------------------------------------


def jitsi_room(settings: Settings, meeting: MeetingLike, site: SiteLike | None = None) -> str:
    """`<base_url>/<room>`, with `?jwt=` when the server admits only tokens we signed."""
    video = settings.video
    room = room_name(video, meeting)
    url = f"{video.base_url}/{room}"
    if not (video.secret and video.jitsi_app_id):
        return url
    name, user_id = _identity(settings, site)
    claims = {
        "aud": video.jitsi_app_id,
        "iss": video.jitsi_app_id,
        "sub": _jitsi_subject(video.base_url),
        "room": room,
        "exp": int((meeting.ends_at + TOKEN_GRACE).timestamp()),
        "context": {"user": {"id": user_id, "name": name}},
    }
    return f"{url}?jwt={hs256_token(claims, video.secret)}"


def _jitsi_subject(base_url: str) -> str:
    """The tenant for `host/tenant/room` links, else the domain (Prosody's `sub` check)."""
    parts = urlsplit(base_url)
    tenant = parts.path.strip("/").rsplit("/", 1)[-1]
    return (tenant or parts.hostname or "").lower()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256_token(claims: dict[str, object], secret: str) -> str:
    """A JWT signed with HMAC-SHA256 (RFC 7519/7515): all a Jitsi token needs."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{header}.{payload}"
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256)
    return f"{signing_input}.{_b64url(signature.digest())}"


def _identity(settings: Settings, site: SiteLike | None) -> tuple[str, str]:
    """(display name, user id): the name is what the poller matches a site by."""
    if site is None:
        return settings.organisation.hall, HALL_USER_ID
    return site.name, site.code


# --- BigBlueButton -----------------------------------------------------------------------


@dataclass(frozen=True)
class Attendee:
    user_id: str
    full_name: str
    role: str


@dataclass(frozen=True)
class MeetingInfo:
    running: bool
    attendees: list[Attendee]


def checksum(call: str, query: str, secret: str) -> str:
    """SHA-1 of call name + query string + shared secret, as the API's security model says."""
    return hashlib.sha1(f"{call}{query}{secret}".encode()).hexdigest()  # noqa: S324 (the API's)


def bbb_url(video: VideoSettings, call: str, params: list[tuple[str, str]]) -> str:
    """A signed API URL; the checksum covers exactly the query string that is sent."""
    base = video.base_url if video.base_url.endswith("/api") else f"{video.base_url}/api"
    query = urlencode(params)
    signed = f"{query}&" if query else ""
    return f"{base}/{call}?{signed}checksum={checksum(call, query, video.secret)}"


def _password(video: VideoSettings, room: str, role: str) -> str:
    """Per-room passwords derived from the secret: stable, and no one can work them out.

    Servers since 2.4 take `role` on join; older ones only tell roles by password, so
    both are sent.
    """
    digest = hmac.new(video.secret.encode(), f"{role}:{room}".encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def bbb_join_url(settings: Settings, meeting: MeetingLike, site: SiteLike | None = None) -> str:
    """The join link: sites as viewers named after the register, the hall as moderator.

    `userID` carries the site's code and `fullName` its name: getMeetingInfo hands both
    back, which is how the poller knows which bridge point is in the room.
    """
    video = settings.video
    room = room_name(video, meeting)
    role = "MODERATOR" if site is None else "VIEWER"
    name, user_id = _identity(settings, site)
    return bbb_url(
        video,
        "join",
        [
            ("fullName", name),
            ("meetingID", room),
            ("role", role),
            ("password", _password(video, room, role)),
            ("userID", user_id),
        ],
    )


async def bbb_create(
    video: VideoSettings, meeting: MeetingLike, http: aiohttp.ClientSession
) -> None:
    """Create the room; the call is idempotent, so repeating it is harmless."""
    room = room_name(video, meeting)
    await _call(
        http,
        bbb_url(
            video,
            "create",
            [
                ("name", meeting.title),
                ("meetingID", room),
                ("attendeePW", _password(video, room, "VIEWER")),
                ("moderatorPW", _password(video, room, "MODERATOR")),
            ],
        ),
    )


async def get_meeting_info(
    video: VideoSettings, meeting: MeetingLike, http: aiohttp.ClientSession
) -> MeetingInfo | None:
    """Who is in the room now; None when the room does not exist (not created, or over)."""
    url = bbb_url(video, "getMeetingInfo", [("meetingID", room_name(video, meeting))])
    try:
        root = await _call(http, url)
    except VideoPlatformError as error:
        if error.key == "notFound":
            return None
        raise
    attendees = [
        Attendee(
            user_id=(node.findtext("userID") or "").strip(),
            full_name=(node.findtext("fullName") or "").strip(),
            role=(node.findtext("role") or "").strip(),
        )
        for node in root.iterfind("attendees/attendee")
    ]
    return MeetingInfo(running=root.findtext("running") == "true", attendees=attendees)


async def _call(http: aiohttp.ClientSession, url: str) -> ET.Element:
    # encoded=True: the query must reach the server byte for byte as it was checksummed.
    async with http.get(URL(url, encoded=True)) as response:
        body = await response.content.read(MAX_RESPONSE_BYTES + 1)
        if response.status != 200:
            raise VideoPlatformError("http", f"HTTP {response.status} from {response.url.path}")
    if len(body) > MAX_RESPONSE_BYTES:
        raise VideoPlatformError("tooLarge", "response larger than expected")
    root = _parse(body)
    if (root.findtext("returncode") or "").upper() != "SUCCESS":
        raise VideoPlatformError(
            root.findtext("messageKey") or "failed", root.findtext("message") or "no message"
        )
    return root


def _parse(body: bytes) -> ET.Element:
    """Parse the server's answer; the stdlib parser is safe enough for this source.

    It comes from the configured server only, ElementTree resolves no external
    entities, and expat ≥ 2.4 refuses entity-expansion bombs.
    """
    try:
        return ET.fromstring(body)  # noqa: S314
    except ET.ParseError as error:
        raise VideoPlatformError("badResponse", f"not XML: {error}") from None
