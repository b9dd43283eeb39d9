"""Live boards and the board page: 100 boards opening at once, and the page under load.

    .venv/bin/python bench/boards.py [--sites 52 5000] [--boards 100] [--opening 10]
                                     [--repeat 3] [--seconds 5]

Builds a fresh SQLite file (bench/checkin.py's register and sessions: one session per
size), starts a real `giaoban serve` on loopback and a bare aiohttp server beside it
(each its own process), then `--repeat` times, interleaved, figure then floor:
- boards: `--boards` live boards (`GET /api/v1/meetings/{id}/live`) of the biggest session
  connect, `--opening` at a time (as bench/checkin.py; a refused one retries after 1 s);
  timed until every one has its whole `snapshot` event. Floor: the same GETs of a bare
  handler answering the same bytes (one snapshot's size);
- page: `wrk -t2 -c50` for `--seconds` on `/sessions/{id}/board` of the smallest session
  (bearer token). Floor: the bare handler answering a body of the same size;
- serial: the board page and the session page of the biggest session, one client, the
  median of 5 requests.
Printed: medians and spread (min–max) over the repetitions, the ratio to the floor, the
targets (100 boards < 3 s; pages < 300 ms at 10,000 sites — run `--sites 52 10000` for
that one) and the load average before and after (the machine's 2 cores may be shared: a
figure beside a high load is not a measurement).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checkin import (  # noqa: E402
    free_port,
    prepare,
    serve_giaoban,
    sse_events,
    wait_ready,
)

BOARDS_TARGET_S = 3.0
PAGE_TARGET_S = 0.300
LIVE = "/api/v1/meetings/{id}/live"
BOARD = "/sessions/{id}/board"
SESSION = "/sessions/{id}"
WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_P99 = re.compile(r"99%\s+([\d.]+)(us|ms|s)\b")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def spread(values: list[float], unit: str = "", digits: int = 2) -> str:
    return (
        f"{statistics.median(values):.{digits}f}{unit} "
        f"({min(values):.{digits}f}–{max(values):.{digits}f})"
    )


def run_bare_server(port: int, snapshot_size: int, page_size: int) -> None:
    """The floor: aiohttp answering ready bytes of the figure's size."""
    from aiohttp import web

    snapshot = b"event: snapshot\ndata: " + b"x" * snapshot_size + b"\n\n"
    page = b"x" * page_size

    async def live(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(snapshot)
        return response

    async def board(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html")

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get(LIVE, live)
    app.router.add_get(BOARD, board)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def open_boards(url: str, count: int, bearer: str, opening: int) -> tuple[float, int, int]:
    """Seconds until `count` boards all hold their snapshot, `opening` connecting at a time
    (a refused one retries after 1 s, as EventSource does); the snapshot's size; refusals."""
    headers = {"Authorization": f"Bearer {bearer}"}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=600)
    gate = asyncio.Semaphore(opening)
    sizes: list[int] = []
    refused = 0

    async def board(client: aiohttp.ClientSession) -> None:
        nonlocal refused
        async with gate:
            while True:
                async with client.get(url, headers=headers) as response:
                    if response.status == 200:
                        async for _now, kind, block in sse_events(response):
                            if kind == b"snapshot":
                                sizes.append(len(block))
                                return
                refused += 1
                await asyncio.sleep(1.0)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        started = time.perf_counter()
        await asyncio.gather(*(board(client) for _ in range(count)))
        return time.perf_counter() - started, max(sizes), refused


def wrk(url: str, bearer: str, seconds: int) -> tuple[float, float]:
    """req/s and p99 (ms) of `wrk -t2 -c50`."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c50",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {bearer}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = WRK_RATE.search(out)
    p99 = WRK_P99.search(out)
    if not rate or not p99:
        raise SystemExit(f"wrk said:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(rate.group(1)), float(p99.group(1)) * scale


async def serial(url: str, bearer: str, times: int = 5) -> tuple[float, int]:
    """Median seconds of one client's GETs, and the body's size."""
    spent: list[float] = []
    size = 0
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {bearer}"}) as client:
        for _ in range(times):
            started = time.perf_counter()
            async with client.get(url) as response:
                body = await response.read()
                assert response.status == 200, (url, response.status)
            spent.append(time.perf_counter() - started)
            size = len(body)
    return statistics.median(spent), size


def serve_bare(port: int, snapshot_size: int, page_size: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--bare-server", str(port), str(snapshot_size), str(page_size)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def run(args: argparse.Namespace, folder: Path) -> bool:
    from meetings.core.migrate import upgrade
    from meetings.core.settings import DatabaseSettings

    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    database_url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    await asyncio.to_thread(upgrade, DatabaseSettings(url=database_url, echo=False))
    small, big = min(args.sites), max(args.sites)
    bearer, _warm, sessions = await prepare(database_url, sorted({small, big}))
    port = free_port()
    while (floor_port := free_port()) == port:
        pass
    base, floor_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{floor_port}"
    log = folder / "serve.log"
    server = serve_giaoban(folder, database_url, port, None, log)
    print(f"load average before: {load()}")
    bare: subprocess.Popen[bytes] | None = None
    try:
        await wait_ready(base, server, log)
        live = LIVE.format(id=sessions[big].meeting_id)
        board_small = BOARD.format(id=sessions[small].meeting_id)
        _spent, snapshot_size, _refused = await open_boards(base + live, 1, bearer, 1)
        _spent, page_size = await serial(base + board_small, bearer, 1)
        bare = serve_bare(floor_port, snapshot_size, page_size)
        await wait_ready(floor_base, bare, None)
        figures: dict[str, list[float]] = {}

        def note(name: str, value: float) -> None:
            figures.setdefault(name, []).append(value)
            print(f"  {name}: {value:.3f}", flush=True)

        for _ in range(args.repeat):
            spent, _size, refused = await open_boards(
                base + live, args.boards, bearer, args.opening
            )
            note("boards", spent)
            note("boards refused", refused)
            floor = await open_boards(floor_base + live, args.boards, bearer, args.opening)
            note("boards floor", floor[0])
            rate, p99 = wrk(base + board_small, bearer, args.seconds)
            note("page", rate)
            note("page p99", p99)
            rate, p99 = wrk(floor_base + board_small, bearer, args.seconds)
            note("page floor", rate)
            note("page floor p99", p99)
            note(
                "board serial",
                (await serial(base + BOARD.format(id=sessions[big].meeting_id), bearer))[0],
            )
            note(
                "session serial",
                (await serial(base + SESSION.format(id=sessions[big].meeting_id), bearer))[0],
            )
    finally:
        for process in (server, bare):
            if process:
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if server.returncode not in (0, -15, None):
            print(log.read_text(errors="replace")[-3000:])
    print(f"load average after: {load()}")
    return report(args, figures, small, big)


def report(args: argparse.Namespace, figures: dict[str, list[float]], small: int, big: int) -> bool:
    med = {k: statistics.median(v) for k, v in figures.items()}
    boards_ok = med["boards"] < BOARDS_TARGET_S
    pages_ok = med["board serial"] < PAGE_TARGET_S and med["session serial"] < PAGE_TARGET_S
    boards, floor = figures["boards"], figures["boards floor"]
    print(f"\n{args.boards} boards opening, {args.opening} at a time, on {big} sites:")
    print(f"  figure {spread(boards, ' s')}   floor {spread(floor, ' s', 3)} (median, min–max)")
    print(f"  refused and retried: {spread(figures['boards refused'], '', 0)}")
    print(
        f"  ratio floor/figure {med['boards floor'] / med['boards']:.3f}; "
        f"target < {BOARDS_TARGET_S:.0f} s: {'PASS' if boards_ok else 'MISS'}"
    )
    print(f"board page at {small} sites, wrk -t2 -c50 -d{args.seconds}s:")
    for name in ("page", "page floor"):
        rate, p99 = spread(figures[name], " req/s", 0), spread(figures[name + " p99"], " ms", 0)
        print(f"  {'figure' if name == 'page' else 'floor '} {rate}, p99 {p99}")
    print(f"  ratio {med['page'] / med['page floor']:.4f} (issue #17 target 0.05)")
    print(f"one client at {big} sites (median of 5 requests, then over the repetitions):")
    board, session = figures["board serial"], figures["session serial"]
    print(f"  board page {spread(board, ' s', 3)}, session page {spread(session, ' s', 3)}")
    print(f"  target < 0.3 s: {'PASS' if pages_ok else 'MISS'}")
    return boards_ok


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bare-server":
        run_bare_server(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[52, 5000])
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--opening", type=int, default=10, help="boards connecting at a time (default 10)"
    )
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ok = asyncio.run(run(args, Path(folder)))
    print(f"\nboards bench: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
