"""The routes agendas.programme contributes: its API operations and its pages."""

from __future__ import annotations

from agendas.programme import api, carried_views, views
from agendas.programme.schemas import AgendaIn, AgendaOut, FocusItemsIn, FocusItemsOut
from meetings.core.routing import Operation, Page, Param, Routes
from meetings.planning.models import MeetingFollowUp, MeetingPublic

ROUTES = Routes(
    api=(
        Operation(
            "POST",
            "/api/v1/meetings/{id}/next",
            api.follow_up,
            "Create the next session of the series from this one",
            body=MeetingFollowUp,
            response=MeetingPublic,
            status=201,
            tags=("sessions",),
            name="api_follow_up",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/agenda",
            api.get_agenda,
            "The agenda with its running timeline",
            response=AgendaOut,
            tags=("programme",),
            name="api_get_agenda",
        ),
        Operation(
            "PUT",
            "/api/v1/meetings/{id}/agenda",
            api.put_agenda,
            "Replace the agenda (the array's order is the order)",
            body=AgendaIn,
            response=AgendaOut,
            query=(
                Param("version", "refuse (409) unless the session is at this version", "integer"),
            ),
            tags=("programme",),
            name="api_put_agenda",
        ),
        Operation(
            "PUT",
            "/api/v1/meetings/{id}/agenda/carried",
            api.put_carried_part,
            "Make again the agenda part of what earlier sessions of the series left open "
            "(kept once; added after the opening items when missing)",
            response=AgendaOut,
            query=(
                Param("version", "refuse (409) unless the session is at this version", "integer"),
            ),
            tags=("programme",),
            name="api_put_carried_part",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/focus-items",
            api.get_focus_items,
            "Focus items (trọng tâm) with their history in the series",
            response=FocusItemsOut,
            tags=("programme",),
            name="api_get_focus_items",
        ),
        Operation(
            "PUT",
            "/api/v1/meetings/{id}/focus-items",
            api.put_focus_items,
            "Replace the focus items (numbers must be unique)",
            body=FocusItemsIn,
            response=FocusItemsOut,
            query=(
                Param("version", "refuse (409) unless the session is at this version", "integer"),
            ),
            tags=("programme",),
            name="api_put_focus_items",
        ),
    ),
    pages=(
        Page("POST", r"/sessions/{id:\d+}/next", views.session_next, "session_next"),
        Page("POST", r"/sessions/{id:\d+}/agenda", views.session_agenda, "session_agenda"),
        Page("POST", r"/sessions/{id:\d+}/focus-items", views.session_focus, "session_focus"),
        Page(
            "POST",
            r"/sessions/{id:\d+}/agenda/carried",
            carried_views.session_carried_part,
            "session_carried_part",
        ),
    ),
)
