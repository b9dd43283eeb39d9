"""The minutes as a Word file the office edits; blocking, and python-docx loads on first use."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from agendas.minutes.data import MinutesData
from agendas.minutes.parts import Block, Table
from agendas.minutes.view import MinutesView, minutes_view
from agendas.minutes.wordml import (
    FONT,
    W_NS,
    Run,
    cell_xml,
    grid_rows,
    para_xml,
    rule_xml,
    styled_xml,
    table_xml,
)
from meetings.core.store import utcnow

if TYPE_CHECKING:  # python-docx is imported when a .docx is made, not at start-up
    from docx.document import Document as WordDocument
    from docx.section import Section
    from lxml import etree

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

#: Text width of A4 with the decree's margins (left 30 mm, right 15 mm).
_TEXT_WIDTH_MM = 165

_MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}

_BODY_PT = 13

#: The longest core property (title, author) python-docx writes; it refuses a longer one,
#: and a session's title may be longer than that once "Minutes — " precedes it.
_PROPERTY_CHARS = 255


def _body_xml(view: MinutesView) -> list[str]:
    """The document body as WordprocessingML, in print order.

    Written as text and parsed once: python-docx's `add_paragraph` looks through every
    style on each call, which made a 52-site record take a third of a second.
    """
    out: list[str] = []
    if view.draft_mark:
        out.append(styled_xml("MinutesMark", Run(view.draft_mark)))
    out.append(_header_xml(view))
    out.append(styled_xml("Heading1", Run(view.labels["title"])))
    out.append(styled_xml("MinutesSubject", Run(view.subject)))
    if view.online:
        out.append(styled_xml("MinutesNote", Run(view.online)))
    if view.approval:
        out.append(styled_xml("MinutesNote", Run(view.approval, italic=True)))
    out.extend(_part_xml(part) for part in view.body)
    out.append(_signatures_xml(view))
    out.append(
        styled_xml(
            "MinutesRecipients",
            Run(view.labels["recipients"], bold=True, italic=True, size=12),
            more='<w:spacing w:before="240"/>',
        )
    )
    out.extend(styled_xml("MinutesRecipients", Run(line)) for line in view.recipients)
    if view.attachment is not None:
        attached = view.attachment
        out.append(styled_xml("Heading1", Run(attached.title), more="<w:pageBreakBefore/>"))
        out.append(styled_xml("MinutesNote", Run(attached.note, italic=True)))
        out.append(table_xml(grid_rows(attached.table), attached.table.widths_mm, ruled=True))
    return out


def _header_xml(view: MinutesView) -> str:
    """The header block: issuing body and number left, national title and date right; wider
    than the text by 8 mm into the left margin, as the letter (giấy mời) lays it out."""
    left, right = 80.0, 93.0
    issuer = (
        (para_xml(Run(view.governing_body, size=12)) if view.governing_body else "")
        + para_xml(Run(view.issuer, bold=True, size=12))
        + rule_xml(left, 25)
    )
    state = para_xml(Run(view.labels["nation"], bold=True, size=12)) + para_xml(
        Run(view.labels["motto"], bold=True, underline=True)
    )
    number = para_xml(Run(f"{view.labels['number']}          /{view.number}"), before_pt=6)
    dated = para_xml(Run(view.dated, italic=True), before_pt=6)
    return table_xml(
        [
            f"<w:tr>{cell_xml(left, issuer)}{cell_xml(right, state)}</w:tr>",
            f"<w:tr>{cell_xml(left, number)}{cell_xml(right, dated)}</w:tr>",
        ],
        (left, right),
        ruled=False,
        indent_mm=-8,
    )


def _part_xml(part: Block | Table) -> str:
    """One part of the body: a ruled table, a numbered heading or a paragraph."""
    if isinstance(part, Table):
        return table_xml(grid_rows(part), part.widths_mm, ruled=True)
    if part.kind == "heading":
        return styled_xml("Heading2", Run(part.text))
    if part.kind == "subitem":
        return styled_xml("MinutesSubitem", Run(f"+ {part.text}"))
    dash = "- " if part.kind == "item" else ""
    label = f"{dash}{part.label}" if part.label else ""
    text = f" {part.text}" if label and part.text else part.text
    return styled_xml("", Run(label, bold=True), Run(text if label else dash + text))


def _signatures_xml(view: MinutesView) -> str:
    """Secretary left, chair right, room to sign (and seal) above the names."""
    half = _TEXT_WIDTH_MM / 2
    signatures = "".join(
        cell_xml(
            half,
            para_xml(Run(title, bold=True), before_pt=12, after_pt=60)
            + para_xml(Run(name, bold=True)),
        )
        for title, name in (
            (view.labels["secretary"], view.secretary),
            (view.labels["chair"], view.chair),
        )
    )
    signed = f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{signatures}</w:tr>"
    return table_xml([signed], (half, half), ruled=False)


def to_docx(data: MinutesData, *, locale: str, generated_at: datetime | None = None) -> bytes:
    """The minutes as a Word document the office can edit, file and print like the PDF;
    its properties name the minutes, the organisation and `generated_at` (default now)."""
    from docx import Document  # imported here: start-up need not pay for python-docx
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
    _properties(document, data, view, generated_at or utcnow())
    out = io.BytesIO()
    document.save(out)
    return _with_body(out.getvalue(), "".join(_body_xml(view)))


def _with_body(package: bytes, body: str) -> bytes:
    """The saved package with the body's XML written at the start of its (empty) body,
    before the section's settings, as text: parsing the XML of a national session's
    10,000-row list into python-docx's tree and serialising it again took half the
    download. The body uses the `w:` prefix only, which the document's root declares."""
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + body.encode("utf-8"), 1)
            target.writestr(item, data)
    return out.getvalue()


def _properties(
    document: WordDocument, data: MinutesData, view: MinutesView, generated_at: datetime
) -> None:
    """Core properties set by us, none left from python-docx's template (dated 2013)."""
    properties = document.core_properties
    organisation = data.organisation.name[:_PROPERTY_CHARS]
    properties.title = view.labels["document"][:_PROPERTY_CHARS]
    properties.subject = data.meeting.title[:_PROPERTY_CHARS]
    properties.author = organisation
    properties.last_modified_by = organisation
    properties.comments = view.draft_mark or view.approval
    properties.keywords = ""
    properties.category = view.labels["title"]
    properties.language = "vi-VN" if view.locale == "vi" else view.locale
    properties.revision = 1
    # Word reads these as UTC; python-docx writes naive times as given.
    moment = generated_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    properties.created = moment
    properties.modified = moment


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
        fonts = parse_xml(f"<w:rFonts {W_NS}/>")
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
        parse_xml(f'<w:fldSimple {W_NS} w:instr="PAGE"><w:r><w:t>2</w:t></w:r></w:fldSimple>')
    )
    if view.draft_mark:
        mark = header.add_paragraph(style="Minutes Mark")
        mark.add_run(view.draft_mark)
