"""The minutes (biên bản) of a session as HTML, Word, PDF and Markdown, in form 1.9.

Rendering is pure: each function takes a `MinutesData` (built beforehand from the record,
or read back from an approved version's JSON) and a locale, and touches no database, so an
approved version renders the same forever and any format can be tested on its own.

All four formats are laid out from one `MinutesView`: the wording (every label through
gettext, dates and times as offices write them) is decided once in `minutes_view`, and
each format only places it. So the Word file the office edits, the PDF the chair signs
and the Markdown sent to the sites never disagree on a figure or a word.

`to_pdf` and `to_docx` are blocking (WeasyPrint: a second or so; python-docx: tens of
milliseconds): call them from a worker thread (`asyncio.to_thread`), not the event loop.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

import jinja2

from agendas.minutes.data import (
    MinutesAgendaItem,
    MinutesContribution,
    MinutesData,
    MinutesRecommendation,
)
from agendas.programme.labels import FOCUS_STATUS_LABELS
from agendas.record.labels import CONTRIBUTION_KIND_LABELS
from meetings.attendance.labels import ATTENDANCE_LABELS
from meetings.core.admin_format import clock_in_words, date_in_words, html_to_pdf, moment_in_words
from meetings.core.forms import Gettext
from meetings.core.i18n import document_environment, format_count, translations
from meetings.core.labels import N_

if TYPE_CHECKING:  # python-docx is imported when a .docx is made, not at start-up
    from docx.document import Document as WordDocument
    from docx.section import Section
    from lxml import etree

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"
MARKDOWN_TYPE = "text/markdown; charset=utf-8"
#: The document type in the number, fixed by Decree 30 (Appendix III): BB = biên bản.
MINUTES_CODE = "BB"
#: The font of Decree 30 (Times New Roman); Liberation Serif has its metrics and covers
#: Vietnamese, so the PDF embeds that and Word on the office's machine shows Times.
FONT = "Times New Roman"
#: A site never seen on the board has no status; the board calls it "not connected".
SITE_STATUS_LABELS: dict[str | None, str] = {None: N_("Not connected"), **ATTENDANCE_LABELS}
RECOMMENDATION_STATUS_LABELS = {
    "open": N_("Not yet answered"),
    "answered": N_("Answered"),
}
#: Beyond this many absent sites the body gives their number and the attached list their
#: names: a national session's hundreds of names would bury the paragraph.
ABSENT_NAMED_MAX = 100
#: Agenda kinds before which the focus items are read out: form 1.9 puts them after the
#: opening and the reports and before the discussion.
_FOCUS_BEFORE = frozenset({"discussion", "conclusion"})
#: Characters XML 1.0 refuses; a stray one typed into a note must not break the .docx.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_Spoken = TypeVar("_Spoken", MinutesContribution, MinutesRecommendation)


# --- the view: wording decided once for every format -----------------------------------


@dataclass(frozen=True)
class Block:
    """One paragraph of the body; `kind` says how every format lays it out."""

    kind: Literal["heading", "para", "item", "subitem"]
    text: str
    #: A bold lead-in ("Thời gian bắt đầu:") before the text.
    label: str = ""


@dataclass(frozen=True)
class Table:
    """A ruled table: the action items in the body, the bridge points in the attached list."""

    columns: Sequence[str]
    #: Column widths in millimetres; they add up to the text width (165 mm on A4).
    widths_mm: Sequence[float]
    #: Cells are plain text; a newline starts a second, smaller line (a site's officials).
    #: A row of one cell is a group heading across the table (a cluster's name).
    rows: Sequence[Sequence[str]]
    #: Columns set centred (numbers, dates, statuses).
    centred: frozenset[int] = frozenset()
    total: Sequence[str] = ()


@dataclass(frozen=True)
class Attachment:
    """The attached list (danh sách kèm theo) of every invited bridge point."""

    title: str
    note: str
    table: Table


@dataclass(frozen=True)
class MinutesView:
    """Everything the minutes print, already translated and formatted, in print order."""

    locale: str
    #: Fixed words of the layout: title, national title and motto, signature titles.
    labels: dict[str, str]
    governing_body: str
    issuer: str
    #: "BB-LHHN": the number itself is written in when the minutes are registered.
    number: str
    dated: str
    #: "DỰ THẢO lần 2" on a draft, "" once approved.
    draft_mark: str
    #: Who approved this version and when, "" on a draft.
    approval: str
    subject: str
    online: str
    body: list[Block | Table]
    secretary: str
    chair: str
    recipients: list[str]
    attachment: Attachment | None


def minutes_view(data: MinutesData, *, locale: str) -> MinutesView:
    """The minutes' wording in `locale`, in the order of form 1.9 (MINUTES.md)."""
    gettext = translations(locale).gettext
    meeting = data.meeting
    organisation = data.organisation
    attendance = data.attendance
    zone = ZoneInfo(meeting.timezone)
    count = functools.partial(_count, locale=locale)
    starts = meeting.starts_at.astimezone(zone)
    ends = meeting.ends_at.astimezone(zone)
    labels = {
        "title": gettext("MINUTES"),
        "nation": gettext("SOCIALIST REPUBLIC OF VIET NAM"),
        "motto": gettext("Independence - Freedom - Happiness"),
        "number": gettext("No.:"),
        "secretary": gettext("SECRETARY"),
        "chair": gettext("CHAIR"),
        "recipients": gettext("Recipients:"),
        "document": gettext("Minutes — %(title)s") % {"title": meeting.title},
    }
    body: list[Block | Table] = [
        Block("para", moment_in_words(starts, locale, meeting.timezone), gettext("Start time:"))
    ]
    hall = meeting.location or organisation.hall
    if attendance.invited:
        place = gettext(
            "Central bridge point: %(hall)s, %(city)s; "
            "connected online with %(count)s bridge points."
        ) % {"hall": hall, "city": organisation.city, "count": count(attendance.invited)}
    else:
        place = ", ".join(p for p in (hall, organisation.city) if p) + "."
    body.append(Block("para", place, gettext("Venue:")))
    body.extend(_participants(data, gettext, count))
    body.append(Block("para", meeting.chair, gettext("Chair (presiding):")))
    body.append(Block("para", meeting.secretary, gettext("Secretary (minute-taker):")))
    body.append(Block("para", "", gettext("Proceedings:")))
    body.extend(Block("para", line) for line in _lines(data.general_notes))
    body.extend(_proceedings(data, gettext))
    ended = gettext("The meeting ended at %(time)s, %(day)s.") % {
        "time": clock_in_words(ends, locale),
        "day": date_in_words(ends.date(), locale),
    }
    body.append(Block("para", ended))
    day = date_in_words(data.issued_on, locale)
    return MinutesView(
        locale=locale,
        labels=labels,
        governing_body=organisation.governing_body.upper(),
        issuer=organisation.name.upper(),
        number=f"{MINUTES_CODE}-{organisation.document_code}"
        if organisation.document_code
        else MINUTES_CODE,
        dated=f"{organisation.city}, {day}" if organisation.city else day,
        draft_mark=""
        if data.status == "approved"
        else gettext("DRAFT, version %(version)s") % {"version": data.version},
        approval=_approval(data, gettext, locale, zone) if data.status == "approved" else "",
        subject=meeting.title,
        online=gettext("(online, with %(count)s bridge points)")
        % {"count": count(attendance.invited)}
        if attendance.invited
        else "",
        body=body,
        secretary=meeting.secretary,
        chair=meeting.chair,
        recipients=[
            gettext("- The bridge points attending;"),
            gettext("- Filed: Archives, meeting file."),
        ],
        attachment=_attachment(data, gettext, count, locale) if attendance.sites else None,
    )


def _approval(data: MinutesData, gettext: Gettext, locale: str, zone: ZoneInfo) -> str:
    approved_at = data.approved_at.astimezone(zone) if data.approved_at else None
    moment = (
        f"{clock_in_words(approved_at, locale)}, {date_in_words(approved_at.date(), locale)}"
        if approved_at
        else ""
    )
    return gettext("Version %(version)s, approved by %(approver)s at %(moment)s.") % {
        "version": data.version,
        "approver": data.approved_by,
        "moment": moment,
    }


def _participants(data: MinutesData, gettext: Gettext, count: Callable[[int], str]) -> list[Block]:
    """Who attended: the hall, the bridge points with their totals and clusters, the absent."""
    meeting = data.meeting
    attendance = data.attendance
    blocks = [Block("para", "", gettext("Participants:"))]
    hall = [
        gettext("%(name)s (chair)") % {"name": meeting.chair} if meeting.chair else "",
        gettext("%(name)s (secretary)") % {"name": meeting.secretary} if meeting.secretary else "",
    ]
    if any(hall):
        blocks.append(
            Block(
                "item",
                gettext("At the central bridge point: %(people)s;")
                % {"people": "; ".join(p for p in hall if p)},
            )
        )
    if not attendance.invited:
        return blocks
    blocks.append(
        Block(
            "item",
            gettext(
                "Bridge points: %(connected)s/%(invited)s connected, "
                "%(delegates)s delegates in total;"
            )
            % {
                "connected": count(attendance.connected),
                "invited": count(attendance.invited),
                "delegates": count(attendance.delegates_present),
            },
        )
    )
    blocks.extend(
        Block(
            "subitem",
            gettext(
                "%(cluster)s: %(connected)s/%(invited)s bridge points, %(delegates)s delegates;"
            )
            % {
                "cluster": cluster.name or gettext("Without a cluster"),
                "connected": count(cluster.connected),
                "invited": count(cluster.invited),
                "delegates": count(cluster.delegates),
            },
        )
        for cluster in attendance.clusters
    )
    if len(attendance.absent) > ABSENT_NAMED_MAX:
        blocks.append(
            Block(
                "item",
                gettext("Absent: %(count)s bridge points, marked in the attached list.")
                % {"count": count(len(attendance.absent))},
            )
        )
    elif attendance.absent:
        names = "; ".join(
            f"{site.name} ({_label(SITE_STATUS_LABELS, site.status, gettext)})"
            for site in attendance.absent
        )
        blocks.append(
            Block(
                "item",
                gettext("Absent (%(count)s bridge points): %(sites)s.")
                % {"count": count(len(attendance.absent)), "sites": names},
            )
        )
    else:
        blocks.append(Block("item", gettext("No bridge point was absent.")))
    if attendance.sites:
        blocks.append(Block("item", gettext("(List of bridge points attached.)")))
    return blocks


def _proceedings(data: MinutesData, gettext: Gettext) -> list[Block | Table]:
    """The content parts in the order the session ran (form 1.9, point 6).

    The agenda gives the order; the focus items are read out before the first discussion
    (after the opening and the reports), what was said outside any agenda item and the
    recommendations close the discussion before the conclusions, then come the chair's
    conclusions as their own part and the tasks they set.
    """
    parts: list[Block | Table] = []
    number = 0

    def heading(text: str) -> None:
        nonlocal number
        number += 1
        parts.append(Block("heading", f"{number}. {text}"))

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
    focus_done = not data.focus_items
    discussion_done = False

    def focus() -> None:
        heading(gettext("Focus items discussed"))
        for item in data.focus_items:
            status = _label(FOCUS_STATUS_LABELS, item.status, gettext)
            text = gettext("Focus item %(number)s: %(title)s (%(status)s).") % {
                "number": item.number,
                "title": item.title,
                "status": status,
            }
            if item.summary:
                text += " " + gettext("Outcome: %(summary)s") % {"summary": item.summary}
            parts.append(Block("item", text))

    def discussion() -> None:
        if unlinked:
            heading(gettext("Other contributions, by bridge point"))
            for site, group in _by_site(unlinked, gettext):
                parts.append(Block("item", "", site + ":"))
                parts.extend(
                    Block("subitem", _contribution(c, gettext, with_site=False)) for c in group
                )
        if data.recommendations:
            heading(gettext("Recommendations raised"))
            for site, group in _by_site(data.recommendations, gettext):
                parts.append(Block("item", "", site + ":"))
                parts.extend(Block("subitem", _recommendation(r, gettext)) for r in group)
        if data.open_earlier:
            heading(gettext("Recommendations still open from earlier sessions"))
            for site, group in _by_site(data.open_earlier, gettext):
                parts.append(Block("item", "", site + ":"))
                parts.extend(Block("subitem", _earlier(r, gettext)) for r in group)

    for item in data.agenda:
        if not focus_done and item.kind in _FOCUS_BEFORE:
            focus()
            focus_done = True
        if not discussion_done and item.kind == "conclusion":
            discussion()
            discussion_done = True
        parts.extend(_agenda_item(item, by_item.get(item.position, []), gettext, heading))
    if not focus_done:
        focus()
    if not discussion_done:
        discussion()
    if data.conclusions:
        heading(gettext("Conclusions of the chair"))
        parts.extend(Block("para", line) for line in _lines(data.conclusions))
    if data.actions:
        heading(gettext("Tasks assigned"))
        done = f" ({gettext('Done')})"
        parts.append(
            Table(
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
        )
    return parts


def _agenda_item(
    item: MinutesAgendaItem,
    contributions: list[MinutesContribution],
    gettext: Gettext,
    heading: Callable[[str], None],
) -> list[Block]:
    heading(item.title)
    blocks: list[Block] = []
    presenter = ", ".join(p for p in (item.presenter, item.presenter_title) if p)
    if presenter:
        blocks.append(
            Block("para", gettext("Presented by %(presenter)s.") % {"presenter": presenter})
        )
    blocks.extend(Block("para", line) for line in _lines(item.notes))
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
    about = [_label(CONTRIBUTION_KIND_LABELS, contribution.kind, gettext)]
    if contribution.focus_number is not None:
        about.append(gettext("focus item %(number)s") % {"number": contribution.focus_number})
    speaker = ", ".join(w for w in who if w)
    kind = ", ".join(about)
    lead = f"{speaker} ({kind})" if speaker else kind
    return f"{lead}: {_one_line(contribution.text)}"


def _recommendation(recommendation: MinutesRecommendation, gettext: Gettext) -> str:
    """'Tổ chức, cán bộ: Đề nghị … (Đã trả lời). Trả lời (…): …'."""
    status = _label(RECOMMENDATION_STATUS_LABELS, recommendation.status, gettext)
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


def _attachment(
    data: MinutesData, gettext: Gettext, count: Callable[[int], str], locale: str
) -> Attachment:
    """Every invited site with its state and delegates: the full list that the participants
    paragraph refers to, so the body stays short however many bridge points there are."""
    attendance = data.attendance
    starts = data.meeting.starts_at.astimezone(ZoneInfo(data.meeting.timezone))
    rows: list[Sequence[str]] = []
    cluster: str | None = ""
    for n, site in enumerate(attendance.sites, start=1):
        if site.cluster != cluster and any(c.name for c in attendance.clusters):
            cluster = site.cluster
            rows.append((cluster or gettext("Without a cluster"),))
        rows.append(
            (
                str(n),
                site.name + ("\n" + "; ".join(site.officials) if site.officials else ""),
                _label(SITE_STATUS_LABELS, site.status, gettext),
                count(site.delegates) if site.delegates is not None else "",
            )
        )
    table = Table(
        columns=(gettext("No."), gettext("Bridge point"), gettext("Status"), gettext("Delegates")),
        widths_mm=(12, 106, 27, 20),
        rows=rows,
        centred=frozenset({0, 2, 3}),
        total=(
            "",
            gettext("Total"),
            f"{count(attendance.connected)}/{count(attendance.invited)}",
            count(attendance.delegates_present),
        ),
    )
    note = gettext("(Attached to the minutes of %(title)s, %(day)s)") % {
        "title": data.meeting.title,
        "day": date_in_words(starts.date(), locale),
    }
    return Attachment(gettext("LIST OF BRIDGE POINTS"), note, table)


def _label(labels: Mapping[Any, str], key: str | None, gettext: Gettext) -> str:
    """A status or kind in words; a value without a label shows as stored (never through
    gettext: the empty msgid would print the catalog's header)."""
    return gettext(labels[key]) if key in labels else key or ""


@functools.lru_cache(maxsize=1024)
def _count(value: int, locale: str) -> str:
    """A number as the locale writes it ("1.234"); cached because Babel parses the locale
    on every call, which the 5,000 rows of a national session's list would feel."""
    return format_count(value, locale)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _short_day(day: date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else ""


# --- HTML and PDF ----------------------------------------------------------------------


def environment() -> jinja2.Environment:
    """The template environment of agendas/ documents, with gettext as in notify/."""
    return document_environment()


def to_html(data: MinutesData, *, locale: str) -> str:
    """A complete, print-ready HTML document (A4, Decree 30 layout); also the PDF's source."""
    view = minutes_view(data, locale=locale)
    return (
        environment()
        .get_template("minutes/minutes.html")
        .render(view=view, locale=locale, translations=translations(locale))
    )


def to_pdf(data: MinutesData, *, locale: str) -> bytes:
    """The minutes as PDF with Liberation Serif embedded. Blocking: run it in a thread."""
    return html_to_pdf(to_html(data, locale=locale))


# --- Markdown --------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text typed by users, kept literal in Markdown (no stray emphasis or tables)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _md_start(text: str) -> str:
    """`_md` for text that starts a line, where "1." or "-" would start a list."""
    return re.sub(r"^([#+-]|\d+\.)", r"\\\1", _md(text))


def to_markdown(data: MinutesData, *, locale: str) -> str:
    """The minutes as Markdown: for e-mail bodies, the site page and plain-text archives."""
    view = minutes_view(data, locale=locale)
    out: list[str] = []
    if view.draft_mark:
        out += [f"**{_md(view.draft_mark)}**", ""]
    if view.governing_body:
        out += [_md(view.governing_body), ""]
    out += [f"**{_md(view.issuer)}**", "", f"{view.labels['number']} …/{view.number}", ""]
    out += [f"**{_md(view.labels['nation'])}**", "", f"**{_md(view.labels['motto'])}**", ""]
    out += [f"*{_md(view.dated)}*", ""]
    out += [f"# {view.labels['title']}", "", f"**{_md(view.subject)}**", ""]
    if view.online:
        out += [_md(view.online), ""]
    if view.approval:
        out += [f"*{_md(view.approval)}*", ""]
    for part in view.body:
        out += _markdown_part(part)
    out += [
        "",
        f"**{view.labels['secretary']}**: {_md(view.secretary)}",
        "",
        f"**{view.labels['chair']}**: {_md(view.chair)}",
        "",
        f"***{view.labels['recipients']}***",
        "",
    ]
    out += [f"- {_md(line.removeprefix('- '))}" for line in view.recipients]
    if view.attachment is not None:
        attached = view.attachment
        out += ["", "---", "", f"## {attached.title}", "", f"*{_md(attached.note)}*", ""]
        out += _markdown_table(attached.table)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n") + "\n"


def _markdown_part(part: Block | Table) -> list[str]:
    if isinstance(part, Table):
        return ["", *_markdown_table(part), ""]
    if part.kind == "heading":
        return ["", f"### {_md(part.text)}", ""]
    text = f"**{_md(part.label)}** {_md(part.text)}".strip() if part.label else _md(part.text)
    if part.kind == "item":
        return [f"- {text}"]
    if part.kind == "subitem":
        return [f"    - {text}"]
    return ["", text if part.label else _md_start(part.text), ""]


def _markdown_table(table: Table) -> list[str]:
    width = len(table.columns)

    def row(cells: Sequence[str]) -> str:
        if len(cells) == 1:  # a group heading: bold, in the widest column
            cells = ["", f"**{_md(cells[0])}**", *([""] * (width - 2))]
        else:
            cells = [_md(c.replace("\n", " — ")) for c in cells]
        return "| " + " | ".join(cells) + " |"

    lines = [row(table.columns), "|" + "|".join("---" for _ in table.columns) + "|"]
    lines += [row(cells) for cells in table.rows]
    if table.total:
        lines.append(row(table.total))
    return lines


# --- Word ------------------------------------------------------------------------------

_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
#: Text width of A4 with the decree's margins (left 30 mm, right 15 mm).
_TEXT_WIDTH_MM = 165
_MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
_BODY_PT = 13


def _twips(mm: float) -> int:
    return round(mm * 1440 / 25.4)


def _x(text: str) -> str:
    return xml_escape(_XML_INVALID.sub("", text))


@dataclass(frozen=True)
class _Run:
    text: str
    bold: bool = False
    italic: bool = False
    underline: bool = False
    size: float | None = None


#: Set on every run as well as in the styles: text copied into another document (offices
#: paste parts of minutes into reports) keeps Times New Roman for its Vietnamese letters,
#: which Word may otherwise take from the east-Asian or complex-script font slot.
_RUN_FONTS = f'<w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}"/>'


def _run_xml(run: _Run) -> str:
    """A <w:r>, its properties in the schema's order (Word refuses a file otherwise)."""
    props = _RUN_FONTS
    if run.bold:
        props += "<w:b/><w:bCs/>"
    if run.italic:
        props += "<w:i/><w:iCs/>"
    if run.size:
        half = round(run.size * 2)
        props += f'<w:sz w:val="{half}"/><w:szCs w:val="{half}"/>'
    if run.underline:
        props += '<w:u w:val="single"/>'
    return f'<w:r><w:rPr>{props}</w:rPr><w:t xml:space="preserve">{_x(run.text)}</w:t></w:r>'


def _para_xml(*runs: _Run, align: str = "center", before_pt: float = 0, after_pt: float = 0) -> str:
    """A table-cell paragraph: no first-line indent and no spacing unless asked (Normal's
    are for running text)."""
    return (
        f'<w:p><w:pPr><w:spacing w:before="{round(before_pt * 20)}" '
        f'w:after="{round(after_pt * 20)}" w:line="240" w:lineRule="auto"/>'
        f'<w:ind w:firstLine="0"/><w:jc w:val="{align}"/></w:pPr>'
        f"{''.join(_run_xml(r) for r in runs)}</w:p>"
    )


def _rule_xml(cell_mm: float, rule_mm: float) -> str:
    """A short centred line under the issuing body's name, as the decree draws it."""
    side = _twips((cell_mm - rule_mm) / 2)
    return (
        '<w:p><w:pPr><w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="000000"/>'
        '</w:pBdr><w:spacing w:before="0" w:after="0" w:line="80" w:lineRule="exact"/>'
        f'<w:ind w:left="{side}" w:right="{side}" w:firstLine="0"/></w:pPr></w:p>'
    )


def _cell_xml(width_mm: float, paragraphs: str, *, span: int = 1) -> str:
    merged = f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{_twips(width_mm)}" w:type="dxa"/>{merged}</w:tcPr>'
        f"{paragraphs or _para_xml()}</w:tc>"
    )


def _table_xml(
    rows: Iterable[str], widths_mm: Sequence[float], *, ruled: bool, indent_mm: float = 0
) -> str:
    """One <w:tbl>, written as text: python-docx adds rows one cell object at a time, which
    for the 5,000 bridge points of a national session takes seconds instead of tens of ms."""
    style = '<w:tblStyle w:val="TableGrid"/>' if ruled else ""
    borders = (
        ""
        if ruled
        else "<w:tblBorders>"
        + "".join(
            f'<w:{side} w:val="nil"/>'
            for side in ("top", "left", "bottom", "right", "insideH", "insideV")
        )
        + "</w:tblBorders>"
    )
    margins = (
        ""
        if ruled
        else '<w:tblCellMar><w:left w:w="0" w:type="dxa"/>'
        '<w:right w:w="0" w:type="dxa"/></w:tblCellMar>'
    )
    grid = "".join(f'<w:gridCol w:w="{_twips(w)}"/>' for w in widths_mm)
    return (
        f"<w:tbl {_W}><w:tblPr>{style}"
        f'<w:tblW w:w="{_twips(sum(widths_mm))}" w:type="dxa"/>'
        f'<w:tblInd w:w="{_twips(indent_mm)}" w:type="dxa"/>{borders}'
        f'<w:tblLayout w:type="fixed"/>{margins}'
        '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
        'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>'
        f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"
    )


def _grid_rows(table: Table) -> list[str]:
    """The rows of a ruled table at 12 pt, its header row repeated on every page."""
    widths = table.widths_mm
    size = 12

    def cell(index: int, text: str, *, bold: bool = False) -> str:
        align = "center" if index in table.centred or bold else "left"
        first, _, rest = text.partition("\n")
        paragraphs = _para_xml(_Run(first, bold=bold, size=size), align=align)
        if rest:
            paragraphs += _para_xml(_Run(rest, italic=True, size=11), align=align)
        return _cell_xml(widths[index], paragraphs)

    def row(cells: Sequence[str], *, bold: bool = False) -> str:
        if len(cells) == 1:  # a group heading across the table
            heading = _para_xml(_Run(cells[0], bold=True, size=size), align="left")
            return (
                "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
                f"{_cell_xml(sum(widths), heading, span=len(widths))}</w:tr>"
            )
        return (
            "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
            + "".join(cell(i, c, bold=bold) for i, c in enumerate(cells))
            + "</w:tr>"
        )

    header = (
        "<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>"
        + "".join(cell(i, c, bold=True) for i, c in enumerate(table.columns))
        + "</w:tr>"
    )
    rows = [header, *(row(cells) for cells in table.rows)]
    if table.total:
        rows.append(row(table.total, bold=True))
    return rows


def _styled_xml(style_id: str, *runs: _Run, more: str = "") -> str:
    """A body paragraph in a named style ("" is Normal); `more` adds paragraph properties
    that follow the style in schema order (<w:pageBreakBefore/>, <w:spacing/>)."""
    ppr = (f'<w:pStyle w:val="{style_id}"/>' if style_id else "") + more
    return (
        f"<w:p>{f'<w:pPr>{ppr}</w:pPr>' if ppr else ''}"
        f"{''.join(_run_xml(r) for r in runs if r.text)}</w:p>"
    )


def _body_xml(view: MinutesView) -> list[str]:
    """The document body as WordprocessingML, in print order.

    Written as text and parsed once: python-docx's `add_paragraph` looks through every
    style on each call, which made a 52-site record take a third of a second.
    """
    out: list[str] = []
    if view.draft_mark:
        out.append(_styled_xml("MinutesMark", _Run(view.draft_mark)))
    # The header block: issuing body and number left, national title and date right; wider
    # than the text by 8 mm into the left margin, as the letter (giấy mời) lays it out.
    left, right = 80.0, 93.0
    issuer = (
        (_para_xml(_Run(view.governing_body, size=12)) if view.governing_body else "")
        + _para_xml(_Run(view.issuer, bold=True, size=12))
        + _rule_xml(left, 25)
    )
    state = _para_xml(_Run(view.labels["nation"], bold=True, size=12)) + _para_xml(
        _Run(view.labels["motto"], bold=True, underline=True)
    )
    number = _para_xml(_Run(f"{view.labels['number']}          /{view.number}"), before_pt=6)
    dated = _para_xml(_Run(view.dated, italic=True), before_pt=6)
    out.append(
        _table_xml(
            [
                f"<w:tr>{_cell_xml(left, issuer)}{_cell_xml(right, state)}</w:tr>",
                f"<w:tr>{_cell_xml(left, number)}{_cell_xml(right, dated)}</w:tr>",
            ],
            (left, right),
            ruled=False,
            indent_mm=-8,
        )
    )
    out.append(_styled_xml("Heading1", _Run(view.labels["title"])))
    out.append(_styled_xml("MinutesSubject", _Run(view.subject)))
    if view.online:
        out.append(_styled_xml("MinutesNote", _Run(view.online)))
    if view.approval:
        out.append(_styled_xml("MinutesNote", _Run(view.approval, italic=True)))
    for part in view.body:
        if isinstance(part, Table):
            out.append(_table_xml(_grid_rows(part), part.widths_mm, ruled=True))
        elif part.kind == "heading":
            out.append(_styled_xml("Heading2", _Run(part.text)))
        elif part.kind == "subitem":
            out.append(_styled_xml("MinutesSubitem", _Run(f"+ {part.text}")))
        else:
            dash = "- " if part.kind == "item" else ""
            label = f"{dash}{part.label}" if part.label else ""
            text = f" {part.text}" if label and part.text else part.text
            out.append(
                _styled_xml("", _Run(label, bold=True), _Run(text if label else dash + text))
            )
    # Signatures: secretary left, chair right, room to sign (and seal) above the names.
    half = _TEXT_WIDTH_MM / 2
    signatures = "".join(
        _cell_xml(
            half,
            _para_xml(_Run(title, bold=True), before_pt=12, after_pt=60)
            + _para_xml(_Run(name, bold=True)),
        )
        for title, name in (
            (view.labels["secretary"], view.secretary),
            (view.labels["chair"], view.chair),
        )
    )
    signed = f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{signatures}</w:tr>"
    out.append(_table_xml([signed], (half, half), ruled=False))
    out.append(
        _styled_xml(
            "MinutesRecipients",
            _Run(view.labels["recipients"], bold=True, italic=True, size=12),
            more='<w:spacing w:before="240"/>',
        )
    )
    out.extend(_styled_xml("MinutesRecipients", _Run(line)) for line in view.recipients)
    if view.attachment is not None:
        attached = view.attachment
        out.append(_styled_xml("Heading1", _Run(attached.title), more="<w:pageBreakBefore/>"))
        out.append(_styled_xml("MinutesNote", _Run(attached.note, italic=True)))
        out.append(_table_xml(_grid_rows(attached.table), attached.table.widths_mm, ruled=True))
    return out


def to_docx(data: MinutesData, *, locale: str) -> bytes:
    """The minutes as a Word document the office can edit, file and print like the PDF."""
    from docx import Document  # imported here: start-up need not pay for python-docx
    from docx.oxml import parse_xml
    from docx.shared import Mm

    view = minutes_view(data, locale=locale)
    document = Document()
    _docx_styles(document)
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(_MARGINS_MM["top"]), Mm(_MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(_MARGINS_MM["left"]), Mm(_MARGINS_MM["right"])
    section.header_distance = Mm(10)
    _docx_page_header(section, view)
    properties = document.core_properties
    properties.title = view.labels["document"]
    properties.author = data.organisation.name
    properties.language = "vi-VN" if locale == "vi" else locale
    parsed = parse_xml(f"<w:body {_W}>{''.join(_body_xml(view))}</w:body>")
    end = document.element.body.sectPr  # the body's last child: everything goes before it
    for element in list(parsed):
        end.addprevious(element)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _docx_styles(document: WordDocument) -> None:
    """Named Word styles with the decree's sizes, so the office can restyle the document
    as a whole; Times New Roman is set in all four font slots (Word takes some Vietnamese
    letters from the east-Asian or complex-script slot) and the theme fonts are removed."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    styles = document.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        for rpr in defaults.iter(qn("w:rPr")):
            _set_fonts(rpr)
            for lang in rpr.iter(qn("w:lang")):
                lang.set(qn("w:val"), "vi-VN")
    normal = styles["Normal"]
    _set_fonts(normal.element.get_or_add_rPr())
    normal.font.size = Pt(_BODY_PT)
    body = normal.paragraph_format
    body.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    body.first_line_indent = Cm(1)
    body.space_before, body.space_after = Pt(0), Pt(6)
    body.line_spacing = 1.15
    body.widow_control = True
    for name, size in (("Heading 1", 14), ("Heading 2", _BODY_PT)):
        heading = styles[name]
        _set_fonts(heading.element.get_or_add_rPr())
        heading.font.size = Pt(size)
        heading.font.bold, heading.font.italic = True, False
        heading.font.color.rgb = RGBColor(0, 0, 0)
        fmt = heading.paragraph_format
        fmt.keep_with_next = True
        if name == "Heading 1":
            fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
            fmt.first_line_indent = Cm(0)
            fmt.space_before, fmt.space_after = Pt(18), Pt(0)
        else:
            fmt.alignment = WD_ALIGN_PARAGRAPH.LEFT
            fmt.space_before, fmt.space_after = Pt(6), Pt(6)
    for name, bold, size, align, after in (
        ("Minutes Subject", True, _BODY_PT, WD_ALIGN_PARAGRAPH.CENTER, 0),
        ("Minutes Note", False, _BODY_PT, WD_ALIGN_PARAGRAPH.CENTER, 0),
        ("Minutes Mark", True, _BODY_PT, WD_ALIGN_PARAGRAPH.RIGHT, 6),
        ("Minutes Recipients", False, 11, WD_ALIGN_PARAGRAPH.LEFT, 0),
    ):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.font.bold = bold
        style.font.size = Pt(size)
        fmt = style.paragraph_format
        fmt.alignment, fmt.first_line_indent, fmt.space_after = align, Cm(0), Pt(after)
    styles["Minutes Subject"].paragraph_format.keep_with_next = True
    subitem = styles.add_style("Minutes Subitem", WD_STYLE_TYPE.PARAGRAPH)
    subitem.base_style = normal
    subitem.paragraph_format.left_indent = Cm(1)


def _set_fonts(rpr: etree._Element) -> None:
    """rFonts naming Times New Roman in every slot of a style's (or the defaults') <w:rPr>;
    the theme attributes go, since a theme font wins over a named one."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn

    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = parse_xml(f"<w:rFonts {_W}/>")
        rpr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)


def _docx_page_header(section: Section, view: MinutesView) -> None:
    """Page numbers centred in the top margin from page 2 (none on page 1, as the decree
    says), with the draft mark on those pages too (page 1 carries it above the header)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import parse_xml
    from docx.shared import Mm

    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False
    header = section.header
    header.is_linked_to_previous = False
    number = header.paragraphs[0]
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    number.paragraph_format.first_line_indent = Mm(0)
    number._p.append(
        parse_xml(f'<w:fldSimple {_W} w:instr="PAGE"><w:r><w:t>2</w:t></w:r></w:fldSimple>')
    )
    if view.draft_mark:
        mark = header.add_paragraph(style="Minutes Mark")
        mark.add_run(view.draft_mark)
