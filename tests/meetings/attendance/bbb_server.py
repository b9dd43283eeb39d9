"""A small BigBlueButton API server for the tests, written from the API reference.

It checks every call's checksum the way the real server does (SHA-1 of the call name,
the raw query string without the checksum parameter, and the shared secret) and answers
in the documented XML, so our client is proven against the protocol, not against itself.
Joining through a link puts the user in the room; tests take people out with `leave`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import secrets
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web

_ids = itertools.count(1)


@dataclass
class FakeAttendee:
    user_id: str
    full_name: str
    role: str


@dataclass
class FakeMeeting:
    meeting_id: str
    name: str
    attendee_pw: str
    moderator_pw: str
    create_time: int
    attendees: list[FakeAttendee] = field(default_factory=list)


def _xml(returncode: str, **children: str | None) -> ET.Element:
    root = ET.Element("response")
    ET.SubElement(root, "returncode").text = returncode
    for name, value in children.items():
        if value is not None:
            ET.SubElement(root, name).text = value
    return root


def _answer(root: ET.Element) -> web.Response:
    # The real server answers errors with HTTP 200 too; the returncode tells.
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return web.Response(body=body, content_type="text/xml", charset="utf-8")


def _failed(key: str, message: str) -> web.Response:
    return _answer(_xml("FAILED", messageKey=key, message=message))


class FakeBigBlueButton:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.meetings: dict[str, FakeMeeting] = {}
        #: Calls that passed the checksum, by name (create, join, getMeetingInfo).
        self.calls: dict[str, int] = defaultdict(int)
        #: Set once a call of that name has been answered (to wait on, never to sleep).
        self.answered: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        #: Where the API lives once the test has started the server.
        self.base_url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/bigbluebutton/api/{call}", self._dispatch)
        return app

    # --- what tests do to the room ---------------------------------------------------

    def add_attendee(
        self, meeting_id: str, full_name: str, user_id: str = "", role: str = "VIEWER"
    ) -> None:
        """Someone joined by another way (a link typed by hand): no user id of ours."""
        user_id = user_id or f"w_{secrets.token_hex(6)}"
        self.meetings[meeting_id].attendees.append(FakeAttendee(user_id, full_name, role))

    def leave(self, meeting_id: str, user_id: str) -> None:
        meeting = self.meetings[meeting_id]
        meeting.attendees = [a for a in meeting.attendees if a.user_id != user_id]

    # --- the API ---------------------------------------------------------------------

    def _checksum_ok(self, call: str, raw_query: str) -> bool:
        parts = raw_query.split("&") if raw_query else []
        given = [p[len("checksum=") :] for p in parts if p.startswith("checksum=")]
        rest = "&".join(p for p in parts if not p.startswith("checksum="))
        if len(given) != 1:
            return False
        expected = hashlib.sha1(f"{call}{rest}{self.secret}".encode()).hexdigest()
        return hmac.compare_digest(expected, given[0])

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        call = request.match_info["call"]
        raw_query = request.raw_path.partition("?")[2]
        if not self._checksum_ok(call, raw_query):
            return _failed("checksumError", "Checksums do not match")
        self.calls[call] += 1
        handler = {
            "create": self._create,
            "join": self._join,
            "getMeetingInfo": self._get_meeting_info,
        }.get(call)
        if handler is None:
            return _failed("unsupportedRequest", "This request is not supported.")
        try:
            return handler(request)
        finally:
            self.answered[call].set()

    def _create(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        meeting_id, name = query.get("meetingID", ""), query.get("name", "")
        if not meeting_id:
            return _failed("missingParamMeetingID", "You must specify a meeting ID")
        if not name:
            return _failed("missingParamName", "You must specify a name for the meeting")
        warning = {}
        if meeting_id in self.meetings:
            warning = {
                "messageKey": "duplicateWarning",
                "message": "This conference was already in existence",
            }
        else:
            self.meetings[meeting_id] = FakeMeeting(
                meeting_id=meeting_id,
                name=name,
                attendee_pw=query.get("attendeePW") or secrets.token_hex(4),
                moderator_pw=query.get("moderatorPW") or secrets.token_hex(4),
                create_time=1_700_000_000_000 + next(_ids),
            )
        meeting = self.meetings[meeting_id]
        return _answer(
            _xml(
                "SUCCESS",
                meetingID=meeting.meeting_id,
                attendeePW=meeting.attendee_pw,
                moderatorPW=meeting.moderator_pw,
                createTime=str(meeting.create_time),
                hasUserJoined="true" if meeting.attendees else "false",
                **warning,
            )
        )

    def _join(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        meeting = self.meetings.get(query.get("meetingID", ""))
        if meeting is None:
            return _failed(
                "invalidMeetingIdentifier",
                "The meeting ID that you supplied did not match any existing meetings",
            )
        if not query.get("fullName"):
            return _failed("missingParamFullName", "You must specify a name for the attendee")
        role = query.get("role", "").upper()
        if role not in ("MODERATOR", "VIEWER"):
            # Before roles, the password told the role.
            password = query.get("password", "")
            role = {meeting.moderator_pw: "MODERATOR", meeting.attendee_pw: "VIEWER"}.get(
                password, ""
            )
            if not role:
                return _failed(
                    "invalidPassword",
                    "The password supplied is neither the attendee nor the moderator password",
                )
        user_id = query.get("userID") or f"w_{secrets.token_hex(6)}"
        meeting.attendees.append(FakeAttendee(user_id, query["fullName"], role))
        if query.get("redirect", "true").lower() == "false":
            return _answer(
                _xml(
                    "SUCCESS",
                    messageKey="successfullyJoined",
                    message="You have joined successfully.",
                    meeting_id=meeting.meeting_id,
                    user_id=user_id,
                )
            )
        raise web.HTTPFound(f"/html5client/join?sessionToken={secrets.token_hex(8)}")

    def _get_meeting_info(self, request: web.Request) -> web.StreamResponse:
        meeting = self.meetings.get(request.query.get("meetingID", ""))
        if meeting is None:
            return _failed("notFound", "We could not find a meeting with that meeting ID")
        root = _xml(
            "SUCCESS",
            meetingName=meeting.name,
            meetingID=meeting.meeting_id,
            createTime=str(meeting.create_time),
            running="true" if meeting.attendees else "false",
            participantCount=str(len(meeting.attendees)),
            moderatorCount=str(sum(a.role == "MODERATOR" for a in meeting.attendees)),
        )
        attendees = ET.SubElement(root, "attendees")
        for person in meeting.attendees:
            node = ET.SubElement(attendees, "attendee")
            ET.SubElement(node, "userID").text = person.user_id
            ET.SubElement(node, "fullName").text = person.full_name
            ET.SubElement(node, "role").text = person.role
            ET.SubElement(node, "isPresenter").text = "false"
            ET.SubElement(node, "clientType").text = "HTML5"
        ET.SubElement(root, "metadata")
        ET.SubElement(root, "isBreakout").text = "false"
        return _answer(root)
