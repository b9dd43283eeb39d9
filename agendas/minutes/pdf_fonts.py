"""The body's serif embedded in a PDF by hand, for the pages drawn without WeasyPrint
(agendas.minutes.pdf_list): the attached list of a national session's bridge points.

The font is the one WeasyPrint gives the body (Liberation Serif, found through
fontconfig as WeasyPrint finds it), so the list reads like the minutes. It is embedded as
a CID font, subset to the glyphs written (the glyph numbers kept, so the text written
before the subset stays valid), named as WeasyPrint names its own; the text is written
as glyph numbers, which covers every Vietnamese letter, with a ToUnicode map so that the
list can be searched, copied and read by `pdftotext` (the names must be findable).
"""

from __future__ import annotations

import functools
import hashlib
import io
import shutil
import subprocess
import unicodedata
import zlib
from dataclasses import dataclass, field

import pydyf
from fontTools import subset
from fontTools.ttLib import TTFont

#: fontconfig's pattern per style, as the minutes' style sheet names the family.
STYLES = {
    "regular": "Liberation Serif:style=Regular",
    "bold": "Liberation Serif:style=Bold",
    "italic": "Liberation Serif:style=Italic",
}
#: The PostScript names, as WeasyPrint writes those of the body.
NAMES = {
    "regular": "Liberation-Serif",
    "bold": "Liberation-Serif-Bold",
    "italic": "Liberation-Serif-Italic",
}


@dataclass(frozen=True)
class FontFile:
    """One style of the font, read once per process: what measuring and writing need."""

    name: str
    data: bytes
    #: Unicode code point to glyph number.
    glyphs: dict[int, int]
    #: Glyph number to advance width, in thousandths of the font size.
    widths: dict[int, float]
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    italic: bool


@functools.lru_cache(maxsize=len(STYLES))
def font_file(style: str) -> FontFile:
    """The style's font file as fontconfig finds it (the body's font)."""
    with open(_path(style), "rb") as handle:
        data = handle.read()
    font = TTFont(io.BytesIO(data), lazy=True)
    scale = 1000 / font["head"].unitsPerEm
    order = {glyph: number for number, glyph in enumerate(font.getGlyphOrder())}
    glyphs = {code: order[glyph] for code, glyph in font.getBestCmap().items()}
    metrics = font["hmtx"].metrics
    widths = {order[glyph]: advance * scale for glyph, (advance, _lsb) in metrics.items()}
    head = font["head"]
    return FontFile(
        name=NAMES[style],
        data=data,
        glyphs=glyphs,
        widths=widths,
        bbox=tuple(round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)),
        ascent=round(font["hhea"].ascent * scale),
        descent=round(font["hhea"].descent * scale),
        italic=style == "italic",
    )


def _path(style: str) -> str:
    """fontconfig's choice (`fc-match`, the fontconfig package's tool); without the tool,
    the file where Debian's fonts-liberation2 puts it (the version with Vietnamese)."""
    tool = shutil.which("fc-match")
    if tool is None:
        return FALLBACK.format(style=style.capitalize())
    # The arguments are this module's constants.
    found = subprocess.run(  # noqa: S603
        [tool, "-f", "%{file}", STYLES[style]], capture_output=True, text=True, check=True
    )
    return found.stdout.strip()


#: Where the font is when fontconfig's tool is not installed.
FALLBACK = "/usr/share/fonts/truetype/liberation2/LiberationSerif-{style}.ttf"
#: OpenType layout (substitution, positioning, their glyph classes): for shaping text.
LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF")


@dataclass
class Face:
    """One style as used in one document: which glyphs were written (for the widths and
    the ToUnicode map of the embedded font)."""

    file: FontFile
    resource: str
    used: dict[int, str] = field(default_factory=dict)

    def width(self, text: str, size: float) -> float:
        """The text's width in points at `size` (one glyph a character, no kerning)."""
        glyphs, widths = self.file.glyphs, self.file.widths
        return sum(widths.get(glyphs.get(ord(c), 0), 500.0) for c in text) * size / 1000

    def encode(self, text: str) -> bytes:
        """The text as a PDF string of two-byte glyph numbers (Identity-H)."""
        glyphs, used = self.file.glyphs, self.used
        out = []
        for char in unicodedata.normalize("NFC", text):
            glyph = glyphs.get(ord(char), 0)
            used.setdefault(glyph, char)
            out.append(f"{glyph:04x}")
        return b"<" + "".join(out).encode("ascii") + b">"

    def embed(self, pdf: pydyf.PDF) -> bytes:
        """Add the font to `pdf`; its reference, for the pages' resources."""
        file = self.file
        data = self.subset()
        # A subset's name starts with six capitals of its own (ISO 32000, 9.6.4).
        tag = "".join(
            chr(65 + b % 26) for b in hashlib.sha256(repr(sorted(self.used)).encode()).digest()[:6]
        )
        name = pydyf.name(f"{tag}+{file.name}")
        descriptor = _descriptor(pdf, file, name, _stream(pdf, data, {"Length1": len(data)}))
        widths = pydyf.Array()
        for glyph in sorted(self.used):
            widths.extend([glyph, pydyf.Array([round(file.widths.get(glyph, 500.0))])])
        descendant = _add(
            pdf,
            pydyf.Dictionary(
                {
                    "Type": "/Font",
                    "Subtype": "/CIDFontType2",
                    "BaseFont": name,
                    "CIDSystemInfo": pydyf.Dictionary(
                        {
                            "Registry": pydyf.String("Adobe"),
                            "Ordering": pydyf.String("Identity"),
                            "Supplement": 0,
                        }
                    ),
                    "FontDescriptor": descriptor,
                    "W": widths,
                    "CIDToGIDMap": "/Identity",
                }
            ),
        )
        font = pydyf.Dictionary(
            {
                "Type": "/Font",
                "Subtype": "/Type0",
                "BaseFont": name,
                "Encoding": "/Identity-H",
                "DescendantFonts": pydyf.Array([descendant]),
                "ToUnicode": _stream(pdf, _to_unicode(self.used)),
            }
        )
        return _add(pdf, font)

    def subset(self) -> bytes:
        """The font file with only the glyphs written (their numbers kept)."""
        font = TTFont(io.BytesIO(self.file.data))
        # The layout tables go before the subsetter reads them: the glyphs are placed by
        # number (no shaping reads them), and decompiling them to prune them took nine
        # tenths of a subset's time (a tenth of a second a face, three faces a document).
        for tag in LAYOUT_TABLES:
            if tag in font:
                del font[tag]
        options = subset.Options()
        options.retain_gids = True
        options.notdef_outline = True
        options.layout_features = []
        options.name_IDs = [0, 1, 2, 3, 4, 5, 6]  # copyright, names, version (no licence text)
        # No hinting (PDF viewers scale outlines), no kerning (the glyphs are placed by
        # number), no FontForge timestamps: what nothing reads, in every e-mailed letter.
        options.hinting = False
        options.drop_tables += ["FFTM", "kern"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(gids=sorted({0, *self.used}))
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
        return out.getvalue()


def _descriptor(pdf: pydyf.PDF, file: FontFile, name: bytes, program: bytes) -> bytes:
    return _add(
        pdf,
        pydyf.Dictionary(
            {
                "Type": "/FontDescriptor",
                "FontName": name,
                "Flags": 2 | 32 | (64 if file.italic else 0),  # serif, latin, italic
                "FontBBox": pydyf.Array(file.bbox),
                "ItalicAngle": -12 if file.italic else 0,
                "Ascent": file.ascent,
                "Descent": file.descent,
                "CapHeight": file.ascent,
                "StemV": 80,
                "FontFile2": program,
            }
        ),
    )


def _add(pdf: pydyf.PDF, item: pydyf.Object) -> bytes:
    pdf.add_object(item)
    return bytes(item.reference)


def _stream(pdf: pydyf.PDF, data: bytes, extra: dict[str, object] | None = None) -> bytes:
    """A compressed stream (zlib's default level: level 9, pydyf's, takes several times
    longer for a few percent)."""
    values = {**(extra or {}), "Filter": "/FlateDecode"}
    return _add(pdf, pydyf.Stream([zlib.compress(data)], values))


def _to_unicode(used: dict[int, str]) -> bytes:
    """The CMap from glyph numbers back to the characters they were written for."""
    pairs = [
        f"<{glyph:04x}> <{char.encode('utf-16-be').hex()}>" for glyph, char in sorted(used.items())
    ]
    blocks = [
        f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar"
        for chunk in (pairs[i : i + 100] for i in range(0, len(pairs), 100))
    ]
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            "<0000> <ffff>",
            "endcodespacerange",
            *blocks,
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    ).encode("ascii")
