"""Check-in burst: sites checking in at once over HTTP while live boards are connected.

    .venv/bin/python bench/checkin.py [--sites 52 5000] [--boards 100] [--connections 100]
                                      [--opening 10] [--server-log FILE] [--profile FILE]

Builds a fresh SQLite file (register imported as a file, one session per size inviting that
many sites, every site's link token), starts a real `giaoban serve` on loopback configured
through GIAOBAN__ variables, and for each size:
- opens `--boards` live boards (`GET /api/v1/meetings/{id}/live`, Server-Sent Events) in a
  separate process, so that reading them does not slow the sites down, `--opening` at a
  time (a refused one retries after 1 s, as EventSource does), and waits for every
  snapshot (`--boards 0`: the check-ins alone);
- fires every site's check-in at once (`POST /api/v1/site/{token}/meetings/{id}/check-in`
  with `{"delegates_present": N}`) over at most `--connections` client connections;
- prints check-ins/second, p50/p99 request latency, and the board lag: for each check-in,
  the time from its response (the change is committed by then) until the last board has
  it (p50/p99), and the time from the last response until every board is current;
- the floor: the same requests against a bare aiohttp handler (parse the JSON, answer
  JSON) in its own process on the same machine.
Targets: check-ins/second ≥ 30 % of the floor's, and every board current within 1 s at p99;
a failed check-in or a check-in some board never received is a miss too.
`--profile FILE` runs the server under cProfile and prints its functions by own time
(cumulative times of coroutines and greenlets mislead; for wall time, attach a sampler
such as `py-spy record --idle --native -p PID` to the server instead).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import pstats
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the packages are beside it

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
CLUSTERS = 5
RATE_TARGET = 0.30
LAG_TARGET_S = 1.0
BOARD_TIMEOUT_S = 300.0
#: How long after the last response the boards may take before they report what they have.
GRACE_S = 30.0
CHECK_IN = "/api/v1/site/{token}/meetings/{id}/check-in"
SITE_ID = re.compile(rb'"site_id":\s*(\d+)')
#: An event's name line; a block may start with other fields ("retry: 1000").
EVENT_NAME = re.compile(rb"^event: (\w+)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


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
    from meetings.accounts import accounts
    from meetings.accounts.models import Role, UserCreate
    from meetings.core.settings import DatabaseSettings
    from meetings.core.store import create_engine, session_maker
    from meetings.planning import lifecycle as planning
    from meetings.planning.models import MeetingCreate
    from meetings.register import imports, sites
    from meetings.register.models import ClusterCreate
    from notify.site.tokens import site_token

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
    async with maker() as session:
        register = await sites.all_sites(session)
    # Ten minutes ahead: every check-in is "connected", none "late".
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    made: list[Session] = []
    for size in [20, *sizes]:
        invited = [s.id for s in register[:size]]
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
            tokens = {i: await site_token(session, i, secret_key=SECRET) for i in invited}
        made.append(Session(meeting.id or 0, tokens))
    await engine.dispose()
    return bearer, made[0], dict(zip(sizes, made[1:], strict=True))


# --- the servers -------------------------------------------------------------------------


def serve_giaoban(
    folder: Path, database_url: str, port: int, profile: Path | None, log: Path
) -> subprocess.Popen[bytes]:
    """`giaoban serve` as its own process, configured only through the environment."""
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
            if kind != b"update":
                continue
            for raw in SITE_ID.findall(block):
                arrivals.setdefault(int(raw), now)
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


# --- the burst ----------------------------------------------------------------------------


@dataclass
class Burst:
    count: int
    seconds: float
    latencies_ms: list[float]
    #: site id → monotonic time its (successful) response arrived.
    answered_at: dict[int, float]
    #: status (or error) → how many check-ins failed so.
    failures: dict[str, int]

    @property
    def rate(self) -> float:
        """Successful check-ins per second."""
        return len(self.answered_at) / self.seconds


async def burst(base: str, session: Session, connections: int) -> Burst:
    """Every site of the session checks in at once."""
    connector = aiohttp.TCPConnector(limit=connections)
    latencies: list[float] = []
    answered: dict[int, float] = {}
    failures: dict[str, int] = {}
    timeout = aiohttp.ClientTimeout(total=None)  # queued behind thousands: no client limit
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def one(site_id: int, token: str) -> None:
            url = base + CHECK_IN.format(token=token, id=session.meeting_id)
            start = time.monotonic()
            try:
                async with client.post(url, json={"delegates_present": site_id % 40 + 1}) as r:
                    await r.read()
                    outcome = str(r.status)
            except aiohttp.ClientError as exc:
                outcome = type(exc).__name__
            end = time.monotonic()
            latencies.append((end - start) * 1000)
            if outcome == "200":
                answered[site_id] = end
            else:
                failures[outcome] = failures.get(outcome, 0) + 1

        start = time.monotonic()
        await asyncio.gather(*(one(i, t) for i, t in session.tokens.items()))
        seconds = time.monotonic() - start
    return Burst(len(session.tokens), seconds, latencies, answered, failures)


async def with_boards(
    base: str, session: Session, bearer: str, args: argparse.Namespace
) -> tuple[Burst, dict[str, Any]]:
    if args.boards == 0:  # the check-ins alone (to tell their cost from the boards')
        figures = await burst(base, session, args.connections)
        none = {"last_arrival": {}, "complete_boards": 0, "opened_in": 0.0, "refused": {}}
        return figures, none
    watcher = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--watch",
        f"{base}/api/v1/meetings/{session.meeting_id}/live",
        str(args.boards),
        bearer,
        str(args.opening),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**26,
    )
    try:
        if watcher.stdin is None or watcher.stdout is None:
            raise SystemExit("the boards process has no pipes")
        line = await asyncio.wait_for(watcher.stdout.readline(), BOARD_TIMEOUT_S)
        if line.strip() != b"ready":
            raise SystemExit(f"the boards did not open: {line!r}")
        result = await burst(base, session, args.connections)
        reading = asyncio.ensure_future(watcher.stdout.readline())
        done, _pending = await asyncio.wait([reading], timeout=GRACE_S)
        if not done:  # some board is still behind: take what they have
            watcher.stdin.write(b"stop\n")
            await watcher.stdin.drain()
        boards_line = await reading
        await watcher.wait()
    finally:
        if watcher.returncode is None:  # a failure above: no orphaned boards process
            watcher.kill()
            await watcher.wait()
    return result, json.loads(boards_line)


def report_size(size: int, boards: int, figures: Burst, seen: dict[str, Any], floor: Burst) -> bool:
    lags: list[float] = []
    missing = 0  # check-ins that some board never received
    for site, answered in figures.answered_at.items() if boards else ():
        arrival = seen["last_arrival"].get(str(site), float("nan"))
        if arrival != arrival:  # NaN: a board lacks it
            missing += 1
        else:
            lags.append(max(0.0, arrival - answered) * 1000)
    arrivals = [v for v in seen["last_arrival"].values() if v == v]
    every_board = (
        max(0.0, max(arrivals, default=0.0) - max(figures.answered_at.values(), default=0.0)) * 1000
    )
    ratio = figures.rate / floor.rate
    lag_p99 = percentile(lags, 0.99) if lags else (0.0 if boards == 0 else float("inf"))
    ok = (
        ratio >= RATE_TARGET
        and lag_p99 <= LAG_TARGET_S * 1000
        and not missing
        and not figures.failures
    )
    print(f"\n{size} sites checking in at once, {boards} boards open")
    refused = f", refused first: {seen['refused']}" if seen["refused"] else ""
    print(f"  {'boards opened (snapshot received) in':<40} {seen['opened_in']:9.1f} s{refused}")
    print(f"  {'check-ins/second':<40} {figures.rate:9.0f}   (all in {figures.seconds:.2f} s)")
    if figures.failures:
        print(
            f"  {'failed check-ins':<40} {sum(figures.failures.values()):9d}   {figures.failures}"
        )
    print(
        f"  {'request latency p50 / p99':<40} {statistics.median(figures.latencies_ms):9.1f}"
        f" / {percentile(figures.latencies_ms, 0.99):.1f} ms"
    )
    print(
        f"  {'floor: bare aiohttp check-ins/second':<40} {floor.rate:9.0f}   (p50 / p99 "
        f"{statistics.median(floor.latencies_ms):.1f} / "
        f"{percentile(floor.latencies_ms, 0.99):.1f} ms)"
    )
    print(f"  {'rate / floor':<40} {ratio:9.2f}   target ≥ {RATE_TARGET:.2f}")
    print(
        f"  {'board lag per check-in p50 / p99':<40} "
        f"{statistics.median(lags) if lags else float('nan'):9.0f} / {lag_p99:.0f} ms"
        f"   target p99 ≤ {LAG_TARGET_S * 1000:.0f} ms"
    )
    print(
        f"  {'last response → every board current':<40} {every_board:9.0f} ms"
        f"   ({seen['complete_boards']}/{boards} boards complete"
        f"{f', {missing} check-ins never seen' if missing else ''})"
    )
    print(f"  {'result':<40} {'PASS' if ok else 'MISS'}")
    return ok


def print_server_errors(log: Path) -> None:
    """What went wrong on the server's side, once per kind (the log holds tracebacks)."""
    found: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if re.match(r"^[\w.]+(Error|Exception|Timeout)\b.*", line):
            found[line[:160]] = found.get(line[:160], 0) + 1
    for line, times in found.items():
        print(f"  server error ×{times}: {line}")


def print_profile(path: Path, limit: int = 30) -> None:
    print(f"\nserver profile ({path}), by own time:")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(limit)


async def run(args: argparse.Namespace, folder: Path) -> bool:
    from meetings.core.migrate import upgrade
    from meetings.core.settings import DatabaseSettings

    database_url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    await asyncio.to_thread(upgrade, DatabaseSettings(url=database_url, echo=False))
    started = time.perf_counter()
    bearer, warm, sessions = await prepare(database_url, args.sites)
    print(
        f"prepared {max(args.sites)} sites, tokens and sessions in "
        f"{time.perf_counter() - started:.1f} s"
    )
    port, floor_port = free_port(), free_port()
    base, floor_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{floor_port}"
    log = args.server_log or folder / "serve.log"
    server = serve_giaoban(folder, database_url, port, args.profile, log)
    bare = serve_bare(floor_port)
    ok = True
    try:
        await wait_ready(base, server, log)
        await wait_ready(floor_base, bare, None)
        await burst(base, warm, args.connections)
        await burst(floor_base, warm, args.connections)
        for size in args.sites:
            figures, seen = await with_boards(base, sessions[size], bearer, args)
            floor = await burst(floor_base, sessions[size], args.connections)
            ok = report_size(size, args.boards, figures, seen, floor) and ok
    finally:
        for process in (server, bare):
            process.terminate()
            process.wait(timeout=60)
        print_server_errors(log)
    if args.profile:
        print_profile(args.profile)
    return ok


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bare-server":
        run_bare_server(int(sys.argv[2]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--watch":
        asyncio.run(watch_boards(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[52, 5000])
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument(
        "--opening", type=int, default=10, help="boards connecting at a time (default 10)"
    )
    parser.add_argument("--profile", type=Path, help="profile the server into this file")
    parser.add_argument("--server-log", type=Path, help="keep the server's log in this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ok = asyncio.run(run(args, Path(folder)))
    print(f"\ncheck-in bench: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
