"""The routes notify.inbound contributes: the inboxes, the decisions on proposals of
another time and on answers from unknown addresses, as API operations and as pages."""

from __future__ import annotations

from meetings.core.routing import PAGING, Operation, Page, Param, Routes
from notify.inbound import api, strangers, views
from notify.inbound.inbox import InboundMailPublic

FILTERING = (
    Param("kind", "reply, counter, bounce, plain or unreadable"),
    Param(
        "outcome",
        "applied, stale, stranger, unmatched, closed, pending, accepted, declined, transient "
        "or unreadable",
    ),
    *PAGING,
)

ROUTES = Routes(
    api=(
        Operation(
            "GET",
            "/api/v1/meetings/{id}/inbox",
            api.session_inbox,
            "What the sites sent about the session (calendar answers, proposals of another "
            "time, bounces, plain replies), newest first, with what was done with each",
            response=InboundMailPublic,
            is_collection=True,
            query=FILTERING,
            tags=("inbox",),
            name="api_session_inbox",
        ),
        Operation(
            "GET",
            "/api/v1/inbox",
            api.service_inbox,
            "The e-mails that name no session of ours, or could not be read, newest first",
            response=InboundMailPublic,
            is_collection=True,
            query=FILTERING,
            tags=("inbox",),
            name="api_service_inbox",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/counters/{inbound_id}/accept",
            api.accept_counter,
            "Accept a site's proposal of another time: the session moves there (version "
            "checked) and updates are queued to every invited site; decided once",
            body=api.CounterAccept,
            response=api.CounterAccepted,
            tags=("inbox",),
            name="api_accept_counter",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/counters/{inbound_id}/decline",
            api.decline_counter,
            "Decline a site's proposal of another time: the session keeps its time and a "
            "METHOD:DECLINECOUNTER is queued to the contact who proposed; decided once",
            response=api.CounterDeclined,
            status=202,
            tags=("inbox",),
            name="api_decline_counter",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/inbox/{inbound_id}/apply",
            api.apply_stranger,
            "Apply a calendar answer from an address that was not invited to the invited "
            "site it speaks for: the site's RSVP is set as by any calendar reply (an answer "
            "to an older version is recorded, not taken); decided once (409), a site not "
            "invited is a 422",
            body=strangers.StrangerApply,
            response=strangers.StrangerApplied,
            tags=("inbox",),
            name="api_apply_stranger",
        ),
    ),
    pages=(
        Page("GET", r"/sessions/{id:\d+}/inbox", views.session_inbox, "session_inbox"),
        Page("GET", "/inbox", views.service_inbox, "inbox"),
        Page(
            "POST",
            r"/sessions/{id:\d+}/counters/{inbound_id:\d+}/accept",
            views.accept_counter,
            "session_counter_accept",
        ),
        Page(
            "POST",
            r"/sessions/{id:\d+}/counters/{inbound_id:\d+}/decline",
            views.decline_counter,
            "session_counter_decline",
        ),
        Page(
            "GET",
            r"/sessions/{id:\d+}/inbox/{inbound_id:\d+}/apply",
            views.stranger_form,
            "session_inbox_apply",
        ),
        Page(
            "POST",
            r"/sessions/{id:\d+}/inbox/{inbound_id:\d+}/apply",
            views.apply_stranger,
            "session_inbox_apply_post",
        ),
    ),
)
