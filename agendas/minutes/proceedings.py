"""The proceedings of the minutes: the content parts in agenda order, numbered as the agenda."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from agendas.minutes.data import (
    MinutesAgendaItem,
    MinutesContribution,
    MinutesData,
    MinutesRecommendation,
)
from agendas.minutes.parts import Block, Table, in_words, lines_of
from agendas.programme.carried_part import CARRIED_TITLE, is_carried_part
from agendas.programme.labels import FOCUS_STATUS_LABELS
from agendas.record.labels import CARRIED_STATE_LABELS, CONTRIBUTION_KIND_LABELS
from meetings.core.i18n import Gettext

#: Agenda kinds before which the focus items are read out: form 1.9 puts them after the
#: opening and the reports and before the discussion.
_FOCUS_BEFORE = frozenset({"discussion", "conclusion"})

_Spoken = TypeVar("_Spoken", MinutesContribution, MinutesRecommendation)


@dataclass(frozen=True)
class _Places:
    """Which agenda item (by index) tells the parts that have no item of their own."""

    focus: int | None
    discussion: int | None
    conclusion: int | None
    #: The part on what earlier sessions left open ("Kết quả thực hiện kết luận phiên trước").
    carried: int | None = None


def proceedings(data: MinutesData, gettext: Gettext) -> list[Block | Table]:
    """The content parts in agenda order, numbered as the agenda (form 1.9, point 6).

    Each agenda item is a part: who presented it, the notes on it and what was said on it
    (a recommendation told where it was raised, with its answer). The focus items are told
    in the item read just before the first discussion (the reports that set them out); what
    was said outside any item and the recommendations told apart close the discussion; the
    conclusion item is the chair's conclusions with the tasks they set, so that there is
    one part of conclusions. Parts without an item of their own to go in follow the agenda.
    """
    by_item, unlinked = _by_agenda_item(data)
    places = _places(data)
    parts: list[Block | Table] = []
    for index, item in enumerate(data.agenda):
        is_conclusion = index == places.conclusion
        title = gettext("Conclusions of the chair") if is_conclusion else item.title
        parts.append(Block("heading", f"{item.position}. {title}"))
        parts += _agenda_item(item, by_item.get(item.position, []), gettext)
        if index == places.carried:
            parts += _carried(data, gettext)
        if index == places.focus:
            parts += _focus(data, gettext)
        if index == places.discussion:
            parts += _discussion(data, unlinked, gettext)
        if is_conclusion:
            parts += _conclusions(data, gettext)
    number = max((item.position for item in data.agenda), default=0)
    extra: list[tuple[str, Sequence[Block | Table]]] = []
    if places.carried is None:
        extra.append((gettext(CARRIED_TITLE), _carried(data, gettext)))
    if places.focus is None:
        extra.append((gettext("Focus items discussed"), _focus(data, gettext)[1:]))
    if places.discussion is None:
        extra.append((gettext("Discussion"), _discussion(data, unlinked, gettext)))
    if places.conclusion is None:
        extra.append((gettext("Conclusions of the chair"), _conclusions(data, gettext)))
    for title, told in extra:
        if told:
            number += 1
            parts += [Block("heading", f"{number}. {title}"), *told]
    return parts


def _places(data: MinutesData) -> _Places:
    kinds = [item.kind for item in data.agenda]
    first = next((n for n, kind in enumerate(kinds) if kind in _FOCUS_BEFORE), None)
    discussion = kinds.index("discussion") if "discussion" in kinds else None
    conclusion = kinds.index("conclusion") if "conclusion" in kinds else None
    if first is None:
        focus = len(kinds) - 1 if kinds else None
    else:
        focus = max(first - 1, 0)
    if discussion is None and conclusion is not None and conclusion > 0:
        discussion = conclusion - 1
    carried = next((n for n, i in enumerate(data.agenda) if is_carried_part(i.title)), None)
    return _Places(focus=focus, discussion=discussion, conclusion=conclusion, carried=carried)


def _carried(data: MinutesData, gettext: Gettext) -> list[Block | Table]:
    """What the session carried from earlier ones and how each stood: one row each."""
    if not data.carried:
        return []
    rows = []
    for n, item in enumerate(data.carried, start=1):
        text = _one_line(item.text)
        if item.kind == "recommendation":
            text = gettext("Recommendation: %(text)s") % {"text": text}
        if item.raised_in:
            text += " " + gettext("(raised at %(session)s)") % {"session": item.raised_in}
        if item.progress:
            text += "\n" + gettext("Latest progress:") + " " + item.progress
        state = in_words(CARRIED_STATE_LABELS, item.state, gettext)
        rows.append((str(n), text, item.owner, _short_day(item.due_on), state))
    table = Table(
        columns=(
            gettext("No."),
            gettext("Task or recommendation"),
            gettext("Responsible"),
            gettext("Due"),
            gettext("State"),
        ),
        widths_mm=(12, 70, 32, 22, 29),
        rows=rows,
        centred=frozenset({0, 3, 4}),
    )
    intro = gettext("What the earlier sessions of the series left open, and how it stands:")
    return [Block("para", "", intro), table]


def _conclusions(data: MinutesData, gettext: Gettext) -> list[Block | Table]:
    """The chair's conclusions and the tasks they set."""
    parts: list[Block | Table] = [Block("para", line) for line in lines_of(data.conclusions)]
    if data.actions:
        parts += [Block("para", "", gettext("Tasks assigned") + ":"), _actions(data, gettext)]
    return parts


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


def _focus(data: MinutesData, gettext: Gettext) -> list[Block]:
    """The focus items with their status and outcome."""
    if not data.focus_items:
        return []
    blocks = [Block("para", "", gettext("Focus items discussed") + ":")]
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
    data: MinutesData, unlinked: list[MinutesContribution], gettext: Gettext
) -> list[Block]:
    """What was said outside the agenda items, the recommendations not told with what was
    said (approved before they were), those carried in from earlier sessions."""
    return [
        *_per_site(
            gettext("Other contributions, by bridge point"),
            unlinked,
            lambda c: _contribution(c, gettext, with_site=False),
            gettext,
        ),
        *_per_site(
            gettext("Recommendations raised"),
            data.recommendations,
            lambda r: _recommendation(r, gettext),
            gettext,
        ),
        *_per_site(
            gettext("Recommendations still open from earlier sessions"),
            [] if any(c.kind == "recommendation" for c in data.carried) else data.open_earlier,
            lambda r: _earlier(r, gettext),
            gettext,
        ),
    ]


def _per_site(
    title: str, rows: Sequence[_Spoken], say: Callable[[_Spoken], str], gettext: Gettext
) -> list[Block]:
    """A sub-part of rows grouped under the site that spoke them; none without rows."""
    if not rows:
        return []
    blocks = [Block("para", "", title + ":")]
    for site, group in _by_site(rows, gettext):
        blocks.append(Block("item", "", site + ":"))
        blocks.extend(Block("subitem", say(row)) for row in group)
    return blocks


def _actions(data: MinutesData, gettext: Gettext) -> Table:
    """The tasks the chair set, as a table of task, owner and due date (as assigned: the
    follow-up of each is kept elsewhere, so the approved minutes stay as they were)."""
    return Table(
        columns=(
            gettext("No."),
            gettext("Task"),
            gettext("Responsible"),
            gettext("Due"),
        ),
        widths_mm=(12, 93, 35, 25),
        rows=[
            (str(n), action.text, action.owner, _short_day(action.due_on))
            for n, action in enumerate(data.actions, start=1)
        ],
        centred=frozenset({0, 3}),
    )


def _agenda_item(
    item: MinutesAgendaItem, contributions: list[MinutesContribution], gettext: Gettext
) -> list[Block]:
    """An agenda item's content: who presented it, its notes and what was said on it."""
    blocks = []
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
    speaker's full name, position and site, as form 1.9 asks of each speaker; a
    recommendation with its topic and the answer given."""
    who = [contribution.speaker_name, contribution.speaker_title]
    if with_site:
        who.append(_site_name(contribution.site_name, gettext))
    about = [in_words(CONTRIBUTION_KIND_LABELS, contribution.kind, gettext)]
    if contribution.focus_number is not None:
        about.append(gettext("focus item %(number)s") % {"number": contribution.focus_number})
    speaker = ", ".join(w for w in who if w)
    kind = ", ".join(about)
    lead = f"{speaker} ({kind})" if speaker else kind
    if contribution.recommendation is not None:
        return f"{lead}: {_recommendation(contribution.recommendation, gettext)}"
    return f"{lead}: {_one_line(contribution.text)}"


def _recommendation(recommendation: MinutesRecommendation, gettext: Gettext) -> str:
    """'Tổ chức, cán bộ: Đề nghị …. Trả lời (…): …' — the request and the answer given;
    one not answered is told as asked (its follow-up is the register's)."""
    return f"{_asked(recommendation)}.{_answer(recommendation, gettext)}"


def _answer(recommendation: MinutesRecommendation, gettext: Gettext) -> str:
    if not recommendation.answer:
        return ""
    answer = _one_line(recommendation.answer)
    if recommendation.answered_by:
        return " " + gettext("Answer (%(by)s): %(answer)s") % {
            "by": recommendation.answered_by,
            "answer": answer,
        }
    return " " + gettext("Answer: %(answer)s") % {"answer": answer}


def _asked(recommendation: MinutesRecommendation) -> str:
    """The topic and the request, without its closing full stop."""
    topic = f"{recommendation.topic}: " if recommendation.topic else ""
    return topic + _one_line(recommendation.text).rstrip(" .;")


def _earlier(recommendation: MinutesRecommendation, gettext: Gettext) -> str:
    text = _asked(recommendation)
    if recommendation.raised_in:
        text += " " + gettext("(raised at %(session)s)") % {"session": recommendation.raised_in}
    return text + "." + _answer(recommendation, gettext)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _short_day(day: date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else ""
