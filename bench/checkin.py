"""Check-in burst: sites checking in at once over HTTP while live boards are connected.

    .venv/bin/python bench/checkin.py [--sites 52 5000] [--boards 100] [--connections 100]
                                      [--repeat 3] [--opening 10] [--server-log FILE]
                                      [--profile FILE] [--py-spy FILE]

Builds a fresh SQLite file (register imported as a file, `--repeat` sessions per size each
inviting that many sites, every site's link token), starts a real `giaoban serve` and a
bare aiohttp server (parse the JSON, answer JSON: the floor) on loopback, each its own
process, and for each size, `--repeat` times:
- opens `--boards` live boards (`GET /api/v1/meetings/{id}/live`, Server-Sent Events) of
  a fresh session in a separate process, `--opening` at a time (a refused one retries
  after 1 s, as EventSource does), and waits for every snapshot;
- with those boards connected, floor and figure interleaved (floor first on odd
  repetitions, figure first on even ones): every site's check-in (`POST
  /api/v1/site/{token}/meetings/{id}/check-in` with `{"delegates_present": N}`) sent by
  `--connections` clients, each sending its next one when answered (as `wrk -c`), to the
  bare server, and to giaoban;
- records check-ins/second, p50/p99 request latency (from sending to the answer, on its
  connection), the server's CPU time per check-in, and the board lag: for each check-in,
  the time from its response (the change is committed by then) until the last board has
  it, and from the last response until every board is current.
Printed per repetition, then the median and spread (min–max) of each figure, the ratio
to the floor (of the same repetition), and the load average before and after: the 2
cores may be shared, and a figure beside a high load is a ratio, not a measurement.
Targets: check-ins/second ≥ 30 % of the floor's, request p99 < 1 s and every board
current within 1 s at p99 (medians); a failed check-in or one some board never received,
in any repetition, is a miss too.
`--profile FILE` runs the server under cProfile and prints its functions by own time;
`--py-spy FILE` samples it with py-spy (if installed) during the measured bursts, as
collapsed stacks (`py-spy record --format raw`): wall time, not only the Python in it.
The register, the servers and the boards' process are in bench/checkin_world.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pstats
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))  # checkin_world, beside this file

import checkin_world  # noqa: E402
from checkin_world import (  # noqa: E402  (re-exported: bench/boards.py and scale.py)
    CHECK_IN,
    Session,
    cpu_seconds,
    free_port,
    prepare,
    prepare_sessions,
    print_server_errors,
    serve_bare,
    serve_giaoban,
    sse_events,
    start_sampler,
    wait_ready,
)

__all__ = ["free_port", "prepare", "serve_giaoban", "sse_events", "wait_ready"]

RATE_TARGET = 0.30
LAG_TARGET_S = 1.0
LATENCY_TARGET_S = 1.0
BOARD_TIMEOUT_S = 300.0
#: How long after the last response the boards may take before they report what they have.
GRACE_S = 30.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


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
    #: the server process's CPU seconds (user + system) during the burst.
    cpu_seconds: float

    @property
    def rate(self) -> float:
        """Successful check-ins per second."""
        return len(self.answered_at) / self.seconds

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99)


async def burst(base: str, session: Session, connections: int, pid: int) -> Burst:
    """Every site of the session checks in, over `connections` clients that each send
    their next check-in when the last is answered (a closed loop, as `wrk -c`): the
    latency is the server's answer time, not a wait in our own queue."""
    latencies: list[float] = []
    answered: dict[int, float] = {}
    failures: dict[str, int] = {}
    todo = iter(session.tokens.items())
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def worker() -> None:
            for site_id, token in todo:
                url = base + CHECK_IN.format(token=token, id=session.meeting_id)
                start = time.monotonic()
                try:
                    body = {"delegates_present": site_id % 40 + 1}
                    async with client.post(url, json=body) as response:
                        await response.read()
                        outcome = str(response.status)
                except aiohttp.ClientError as exc:
                    outcome = type(exc).__name__
                end = time.monotonic()
                latencies.append((end - start) * 1000)
                if outcome == "200":
                    answered[site_id] = end
                else:
                    failures[outcome] = failures.get(outcome, 0) + 1

        cpu, start = cpu_seconds(pid), time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        seconds, cpu = time.monotonic() - start, cpu_seconds(pid) - cpu
    return Burst(len(session.tokens), seconds, latencies, answered, failures, cpu)


@dataclass
class Servers:
    base: str
    pid: int
    floor_base: str
    floor_pid: int


@dataclass
class Repetition:
    figure: Burst
    floor: Burst
    #: what the boards process saw (watch_boards' JSON line).
    seen: dict[str, Any]
    boards: int

    @property
    def ratio(self) -> float:
        return self.figure.rate / self.floor.rate

    def lags_ms(self) -> tuple[list[float], int]:
        """Per check-in, response → last board (ms); and how many some board never got."""
        lags: list[float] = []
        missing = 0
        for site, answered in self.figure.answered_at.items() if self.boards else ():
            arrival = self.seen["last_arrival"].get(str(site), float("nan"))
            if arrival != arrival:  # NaN: a board lacks it
                missing += 1
            else:
                lags.append(max(0.0, arrival - answered) * 1000)
        return lags, missing

    @property
    def lag_p99_ms(self) -> float:
        lags, _missing = self.lags_ms()
        return percentile(lags, 0.99) if lags else (0.0 if not self.boards else float("inf"))

    @property
    def every_board_ms(self) -> float:
        arrivals = [v for v in self.seen["last_arrival"].values() if v == v]
        last = max(self.figure.answered_at.values(), default=0.0)
        return max(0.0, max(arrivals, default=0.0) - last) * 1000


async def measured(
    servers: Servers, session: Session, bearer: str, args: argparse.Namespace, figure_first: bool
) -> Repetition:
    """Boards open on `session`, then floor and figure with the boards connected."""

    async def both() -> tuple[Burst, Burst]:
        runs = [
            (servers.base, servers.pid),
            (servers.floor_base, servers.floor_pid),
        ]
        if not figure_first:
            runs.reverse()
        done = {b: await burst(b, session, args.connections, pid) for b, pid in runs}
        return done[servers.base], done[servers.floor_base]

    if args.boards == 0:  # the check-ins alone (to tell their cost from the boards')
        figure, floor = await both()
        none = {"last_arrival": {}, "complete_boards": 0, "opened_in": 0.0, "refused": {}}
        return Repetition(figure, floor, none, 0)
    live = f"{servers.base}/api/v1/meetings/{session.meeting_id}/live"
    watcher = await asyncio.create_subprocess_exec(
        *(
            sys.executable,
            checkin_world.__file__,
            "--watch",
            live,
            str(args.boards),
            bearer,
            str(args.opening),
        ),
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
        figure, floor = await both()
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
    return Repetition(figure, floor, json.loads(boards_line), args.boards)


# --- the report ---------------------------------------------------------------------------


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def spread(values: list[float], digits: int = 0) -> str:
    """Median (min–max)."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:9.{digits}f}   ({low:.{digits}f}–{high:.{digits}f})"


def report_repetition(n: int, rep: Repetition) -> None:
    figure, floor = rep.figure, rep.floor
    lags, missing = rep.lags_ms()
    failed = (
        f", {sum(figure.failures.values())} failed {figure.failures}" if figure.failures else ""
    )
    unseen = f", {missing} never on some board" if missing else ""
    print(
        f"  #{n}: {figure.rate:.0f}/s p99 {figure.p99_ms:.0f} ms"
        f" cpu {figure.cpu_seconds / figure.count * 1000:.2f} ms/check-in;"
        f" floor {floor.rate:.0f}/s p99 {floor.p99_ms:.0f} ms; ratio {rep.ratio:.2f};"
        f" lag p50/p99 {statistics.median(lags) if lags else float('nan'):.0f}"
        f"/{rep.lag_p99_ms:.0f} ms; boards opened in {rep.seen['opened_in']:.1f} s,"
        f" {rep.seen['complete_boards']}/{rep.boards} complete{failed}{unseen}"
    )


def report_size(size: int, reps: list[Repetition]) -> bool:
    """The medians over the repetitions, judged against the targets."""
    boards = reps[0].boards
    print(f"\n{size} sites checking in at once, {boards} boards open, {len(reps)} repetitions")
    for n, rep in enumerate(reps, 1):
        report_repetition(n, rep)
    rows = [
        ("check-ins/second", [r.figure.rate for r in reps], 0),
        ("request latency p50 (ms)", [statistics.median(r.figure.latencies_ms) for r in reps], 1),
        ("request latency p99 (ms)", [r.figure.p99_ms for r in reps], 1),
        (
            "server CPU per check-in (ms)",
            [r.figure.cpu_seconds / r.figure.count * 1e3 for r in reps],
            2,
        ),
        ("floor: bare aiohttp check-ins/second", [r.floor.rate for r in reps], 0),
        ("floor: request latency p99 (ms)", [r.floor.p99_ms for r in reps], 1),
        (
            "floor: server CPU per check-in (ms)",
            [r.floor.cpu_seconds / r.floor.count * 1e3 for r in reps],
            2,
        ),
        ("rate / floor", [r.ratio for r in reps], 2),
        ("board lag per check-in p99 (ms)", [r.lag_p99_ms for r in reps], 0),
        ("last response → every board (ms)", [r.every_board_ms for r in reps], 0),
    ]
    print(f"  {'median (min–max)':<40}")
    for label, values, digits in rows:
        print(f"  {label:<40}{spread(values, digits)}")
    ratio = statistics.median(r.ratio for r in reps)
    p99 = statistics.median(r.figure.p99_ms for r in reps)
    lag = statistics.median(r.lag_p99_ms for r in reps)
    clean = all(not r.figure.failures and not r.lags_ms()[1] for r in reps)
    ok = ratio >= RATE_TARGET and p99 < LATENCY_TARGET_S * 1000 and lag <= LAG_TARGET_S * 1000
    print(
        f"  targets: ratio ≥ {RATE_TARGET:.2f}, p99 < {LATENCY_TARGET_S * 1000:.0f} ms,"
        f" board lag p99 ≤ {LAG_TARGET_S * 1000:.0f} ms, nothing failed or unseen"
    )
    print(f"  {'result':<40} {'PASS' if ok and clean else 'MISS'}")
    return ok and clean


def print_profile(path: Path, limit: int = 30) -> None:
    print(f"\nserver profile ({path}), by own time:")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(limit)


async def run(args: argparse.Namespace, folder: Path) -> bool:
    from meetings.core.migrate import upgrade
    from meetings.core.settings import DatabaseSettings

    database_url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    await asyncio.to_thread(upgrade, DatabaseSettings(url=database_url, echo=False))
    started = time.perf_counter()
    bearer, warm, sessions = await prepare_sessions(database_url, args.sites, repeat=args.repeat)
    print(
        f"prepared {max(args.sites)} sites, tokens and sessions in "
        f"{time.perf_counter() - started:.1f} s"
    )
    port, floor_port = free_port(), free_port()
    log = args.server_log or folder / "serve.log"
    server = serve_giaoban(folder, database_url, port, args.profile, log)
    bare = serve_bare(floor_port)
    servers = Servers(
        f"http://127.0.0.1:{port}", server.pid, f"http://127.0.0.1:{floor_port}", bare.pid
    )
    sampler = None
    ok = True
    try:
        await wait_ready(servers.base, server, log)
        await wait_ready(servers.floor_base, bare, None)
        for base, pid in ((servers.base, server.pid), (servers.floor_base, bare.pid)):
            await burst(base, warm, args.connections, pid)
        sampler = start_sampler(args.py_spy, server.pid)
        print(f"load average before: {load()}")
        for size in args.sites:
            reps = [
                await measured(servers, session, bearer, args, figure_first=n % 2 == 0)
                for n, session in enumerate(sessions[size])
            ]
            ok = report_size(size, reps) and ok
        print(f"load average after: {load()}")
    finally:
        if sampler is not None:
            sampler.send_signal(signal.SIGINT)
            sampler.wait(timeout=60)
        for process in (server, bare):
            process.terminate()
            process.wait(timeout=60)
        print_server_errors(log)
    if args.profile:
        print_profile(args.profile)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[52, 5000])
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument(
        "--opening", type=int, default=10, help="boards connecting at a time (default 10)"
    )
    parser.add_argument("--profile", type=Path, help="profile the server into this file")
    parser.add_argument("--py-spy", type=Path, help="sample the server with py-spy into this file")
    parser.add_argument("--server-log", type=Path, help="keep the server's log in this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ok = asyncio.run(run(args, Path(folder)))
    print(f"\ncheck-in bench: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
