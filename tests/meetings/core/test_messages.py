"""Every message the domain raises to a user has a catalog entry, so pages say the reason
in their language instead of a general sentence."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from babel.messages.pofile import read_po

from meetings.accounts.models import Role
from meetings.core.i18n import LOCALE_DIR
from meetings.core.keys import sessions_key, settings_key
from meetings.core.problems import VALIDATOR_MESSAGES
from meetings.register.models import ContactIn
from notify.mail import outbox, transports
from notify.mail.render import make_renderer
from tests.factories import bearer, login, make_site, make_user

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("meetings", "agendas", "notify", "scheduler")

#: Exception constructors whose first argument a user reads (Invalid's is a summary: pages
#: say its problems instead).
MESSAGE_FIRST = {"Conflict", "NotFound", "Forbidden", "TooLarge", "TooManyAttempts"}
#: Validators whose ValueError pydantic shows to the user.
VALIDATOR_FILES = ("meetings/core/types.py", "models.py")


def _catalog() -> set[str]:
    with (LOCALE_DIR / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    return {str(m.id) for m in catalog if m.id and m.string}


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def _message_argument(call: ast.Call) -> ast.expr | None:
    """The argument of a raise site that holds what the user reads, if it is one."""
    func = call.func
    owner = _name(func.value) if isinstance(func, ast.Attribute) else ""
    name = _name(func)
    position = None
    if name == "FieldProblem" or (owner == "FieldProblem" and name == "of"):
        position = 1
    elif owner == "Conflict" and name == "at":
        position = 1
    elif name in MESSAGE_FIRST or (owner in MESSAGE_FIRST and name == "of"):
        position = 0
    if position is None or len(call.args) <= position:
        return None
    return call.args[position]


def _constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names bound once to a value (`NOT_LIVE_YET = N_("…")`)."""
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            found[_name(node.targets[0])] = node.value
    return found


def _sites() -> Iterator[tuple[str, ast.expr, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and (argument := _message_argument(node)):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", argument, tree


def _fault(argument: ast.expr, constants: dict[str, ast.expr], msgids: set[str]) -> str | None:
    """Why this message would reach a page untranslated (None: it is translated)."""
    if isinstance(argument, ast.Name) and isinstance(constants.get(argument.id), ast.Constant):
        argument = constants[argument.id]
    if isinstance(argument, ast.Call) and _name(argument.func) == "N_" and argument.args:
        argument = argument.args[0]
    if isinstance(argument, ast.JoinedStr | ast.BinOp):
        return "built by formatting: use .of(N_('… {x}'), x=…)"
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return None if argument.value in msgids else f"no catalog entry: {argument.value!r}"
    return None  # a variable or a call: checked where it is defined


def test_every_raised_message_has_a_catalog_entry():
    msgids = _catalog()
    faults = []
    checked = 0
    for place, argument, tree in _sites():
        checked += 1
        fault = _fault(argument, _constants(tree), msgids)
        if fault:
            faults.append(f"{place}: {fault}")
    assert checked > 50
    assert faults == [], "\n".join(faults)


def test_validator_messages_are_known_to_the_pages():
    """A ValueError of a validator reaches the page through VALIDATOR_MESSAGES."""
    starts = tuple(start for start, _ in VALIDATOR_MESSAGES)
    unknown = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if not relative.endswith(VALIDATOR_FILES):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (
                    isinstance(node, ast.Raise)
                    and isinstance(node.exc, ast.Call)
                    and _name(node.exc.func) == "ValueError"
                    and node.exc.args
                ):
                    continue
                text = node.exc.args[0]
                if isinstance(text, ast.JoinedStr) and text.values:
                    text = text.values[0]
                literal = text.value if isinstance(text, ast.Constant) else ""
                if not str(literal).startswith(starts):
                    unknown.append(f"{relative}:{node.lineno}: {literal!r}")
    assert unknown == [], "\n".join(unknown)


async def test_a_page_reads_the_reason_of_a_refusal_in_its_language(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        await make_site(session, code="hn", name="Hà Nội")
    body = {"code": "hn", "name": "Hà Nội 2"}
    script = await client.post("/api/v1/sites", json=body, headers=headers)
    assert script.status == 409
    assert (await script.json())["error"]["message"] == "a site with code 'hn' already exists"

    csrf = await login(client, "org")
    page = await client.post("/api/v1/sites", json=body, headers={"X-CSRF-Token": csrf})
    error = (await page.json())["error"]
    assert page.status == 409 and error["message"] == "Đã có điểm cầu với mã 'hn'"
    assert error["details"] == [{"field": "code", "message": "Đã có điểm cầu với mã 'hn'"}]
    missing = await client.get("/api/v1/sites/999999")
    assert (await missing.json())["error"]["message"] == "Không có điểm cầu mã 999999"
    stale = await client.post("/api/v1/sites", json=body, headers={"X-CSRF-Token": "old"})
    assert (await stale.json())["error"]["message"] == (
        "Phiên làm việc đã hết hạn hoặc không hợp lệ; hãy tải lại trang"
    )


async def test_the_invitation_names_the_time_zone_as_people_do(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        site = await make_site(session, contacts=[ContactIn(name="Lan", email="l@x.vn")])
    body = {
        "title": "Giao ban quý II",
        "starts_at": "2030-04-19T08:00:00+07:00",
        "ends_at": "2030-04-19T11:00:00+07:00",
        "site_ids": [site.id],
    }
    meeting = await (await client.post("/api/v1/meetings", headers=headers, json=body)).json()
    await client.post(f"/api/v1/meetings/{meeting['id']}/invitations", headers=headers)
    settings = client.app[settings_key]
    await outbox.deliver_due(
        client.app[sessions_key],
        transports.DropTransport(settings.mail.drop_dir),
        make_renderer(settings),
    )
    (path,) = settings.mail.drop_dir.glob("*.eml")
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    for kind in ("plain", "html"):
        text = message.get_body((kind,)).get_content()
        assert "(Giờ Việt Nam (UTC+7))" in text and "Asia/Ho_Chi_Minh" not in text
