"""Links come from route names: no template, script or handler spells out a URL of ours,
and every name (with its parts) that a template or a handler asks for is a real route."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import aiohttp_jinja2
import pytest
from aiohttp import web
from jinja2 import nodes

from meetings.core.app import create_app
from meetings.core.settings import Settings
from notify.site.links import site_feed_url, site_page_url

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("meetings", "agendas", "notify", "scheduler")
#: An attribute whose value starts as a path or a query of ours, not from `url(...)`.
LITERAL_LINK = re.compile(
    r"""\b(href|action|src|formaction|data-[\w-]+)\s*=\s*["']\s*[/?](?!/)""", re.IGNORECASE
)
#: A quoted path in a template expression or a script (`"/sites?q="`, `` `/api/v1/…` ``).
QUOTED_PATH = re.compile(r"""["'`]/(?!/)[\w.-]""")
#: Literal paths that are not links, each with its reason: (file, literal).
ALLOWED = {
    ("meetings/core/app.py", "/static"),  # where the static route is mounted
    ("meetings/core/middlewares.py", "/api/"),  # tells an API call from a page
    ("meetings/attendance/video.py", "/api"),  # BigBlueButton's API, not ours
    ("notify/site/links.py", "*"),  # the site's absolute links, mounted by its routes
    ("agendas/minutes/links.py", "*"),  # the minutes page in mails to the chair and secretary
    ("agendas/minutes/pdf_fonts.py", "*"),  # PDF names (/Font) and the fonts' file path
    ("agendas/minutes/pdf_list.py", "*"),  # PDF names (/Page): no URL is written there
}


def _templates() -> list[Path]:
    found: list[Path] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("templates/**/*")):
            if path.suffix in (".html", ".txt"):
                found.append(path)
    return found


def _product_modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _parts(app: web.Application, name: str) -> set[str]:
    """The placeholders of a named route (`{id}`, `{site_token}`, a static `filename`)."""
    resource = app.router[name]
    if isinstance(resource, web.StaticResource):
        return {"filename"}
    return set(re.findall(r"{(\w+)", resource.get_info().get("formatter", "")))


def _template_urls(app: web.Application) -> list[tuple[str, str, set[str]]]:
    """Every `url('name', part=…)` of every template: (template, name, part names)."""
    env = aiohttp_jinja2.get_env(app)
    calls: list[tuple[str, str, set[str]]] = []
    for path in _templates():
        tree = env.parse(path.read_text(encoding="utf-8"))
        for call in tree.find_all(nodes.Call):
            if not (isinstance(call.node, nodes.Name) and call.node.name == "url"):
                continue
            first = call.args[0] if call.args else None
            if not isinstance(first, nodes.Const) or not isinstance(first.value, str):
                pytest.fail(f"{_relative(path)}: url() needs the route's name as a literal")
            parts = {k.key for k in call.kwargs if k.key != "query_"}
            calls.append((_relative(path), first.value, parts))
    return calls


def _python_urls() -> list[tuple[str, str, set[str]]]:
    """Every `url(request, "name", part=…)` of the product code."""
    calls: list[tuple[str, str, set[str]]] = []
    for path in _product_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id != "url" or len(node.args) < 2:
                continue
            name = node.args[1]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                pytest.fail(f"{_relative(path)}:{node.lineno}: url() needs a literal route name")
            parts = {k.arg for k in node.keywords if k.arg not in ("query", "fragment")}
            calls.append((f"{_relative(path)}:{node.lineno}", name.value, {str(p) for p in parts}))
    return calls


def _unknown(app: web.Application, calls: list[tuple[str, str, set[str]]]) -> list[str]:
    """The calls naming no route, or not exactly the parts of the route they name."""
    wrong = []
    for where, name, parts in calls:
        if name not in app.router.named_resources():
            wrong.append(f"{where}: no route named {name!r}")
        elif parts != _parts(app, name):
            wrong.append(
                f"{where}: {name!r} takes {sorted(_parts(app, name))}, got {sorted(parts)}"
            )
    return wrong


def test_templates_spell_out_no_link_of_ours():
    found = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            if LITERAL_LINK.search(line) or QUOTED_PATH.search(line):
                found.append(f"{_relative(path)}:{number}: {line.strip()[:120]}")
    assert found == [], "build these links with url('route_name', …):\n" + "\n".join(found)


def test_scripts_take_their_urls_from_the_page():
    found = []
    for path in sorted((ROOT / "meetings" / "static").glob("*.js")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if QUOTED_PATH.search(line):
                found.append(f"{_relative(path)}:{number}: {line.strip()[:120]}")
    assert found == [], "hand these URLs over in data- attributes built with url():\n" + "\n".join(
        found
    )


def test_handlers_spell_out_no_path_of_ours():
    """Redirects and links come from `url(request, …)`; only the route tables hold paths."""
    found = []
    for path in _product_modules():
        relative = _relative(path)
        if path.name == "routes.py" or (relative, "*") in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = node.value if isinstance(node, ast.Constant) else None
            if not isinstance(value, str) or not re.match(r"/(?!/)[\w{]", value):
                continue
            if any(value.startswith(literal) for file, literal in ALLOWED if file == relative):
                continue
            found.append(f"{relative}:{node.lineno}: {value!r}")
    assert found == [], "build these with url(request, 'route_name', …):\n" + "\n".join(found)


def test_every_route_has_a_name(settings: Settings):
    app = create_app(settings)
    unnamed = [
        f"{route.method} {route.resource.canonical}"
        for route in app.router.routes()
        if route.resource is not None and route.resource.name is None
    ]
    assert unnamed == []


def test_template_links_name_real_routes_with_their_parts(settings: Settings):
    app = create_app(settings)
    calls = _template_urls(app)
    assert len(calls) > 100  # the check saw the templates' links
    assert _unknown(app, calls) == []


def test_handler_links_name_real_routes_with_their_parts(settings: Settings):
    app = create_app(settings)
    calls = _python_urls()
    assert len(calls) > 20
    assert _unknown(app, calls) == []


def test_site_links_in_mail_lead_to_the_site_routes(settings: Settings):
    """E-mails, letters and calendars are made without a request: their links must still be
    the routes' own paths."""
    app = create_app(settings)
    token = "abc-DEF_123"
    page = app.router["site_page"].url_for(site_token=token)
    feed = app.router["api_site_feed"].url_for(site_token=token)
    assert site_page_url("https://giaoban.example", token) == f"https://giaoban.example{page}"
    assert site_feed_url("https://giaoban.example", token) == f"https://giaoban.example{feed}"
