"""The year's charts as SVG, drawn on the server by pygal: the page shows them as images
(no script of ours or pygal's runs), and its tables give the same numbers as text.

Every chart reads the `YearlyReport`, so what is drawn is what the tables and the files
say. pygal writes a script of its own for its tooltips: it is taken out, the picture
reads without it.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pygal
from lxml import etree
from pygal.style import Style

from agendas.yearly.labels import MEASURE_LABELS
from agendas.yearly.stats import YearlyReport

Translate = Callable[[str], str]

# pygal appends to sys.meta_path a finder for its map plugins (unused here) that has only
# the legacy find_module: every later import it is asked about warns (ImportWarning).
# Taken out again.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

#: The charts, by the name in their URL.
CHARTS = ("clusters", "sessions", "measures")
#: The PDF's: each session's rates are in its table, and that chart is the slowest to lay out.
PDF_CHARTS = ("clusters", "measures")

_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2937",
    foreground_strong="#111827",
    foreground_subtle="#6b7280",
    font_family='"Liberation Sans", Arial, sans-serif',
    colors=("#1d4ed8", "#b45309", "#047857", "#b91c1c", "#6d28d9", "#0e7490", "#4d7c0f"),
    title_font_size=16,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    value_font_size=11,
)
_SVG_NS = "{http://www.w3.org/2000/svg}"


def _config() -> dict[str, object]:
    return {
        "style": _STYLE,
        "width": 900,
        "height": 420,
        "range": (0, 100),
        "include_x_axis": True,
        "disable_xml_declaration": True,
        "js": [],
        "legend_at_bottom": True,
        "truncate_legend": 40,
        "truncate_label": 24,
        "print_values": False,
        "value_formatter": lambda value: f"{value:.1f} %",
    }


def session_label(report: YearlyReport, index: int) -> str:
    row = report.sessions[index]
    return f"{row.starts_at.astimezone(ZoneInfo(row.timezone)):%d/%m}"


def clusters_chart(report: YearlyReport, gettext: Translate) -> pygal.Graph:
    """Attendance rate of each cluster, session by session (a line per cluster)."""
    chart = pygal.Line(**_config())
    chart.title = gettext("Attendance rate per cluster, session by session") + " (%)"
    chart.x_labels = [session_label(report, n) for n in range(len(report.sessions))]
    for cluster in report.clusters:
        values = []
        for row in report.sessions:
            figures = row.by_cluster.get(cluster.cluster_id)
            values.append(figures.rates()["attended"] if figures else None)
        chart.add(cluster.name or gettext("Without cluster"), values)
    return chart


def sessions_chart(report: YearlyReport, gettext: Translate) -> pygal.Graph:
    """Each session's rates, side by side."""
    chart = pygal.Bar(**_config())
    chart.title = gettext("Each session's rates") + " (%)"
    chart.x_labels = [session_label(report, n) for n in range(len(report.sessions))]
    for measure, label in MEASURE_LABELS.items():
        chart.add(gettext(label), [row.figures.rates()[measure] for row in report.sessions])
    return chart


def measures_chart(report: YearlyReport, gettext: Translate) -> pygal.Graph:
    """The year's rates of each cluster."""
    chart = pygal.HorizontalBar(**_config())
    chart.title = gettext("The year's rates per cluster") + " (%)"
    chart.x_labels = [c.name or gettext("Without cluster") for c in report.clusters]
    for measure, label in MEASURE_LABELS.items():
        chart.add(gettext(label), [c.figures.rates()[measure] for c in report.clusters])
    return chart


_BUILDERS = {"clusters": clusters_chart, "sessions": sessions_chart, "measures": measures_chart}


def data_uri(report: YearlyReport, name: str, gettext: Translate) -> str:
    """The chart as an image inside the page (no request more, no new figure to compute)."""
    svg = base64.b64encode(to_svg(report, name, gettext)).decode("ascii")
    return f"data:image/svg+xml;base64,{svg}"


def data_uris(report: YearlyReport, gettext: Translate) -> dict[str, str]:
    return {name: data_uri(report, name, gettext) for name in CHARTS}


def to_svg(report: YearlyReport, name: str, gettext: Translate) -> bytes:
    """The chart `name` (one of CHARTS) as an SVG document without any script."""
    chart = _BUILDERS[name](report, gettext)
    tree = chart.render_tree()
    # The script, and the tooltips' data it reads (<desc> of every value): the tables
    # beside each chart give the numbers.
    for element in list(tree.iter("script", f"{_SVG_NS}script", "desc", f"{_SVG_NS}desc")):
        element.getparent().remove(element)
    return bytes(etree.tostring(tree, encoding="utf-8", xml_declaration=True))
