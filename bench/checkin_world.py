"""What bench/checkin.py runs against, shared with bench/boards.py and bench/scale.py: the
register and sessions in a fresh SQLite file, `giaoban serve` and the bare aiohttp floor
(each its own process), and the live boards' process that records when each board first
receives each check-in.

    python bench/checkin_world.py --bare-server PORT
    python bench/checkin_world.py --watch URL COUNT BEARER OPENING
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the packages are beside it

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
CLUSTERS = 5
CHECK_IN = "/api/v1/site/{token}/meetings/{id}/check-in"
SITE_ID = re.compile(rb'"site_id":\s*(\d+)')
#: An event's name line; a block may start with other fields ("retry: 1000").
EVENT_NAME = re.compile(rb"^event: (\w+)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    meeting_id: int
    #: site id → the site's link token, for every invited site.
    tokens: dict[int, str]


def sites_csv(count: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "name", "province", "cluster", "contact1_name", "contact1_email"])
    for n in range(count):
        writer.writerow(
            [
                f"DC-{n:05d}",
                f"Liên hiệp các tổ chức hữu nghị điểm cầu {n}",
                f"Tỉnh {n % 63}",
                f"CUM-{n % CLUSTERS + 1}",
                f"Nguyễn Văn {n}",
                f"lienhe{n}@example.org",
            ]
        )
    return out.getvalue().encode("utf-8")


async def prepare(database_url: str, sizes: list[int]) -> tuple[str, Session, dict[int, Session]]:
    """The register, one session per size (and a small one to warm up), tokens for all."""
    bearer, warm, sessions = await prepare_sessions(database_url, sizes, repeat=1)
    return bearer, warm, {size: made[0] for size, made in sessions.items()}


async def prepare_sessions(
    database_url: str, sizes: list[int], *, repeat: int
) -> tuple[str, Session, dict[int, list[Session]]]:
    """The register, `repeat` sessions per size (and a small one to warm up), tokens."""
    from meetings.accounts import accounts
    from meetings.accounts.models import Role, UserCreate
    from meetings.core.settings import DatabaseSettings
    from meetings.core.store import create_engine, session_maker
    from meetings.planning import lifecycle as planning
    from meetings.planning.models import MeetingCreate
    from meetings.register import imports, sites
    from meetings.register.models import ClusterCreate
    from notify.site.tokens import site_tokens

    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    maker = session_maker(engine)
    async with maker() as session, session.begin():
        await accounts.create_user(
            session,
            UserCreate(username="board", role=Role.organiser, password="bench-password-1234"),
        )
        bearer = await accounts.create_token(session, username="board")
        for code in range(1, CLUSTERS + 1):
            await sites.create_cluster(
                session, ClusterCreate(code=f"CUM-{code}", name=f"Cụm {code}")
            )
        await imports.import_sites(
            session, content=sites_csv(max(sizes)), kind="csv", dry_run=False
        )
    async with maker() as session, session.begin():
        register = [s.id or 0 for s in await sites.all_sites(session)]
        links = await site_tokens(session, set(register), secret_key=SECRET)
    # Ten minutes ahead: every check-in is "connected", none "late".
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    made: list[Session] = []
    for size in [20, *(s for s in sizes for _ in range(repeat))]:
        invited = register[:size]
        async with maker() as session, session.begin():
            meeting = await planning.create_meeting(
                session,
                MeetingCreate(
                    title=f"Giao ban trực tuyến {size} điểm cầu",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=3),
                    site_ids=invited,
                ),
                organiser_id=None,
                default_location="Hội trường Liên hiệp",
            )
        made.append(Session(meeting.id or 0, {i: links[i] for i in invited}))
    await engine.dispose()
    per_size = {size: made[1 + n * repeat : 1 + (n + 1) * repeat] for n, size in enumerate(sizes)}
    return bearer, made[0], per_size


# --- the servers -------------------------------------------------------------------------


def serve_giaoban(
    folder: Path,
    database_url: str,
    port: int,
    profile: Path | None,
    log: Path,
    extra: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`giaoban serve` as its own process, configured only through the environment
    (`extra`: more variables, over these)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GIAOBAN_SECRET_KEY": SECRET,
        "GIAOBAN__DATABASE__URL": database_url,
        "GIAOBAN__SERVER__HOST": "127.0.0.1",
        "GIAOBAN__SERVER__PORT": str(port),
        "GIAOBAN__SERVER__VAR_DIR": str(folder / "var"),
        "GIAOBAN__DOCUMENTS__DIR": str(folder / "documents"),
        "GIAOBAN__MAIL__DROP_DIR": str(folder / "mail"),
        "GIAOBAN__MAIL__WORKER": "false",
        "GIAOBAN__SCHEDULER__ENABLED": "false",
        **(extra or {}),
    }
    runner = ["-m", "cProfile", "-o", str(profile)] if profile else []
    return subprocess.Popen(
        [sys.executable, *runner, "-m", "meetings.core.cli", "serve"],
        cwd=folder,  # no ./config.toml there: defaults and the environment only
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def serve_bare(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--bare-server", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_bare_server(port: int) -> None:
    """The floor: what aiohttp itself costs for the same request and a small JSON answer."""
    from aiohttp import web

    async def check_in(request: web.Request) -> web.Response:
        data = await request.json()
        return web.json_response(
            {
                "site_token": request.match_info["site_token"][:8],
                "meeting_id": int(request.match_info["id"]),
                "delegates_present": data["delegates_present"],
                "attendance_status": "connected",
            }
        )

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post(CHECK_IN.replace("{token}", "{site_token}"), check_in)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def wait_ready(base: str, process: subprocess.Popen, log: Path | None) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:] if log else ""
                raise SystemExit(f"the server ended ({process.returncode}):\n{tail}")
            try:
                async with client.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit(f"{base} did not answer within 60 s")


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def print_server_errors(log: Path) -> None:
    """What went wrong on the server's side, once per kind (the log holds tracebacks)."""
    found: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if re.match(r"^[\w.]+(Error|Exception|Timeout)\b.*", line):
            found[line[:160]] = found.get(line[:160], 0) + 1
    for line, times in found.items():
        print(f"  server error ×{times}: {line}")


def start_sampler(path: Path | None, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy on the server (its wall time, native frames too), when asked and installed."""
    if path is None:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("--py-spy: py-spy is not installed (pip install py-spy in the venv)")
    command = [spy, "record", "--format", "raw", "--rate", "200", "-o", str(path)]
    return subprocess.Popen([*command, "--pid", str(pid)], stdout=subprocess.DEVNULL)


# --- the boards (their own process) -------------------------------------------------------


async def sse_events(
    response: aiohttp.ClientResponse,
) -> AsyncIterator[tuple[float, bytes, bytes]]:
    """(arrival time, event name, whole block) for each Server-Sent Event of a stream."""
    buffer = bytearray()
    async for chunk in response.content.iter_any():
        now = time.monotonic()
        start = max(0, len(buffer) - 1)
        buffer.extend(chunk)
        while (end := buffer.find(b"\n\n", start)) >= 0:
            block = bytes(buffer[:end])
            del buffer[: end + 2]
            start = 0
            name = EVENT_NAME.search(block)
            yield now, name.group(1) if name else b"", block


def checked_in(block: bytes) -> list[int]:
    """The sites a `snapshot` event shows as checked in."""
    data = json.loads(block.split(b"data: ", 1)[1])
    return [site["site_id"] for site in data["sites"] if site["attendance_status"]]


async def watch_boards(url: str, count: int, bearer: str, opening: int) -> None:
    """Open `count` boards, say "ready" once each has its snapshot, then record when each
    board first receives each site in an `update`; print the result as one JSON line once
    every board has every site, or when "stop" arrives on stdin.

    At most `opening` boards connect at a time; a refused one retries after 1 s, as a
    browser's EventSource does. The refusals are reported.
    """
    headers = {"Authorization": f"Bearer {bearer}"}
    expected: set[int] = set()
    ready = 0
    all_ready = asyncio.Event()
    #: per board: site id → monotonic time of its first arrival.
    seen: list[dict[int, float]] = [{} for _ in range(count)]
    done = [asyncio.Event() for _ in range(count)]
    gate = asyncio.Semaphore(opening)
    refused: dict[str, int] = {}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None, sock_connect=30)
    started = time.monotonic()
    opened_in = 0.0

    async def board(index: int, client: aiohttp.ClientSession) -> None:
        nonlocal ready, opened_in
        async with gate:  # held until the snapshot is in
            while True:
                response = await client.get(url, headers=headers)
                if response.status == 200:
                    break
                refused[str(response.status)] = refused.get(str(response.status), 0) + 1
                response.release()
                await asyncio.sleep(1.0)
            stream = sse_events(response)
            async for _now, kind, block in stream:
                if kind == b"snapshot":
                    expected.update(int(i) for i in SITE_ID.findall(block))
                    break
            ready += 1
            if ready == count:
                opened_in = time.monotonic() - started
                all_ready.set()
        arrivals = seen[index]
        async for now, kind, block in stream:
            if kind == b"update":
                for raw in SITE_ID.findall(block):
                    arrivals.setdefault(int(raw), now)
            elif kind == b"snapshot":  # sent again to a board that fell behind
                for site in checked_in(block):
                    arrivals.setdefault(site, now)
            if all_ready.is_set() and len(arrivals) >= len(expected):
                done[index].set()
                break
        response.close()

    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=0)
    ) as client:
        tasks = [asyncio.create_task(board(i, client)) for i in range(count)]
        await all_ready.wait()
        print("ready", flush=True)
        complete = asyncio.ensure_future(asyncio.gather(*(d.wait() for d in done)))
        stop = asyncio.ensure_future(asyncio.to_thread(sys.stdin.readline))
        await asyncio.wait([complete, stop], return_when=asyncio.FIRST_COMPLETED)
        complete.cancel()
        for task in tasks:
            task.cancel()
    # A site that some board never received has no arrival (NaN): that board is stale.
    last = {
        site: max(b[site] for b in seen) if all(site in b for b in seen) else float("nan")
        for site in expected
    }
    result = {
        "last_arrival": last,
        "complete_boards": sum(1 for b in seen if len(b) >= len(expected)),
        "opened_in": opened_in,
        "refused": refused,
    }
    print(json.dumps(result), flush=True)
    os._exit(0)  # the stdin reader thread may still be waiting


def main() -> None:
    if sys.argv[1] == "--bare-server":
        run_bare_server(int(sys.argv[2]))
    elif sys.argv[1] == "--watch":
        asyncio.run(watch_boards(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])))


if __name__ == "__main__":
    main()
