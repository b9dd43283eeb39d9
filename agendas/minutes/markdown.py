"""The minutes as Markdown: for e-mail bodies, the site page and plain-text archives."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agendas.minutes.data import MinutesData
from agendas.minutes.parts import Block, Table
from agendas.minutes.view import minutes_view

MARKDOWN_TYPE = "text/markdown; charset=utf-8"

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


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
