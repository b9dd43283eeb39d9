"""The minutes page as an absolute link: e-mails to the chair and secretary carry it, and
no request. Pages with a request use the route name (`session_minutes`) instead; a test
checks this path against that route."""

from __future__ import annotations

#: The minutes page of a session (route `session_minutes`).
MINUTES_PAGE = "/sessions/{id}/minutes"


def minutes_page_url(public_url: str, meeting_id: int) -> str:
    return public_url.rstrip("/") + MINUTES_PAGE.format(id=int(meeting_id))
