"""Request and response bodies that are bare JSON arrays (as API.md has them)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, RootModel

from agendas.programme.models import AgendaItemIn, AgendaItemPublic, FocusItemIn, FocusItemPublic


class AgendaIn(RootModel[Annotated[list[AgendaItemIn], Field(max_length=999)]]):
    """The whole agenda, in order."""


class AgendaOut(RootModel[list[AgendaItemPublic]]):
    pass


class FocusItemsIn(RootModel[Annotated[list[FocusItemIn], Field(max_length=999)]]):
    """The whole list of focus items."""


class FocusItemsOut(RootModel[list[FocusItemPublic]]):
    pass
