"""The proceedings of the minutes: the content parts in the order the session ran."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import TypeVar

from agendas.minutes.data import (
    MinutesAgendaItem,
    MinutesContribution,
    MinutesData,
    MinutesRecommendation,
)
from agendas.minutes.parts import Block, Table, in_words, lines_of
from agendas.programme.labels import FOCUS_STATUS_LABELS
from agendas.record.labels import CONTRIBUTION_KIND_LABELS
from meetings.core.i18n import Gettext
from meetings.core.labels import N_

RECOMMENDATION_STATUS_LABELS = {
    "open": N_("Not yet answered"),
    "answered": N_("Answered"),
}

#: Agenda kinds before which the focus items are read out: form 1.9 puts them after the
#: opening and the reports and before the discussion.
_FOCUS_BEFORE = frozenset({"discussion", "conclusion"})

_Spoken = TypeVar("_Spoken", MinutesContribution, MinutesRecommendation)
#: Writes a part's numbered heading.
Heading = Callable[[str], Block]


def proceedings(data: MinutesData, gettext: Gettext) -> list[Block | Table]:
    """The content parts in the order the session ran (form 1.9, point 6).

    The agenda gives the order; the focus items are read out before the first discussion
    (after the opening and the reports), what was said outside any agenda item and the
    recommendations close the discussion before the conclusions, then come the chair's
    conclusions as their own part and the tasks they set.
    """
    heading: Heading = functools.partial(_numbered, itertools.count(1))
    by_item, unlinked = _by_agenda_item(data)
    parts: list[Block | Table] = []
    focus_done = not data.focus_items
    discussion_done = False
    for item in data.agenda:
        if not focus_done and item.kind in _FOCUS_BEFORE:
            parts += _focus(data, gettext, heading)
            focus_done = True
        if not discussion_done and item.kind == "conclusion":
            parts += _discussion(data, unlinked, gettext, heading)
            discussion_done = True
        parts += _agenda_item(item, by_item.get(item.position, []), gettext, heading)
    if not focus_done:
        parts += _focus(data, gettext, heading)
    if not discussion_done:
        parts += _discussion(data, unlinked, gettext, heading)
    if data.conclusions:
        parts.append(heading(gettext("Conclusions of the chair")))
        parts.extend(Block("para", line) for line in lines_of(data.conclusions))
    if data.actions:
        parts += [heading(gettext("Tasks assigned")), _actions(data, gettext)]
    return parts


def _numbered(numbers: Iterator[int], text: str) -> Block:
    """A part's heading, numbered in the order the parts are written."""
    return Block("heading", f"{next(numbers)}. {text}")


def _by_agenda_item(
    data: MinutesData,
) -> tuple[dict[int, list[MinutesContribution]], list[MinutesContribution]]:
    """Contributions by agenda position, and those outside any (still existing) item."""
    by_item: dict[int, list[MinutesContribution]] = {}
    unlinked: list[MinutesContribution] = []
    for contribution in data.contributions:
        if contribution.agenda_position is None:
            unlinked.append(contribution)
        else:
            by_item.setdefault(contribution.agenda_position, []).append(contribution)
    known = {item.position for item in data.agenda}
    for position, orphans in by_item.items():  # an item deleted after the fact
        if position not in known:
            unlinked.extend(orphans)
    return by_item, unlinked


def _focus(data: MinutesData, gettext: Gettext, heading: Heading) -> list[Block]:
    """The focus items with their status and outcome."""
    blocks = [heading(gettext("Focus items discussed"))]
    for item in data.focus_items:
        status = in_words(FOCUS_STATUS_LABELS, item.status, gettext)
        text = gettext("Focus item %(number)s: %(title)s (%(status)s).") % {
            "number": item.number,
            "title": item.title,
            "status": status,
        }
        if item.summary:
            text += " " + gettext("Outcome: %(summary)s") % {"summary": item.summary}
        blocks.append(Block("item", text))
    return blocks


def _discussion(
    data: MinutesData, unlinked: list[MinutesContribution], gettext: Gettext, heading: Heading
) -> list[Block]:
    """What was said outside the agenda items, the recommendations, those still open."""
    return [
        *_per_site(
            gettext("Other contributions, by bridge point"),
            unlinked,
            lambda c: _contribution(c, gettext, with_site=False),
            gettext,
            heading,
        ),
        *_per_site(
            gettext("Recommendations raised"),
            data.recommendations,
            lambda r: _recommendation(r, gettext),
            gettext,
            heading,
        ),
        *_per_site(
            gettext("Recommendations still open from earlier sessions"),
            data.open_earlier,
            lambda r: _earlier(r, gettext),
            gettext,
            heading,
        ),
    ]


def _per_site(
    title: str,
    rows: Sequence[_Spoken],
    say: Callable[[_Spoken], str],
    gettext: Gettext,
    heading: Heading,
) -> list[Block]:
    """A part of rows grouped under the site that spoke them; no part without rows."""
    if not rows:
        return []
    blocks = [heading(title)]
    for site, group in _by_site(rows, gettext):
        blocks.append(Block("item", "", site + ":"))
        blocks.extend(Block("subitem", say(row)) for row in group)
    return blocks


def _actions(data: MinutesData, gettext: Gettext) -> Table:
    """The tasks the chair set, as a table of task, owner and due date."""
    done = f" ({gettext('Done')})"
    return Table(
        columns=(
            gettext("No."),
            gettext("Task"),
            gettext("Responsible"),
            gettext("Due"),
        ),
        widths_mm=(12, 93, 35, 25),
        rows=[
            (
                str(n),
                action.text + (done if action.status == "done" else ""),
                action.owner,
                _short_day(action.due_on),
            )
            for n, action in enumerate(data.actions, start=1)
        ],
        centred=frozenset({0, 3}),
    )


def _agenda_item(
    item: MinutesAgendaItem,
    contributions: list[MinutesContribution],
    gettext: Gettext,
    heading: Heading,
) -> list[Block]:
    """An agenda item: who presented it, its notes and what was said on it."""
    blocks = [heading(item.title)]
    presenter = ", ".join(p for p in (item.presenter, item.presenter_title) if p)
    if presenter:
        blocks.append(
            Block("para", gettext("Presented by %(presenter)s.") % {"presenter": presenter})
        )
    blocks.extend(Block("para", line) for line in lines_of(item.notes))
    if contributions:
        blocks.append(Block("para", "", gettext("Contributions:")))
        blocks.extend(Block("item", _contribution(c, gettext)) for c in contributions)
    return blocks


def _site_name(name: str | None, gettext: Gettext) -> str:
    return name or gettext("Central bridge point")


def _by_site(rows: Iterable[_Spoken], gettext: Gettext) -> list[tuple[str, list[_Spoken]]]:
    """Rows grouped by site, sites in the order they first spoke (dicts keep order)."""
    groups: dict[str, list[_Spoken]] = {}
    for row in rows:
        groups.setdefault(_site_name(row.site_name, gettext), []).append(row)
    return list(groups.items())


def _contribution(
    contribution: MinutesContribution, gettext: Gettext, *, with_site: bool = True
) -> str:
    """'Nguyễn Văn An, Chủ tịch …, Liên hiệp … Kiên Giang (Kiến nghị, trọng tâm 3): …' — the
    speaker's full name, position and site, as form 1.9 asks of each speaker."""
    who = [contribution.speaker_name, contribution.speaker_title]
    if with_site:
        who.append(_site_name(contribution.site_name, gettext))
    about = [in_words(CONTRIBUTION_KIND_LABELS, contribution.kind, gettext)]
    if contribution.focus_number is not None:
        about.append(gettext("focus item %(number)s") % {"number": contribution.focus_number})
    speaker = ", ".join(w for w in who if w)
    kind = ", ".join(about)
    lead = f"{speaker} ({kind})" if speaker else kind
    return f"{lead}: {_one_line(contribution.text)}"


def _recommendation(recommendation: MinutesRecommendation, gettext: Gettext) -> str:
    """'Tổ chức, cán bộ: Đề nghị … (Đã trả lời). Trả lời (…): …'."""
    status = in_words(RECOMMENDATION_STATUS_LABELS, recommendation.status, gettext)
    text = f"{_asked(recommendation)} ({status})."
    if recommendation.answer:
        answer = _one_line(recommendation.answer)
        text += " " + (
            gettext("Answer (%(by)s): %(answer)s")
            % {"by": recommendation.answered_by, "answer": answer}
            if recommendation.answered_by
            else gettext("Answer: %(answer)s") % {"answer": answer}
        )
    return text


def _asked(recommendation: MinutesRecommendation) -> str:
    """The topic and the request, without its closing full stop (a status follows)."""
    topic = f"{recommendation.topic}: " if recommendation.topic else ""
    return topic + _one_line(recommendation.text).rstrip(" .;")


def _earlier(recommendation: MinutesRecommendation, gettext: Gettext) -> str:
    text = _asked(recommendation)
    if recommendation.raised_in:
        text += " " + gettext("(raised at %(session)s)") % {"session": recommendation.raised_in}
    return text + "."


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _short_day(day: date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else ""
