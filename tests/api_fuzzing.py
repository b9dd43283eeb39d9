"""Schemathesis against the real app: served on loopback, seeded, tallied per operation.

Shared by the suite's bounded run (tests/meetings/core/test_api_properties.py) and the
long run (scripts/fuzz_api.py). The app is the one `create_app` builds, on a fresh SQLite
file, served by aiohttp on 127.0.0.1 in a process of its own; Schemathesis loads
`/api/v1/openapi.json` from it and runs its engine (examples, coverage and fuzzing
phases, as its command line does) with a bearer token of the role under test. Path
parameters are drawn from the generated values and from the rows seeded here, so that
operations on a session, a site, a recommendation… reach real rows as well as missing ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import schemathesis
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from hypothesis import strategies as st
from schemathesis.engine import Status, events
from schemathesis.engine.recorder import ScenarioRecorder

from meetings.accounts import accounts
from meetings.accounts.models import Role, UserCreate
from meetings.core.app import create_app
from meetings.core.migrate import upgrade
from meetings.core.settings import Settings
from meetings.core.store import create_engine, session_maker

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = "/api/v1/openapi.json"
#: The checks whose failure is a schema mismatch: the status is not documented for the
#: operation, the media type is not the documented one, the body does not match.
MISMATCH_CHECKS = frozenset(
    {"status_code_conformance", "content_type_conformance", "response_schema_conformance"}
)
SERVER_ERROR_CHECK = "not_a_server_error"
ROLES = (Role.admin, Role.organiser, Role.secretary, Role.chair)


@dataclass
class Seeded:
    """The rows the fuzzer may aim at: real ids per path parameter, and each role's token."""

    tokens: dict[str, str] = field(default_factory=dict)
    #: Path parameter → values that name existing rows, by the collection the path is in
    #: (`/sites/{id}` and `/meetings/{id}` both say `id`).
    ids: dict[str, list[Any]] = field(default_factory=dict)
    #: Operations that never get the first seeded row (they would delete it or revoke it).
    spared: set[str] = field(default_factory=set)

    def known(self, method: str, path: str, name: str) -> list[Any]:
        """Existing values for the path parameter `name` of the operation."""
        if name != "id":
            return self.ids.get(name, [])
        collection = "/" + path.split("/{id}")[0].rsplit("/", 1)[-1] + "/{id}"
        found = self.ids.get(collection, [])
        return found[1:] if f"{method} {path}" in self.spared else found


@dataclass
class Tally:
    """What one operation answered: cases sent, 5xx, schema mismatches, and a few samples."""

    cases: int = 0
    server_errors: int = 0
    mismatches: int = 0
    samples: list[str] = field(default_factory=list)

    def add_sample(self, text: str) -> None:
        """Keep the first few distinct failing requests, to show what to reproduce."""
        if len(self.samples) < 3 and text not in self.samples:
            self.samples.append(text)


# --- the app, migrated, seeded and served ---------------------------------------------


async def _create_accounts(settings: Settings) -> tuple[dict[str, str], int]:
    """A token per role, and one more account: the only one the admin's run may change
    (disabling a role's account would end its token before that role's run)."""
    engine = create_engine(settings.database)
    tokens: dict[str, str] = {}
    async with session_maker(engine)() as session, session.begin():
        for role in ROLES:
            name = f"fuzz_{role.value}"
            await accounts.create_user(
                session,
                UserCreate(username=name, role=role, full_name=name, password="fuzz-password-1"),
            )
            tokens[role.value] = await accounts.create_token(session, username=name)
        target = await accounts.create_user(
            session,
            UserCreate(username="fuzz_target", role=Role.secretary, password="fuzz-password-1"),
        )
    await engine.dispose()
    return tokens, target.id


@dataclass
class Server:
    """The app under test, in a process of its own (it and Schemathesis each get a core)."""

    base_url: str
    settings: Settings
    process: subprocess.Popen[str]

    def exceptions(self) -> dict[str, int]:
        """The exceptions the app logged so far (each behind a 5xx), counted by kind."""
        if self.process.stdin is None or self.process.stdout is None:
            return {}
        self.process.stdin.write("exceptions\n")
        self.process.stdin.flush()
        found: dict[str, int] = json.loads(self.process.stdout.readline())
        return found


@contextmanager
def serving(folder: Path) -> Iterator[Server]:
    """The real app, migrated, on 127.0.0.1 at a free port, until the block ends."""
    settings = settings_for(folder)
    upgrade(settings.database)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.api_fuzzing", str(folder)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        address = process.stdout.readline().strip() if process.stdout else ""
        if not address.startswith("http://"):
            raise RuntimeError(f"the app did not start (exit code {process.wait(30)})")
        yield Server(address, settings, process)
    finally:
        if process.stdin:
            process.stdin.close()  # the app stops at the end of its input
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


async def _serve(settings: Settings, errors: ServerErrors) -> None:
    """In the child: serve, print the address, answer `exceptions`, stop at end of input."""
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    print(f"http://{host}:{port}", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.strip() == "exceptions":
            print(json.dumps(errors.seen), flush=True)
    await runner.cleanup()


def seed(server: Server) -> Seeded:
    """Accounts and tokens through the domain; clusters, sites, sessions and their record
    through the API itself, as an organiser's script would."""
    tokens, target_user = asyncio.run(_create_accounts(server.settings))
    seeded = Seeded(tokens=tokens)
    api = _Api(server.base_url, seeded.tokens[Role.organiser.value])
    clusters = [api.post("/clusters", {"code": f"K{n}", "name": f"Cụm {n}"}) for n in (1, 2)]
    sites = [
        api.post(
            "/sites",
            {
                "code": f"F{n}",
                "name": f"Liên hiệp tỉnh {n}",
                "province": f"Tỉnh {n}",
                "cluster_id": clusters[n % 2]["id"],
                "contacts": [{"name": f"Liên hệ {n}", "email": f"lienhe{n}@example.org"}],
            },
        )
        for n in (1, 2, 3)
    ]
    site_ids = [s["id"] for s in sites]
    meetings = [
        api.post(
            "/meetings",
            {
                "title": f"Giao ban {n}",
                "starts_at": f"2030-0{n}-10T08:00:00+07:00",
                "ends_at": f"2030-0{n}-10T11:00:00+07:00",
                "site_ids": site_ids,
            },
        )
        for n in (1, 2)
    ]
    first = meetings[0]["id"]
    api.put(f"/meetings/{first}/agenda", [{"title": "Khai mạc"}, {"title": "Báo cáo"}])
    focus = api.put(f"/meetings/{first}/focus-items", [{"number": 1, "title": "Trọng tâm 1"}])
    contribution = api.post(
        f"/meetings/{first}/contributions",
        {"site_id": site_ids[0], "kind": "recommendation", "text": "Đề nghị hỗ trợ"},
    )
    action = api.post(f"/meetings/{first}/actions", {"text": "Gửi báo cáo"})
    document = api.upload(f"/meetings/{first}/documents", "chuong-trinh.pdf", b"%PDF-1.4\n%%EOF\n")
    api.post(f"/meetings/{first}/invitations", {})
    messages = api.get(f"/meetings/{first}/messages")["items"]
    recommendations = api.get("/recommendations")["items"]
    seeded.ids = {
        "/clusters/{id}": [c["id"] for c in clusters],
        "/sites/{id}": site_ids,
        "/meetings/{id}": [m["id"] for m in meetings],
        "/recommendations/{id}": [r["id"] for r in recommendations],
        "/users/{id}": [target_user],
        "site_token": [api.post(f"/sites/{site_ids[0]}/link", None)["url"].split("/")[-1]],
        "focus_id": [f["id"] for f in focus],
        "contribution_id": [contribution["id"]],
        "action_id": [action["id"]],
        "document_id": [document["id"]],
        "message_id": [m["id"] for m in messages],
        "fmt": ["html", "md", "docx", "pdf"],
    }
    #: The first site keeps its link and its row: the site-link operations use them.
    seeded.spared = {"DELETE /api/v1/sites/{id}", "POST /api/v1/sites/{id}/link"}
    api.http.close()
    return seeded


class _Api:
    """A few JSON calls with the organiser's token; any failure stops the seeding."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = f"{base_url}/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def _answer(self, response: requests.Response) -> Any:
        if response.status_code >= 400:
            raise RuntimeError(f"seeding failed: {response.request.url} {response.text}")
        return response.json()

    def get(self, path: str) -> Any:
        return self._answer(self.http.get(self.base + path, timeout=60))

    def post(self, path: str, body: Any) -> Any:
        return self._answer(self.http.post(self.base + path, json=body, timeout=60))

    def put(self, path: str, body: Any) -> Any:
        return self._answer(self.http.put(self.base + path, json=body, timeout=60))

    def upload(self, path: str, name: str, content: bytes) -> Any:
        files = {"file": (name, content, "application/pdf")}
        return self._answer(self.http.post(self.base + path, files=files, timeout=60))


# --- the run -------------------------------------------------------------------------


def _aim_at_rows(seeded: Seeded) -> Any:
    """A hook drawing each path parameter from the generated value or a seeded row's."""

    def flatmap_path_parameters(
        context: schemathesis.HookContext, path_parameters: dict[str, Any]
    ) -> st.SearchStrategy[dict[str, Any]]:
        operation = context.operation
        method, path = (operation.method.upper(), operation.path) if operation else ("", "")
        choices = {
            name: st.sampled_from([value, *seeded.known(method, path, name)])
            for name, value in (path_parameters or {}).items()
        }
        return st.fixed_dictionaries(choices)

    return flatmap_path_parameters


#: Schemathesis' phases this harness runs (its stateful phase, chains of calls, is not).
PHASES = ("examples", "coverage", "fuzzing")


def project_config(
    *, token: str, max_examples: int, seed: int, phases: tuple[str, ...] = PHASES
) -> schemathesis.Config:
    """The same run every time for a seed: no shrinking, no stateful phase, our checks."""
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "workers": 1,
            "continue-on-failure": True,
            "headers": {"Authorization": f"Bearer {token}"},
            "request-timeout": 30,
            "max-stream-events": 1,
            "generation": {"max-examples": max_examples, "deterministic": True, "no-shrink": True},
            "phases": {name: {"enabled": name in phases} for name in (*PHASES, "stateful")},
            "checks": {
                "enabled": False,
                SERVER_ERROR_CHECK: {"enabled": True},
                **{name: {"enabled": True} for name in MISMATCH_CHECKS},
            },
        }
    )


def run(
    server: Server,
    seeded: Seeded,
    *,
    role: str,
    max_examples: int,
    seed: int = 13,
    phases: tuple[str, ...] = PHASES,
) -> dict[str, Tally]:
    """One Schemathesis run of every operation as `role`; the tally per operation."""
    token = seeded.tokens[role]
    config = project_config(token=token, max_examples=max_examples, seed=seed, phases=phases)
    schema = schemathesis.openapi.from_url(f"{server.base_url}{OPENAPI}", config=config)
    schema.hook(_aim_at_rows(seeded))
    tallies: dict[str, Tally] = {}
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _count(tallies.setdefault(event.recorder.label, Tally()), event.recorder)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            raise RuntimeError(f"Schemathesis could not run: {event}")
    return tallies


def _count(tally: Tally, recorder: ScenarioRecorder) -> None:
    tally.cases += len(recorder.cases)
    for case_id, interaction in recorder.interactions.items():
        status = interaction.response.status_code if interaction.response else 0
        failures = [
            check
            for check in recorder.checks.get(case_id, [])
            if check.status == Status.FAILURE and check.name in MISMATCH_CHECKS
        ]
        answered = 0 < status < 500  # no answer at all (a timeout, a reset) counts as a 5xx
        if answered and not failures:
            continue
        if not answered:
            tally.server_errors += 1
        if failures:
            tally.mismatches += 1
        request = interaction.request
        body = (request.body or b"")[:160].decode("utf-8", "replace")
        reasons = "; ".join(
            f"{c.name}: {c.failure_info.failure.title if c.failure_info else ''}" for c in failures
        )
        tally.add_sample(f"{status} {request.method} {request.uri} {body!r} {reasons}".strip())


class ServerErrors(logging.Handler):
    """The exceptions behind the 5xx answers, counted by type and message."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        # aiohttp's server logs the requests it could not parse too, and answers them 400
        # itself (Schemathesis sends a few on purpose: a NUL in a header value).
        unparsed = record.name == "aiohttp.server" and isinstance(exc, HttpProcessingError)
        if exc is not None and not unparsed:
            where = re.sub(r"/\d+\b", "/N", record.getMessage().removeprefix("unhandled error on "))
            first_line = str(exc).strip().split("\n", 1)[0][:120]
            key = f"{type(exc).__name__}: {first_line} [{where[:80]}]"
            self.seen[key] = self.seen.get(key, 0) + 1


@contextmanager
def server_errors() -> Iterator[ServerErrors]:
    """Collect the server's logged exceptions (and keep their tracebacks off the screen)."""
    collector = ServerErrors()
    loggers = [logging.getLogger(n) for n in ("meetings", "aiohttp", "aiohttp_session")]
    saved = [(lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(collector)
        lg.propagate = False
        lg.setLevel(logging.ERROR)
    try:
        yield collector
    finally:
        for lg, (propagate, level) in zip(loggers, saved, strict=True):
            lg.removeHandler(collector)
            lg.propagate = propagate
            lg.setLevel(level)


def settings_for(folder: Path) -> Settings:
    """The suite's settings (no mail worker, no scheduler) on a SQLite file in `folder`."""
    from tests.conftest import make_settings

    return make_settings(folder, f"sqlite+aiosqlite:///{folder / 'giaoban.sqlite3'}")


if __name__ == "__main__":  # the app's process, started by `serving`
    with server_errors() as collected:
        asyncio.run(_serve(settings_for(Path(sys.argv[1])), collected))
