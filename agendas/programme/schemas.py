"""Request and response bodies that are bare JSON arrays (as API.md has them)."""

from __future__ import annotations

from pydantic import RootModel

from agendas.programme.models import AgendaItemIn, AgendaItemPublic, FocusItemIn, FocusItemPublic


class AgendaIn(RootModel[list[AgendaItemIn]]):
    """The whole agenda, in order."""


class AgendaOut(RootModel[list[AgendaItemPublic]]):
    pass


class FocusItemsIn(RootModel[list[FocusItemIn]]):
    """The whole list of focus items."""


class FocusItemsOut(RootModel[list[FocusItemPublic]]):
    pass
