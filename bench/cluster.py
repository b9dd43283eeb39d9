"""Two instances on PostgreSQL: check-ins spread across both, boards on both, a takeover.

    .venv/bin/python bench/cluster.py [--postgres URL] [--sites 5000] [--boards 100]
                                      [--connections 100] [--repeat 3]

Makes a scratch database beside the one `--postgres` names (default: the server at
127.0.0.1:5432; the scratch database `giaoban_cluster_bench` is dropped first and at the
end), migrates it, imports the register and makes a fresh session per measured burst
(bench/checkin_world.py), then starts two `giaoban serve` processes on it (A and B, the
scheduler enabled on both: one leads) and, `--repeat` times, interleaved:

- one instance: `--boards` live boards on A, every site checking in on A over
  `--connections` clients;
- two instances: half the boards on A and half on B, the sites checking in alternately
  on A and on B (half the clients each), at once.

Printed per repetition and as median (min–max): check-ins/second of each mode side by
side (on 2 cores a second instance adds no CPU: the ratio is information, not a target),
the request p99, and the board lag: per check-in, from its response until the last board
of either instance has it (target p99 < 1 s on every board); lost updates (a check-in
some board never received: target 0). Then the takeover: the leading instance (its
/metrics says `giaoban_scheduler_leader 1`) is killed with -9, and the time until the
other says it leads is printed (target < 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))  # checkin, beside this file
import checkin_world  # noqa: E402
from checkin import BOARD_TIMEOUT_S, GRACE_S, Burst, burst, load, percentile  # noqa: E402
from checkin_world import Session, free_port, prepare_sessions, serve_giaoban  # noqa: E402

SCRATCH = "giaoban_cluster_bench"
LAG_TARGET_S = 1.0
TAKEOVER_TARGET_S = 30.0


@dataclass
class Instance:
    base: str
    process: Any
    log: Path


@dataclass
class Round:
    """One mode's burst: the check-ins (one Burst per instance used) and the boards."""

    bursts: list[Burst]
    seen: list[dict[str, Any]]

    @property
    def rate(self) -> float:
        answered = sum(len(b.answered_at) for b in self.bursts)
        return answered / max(b.seconds for b in self.bursts)

    @property
    def p99_ms(self) -> float:
        return percentile([ms for b in self.bursts for ms in b.latencies_ms], 0.99)

    def lags(self) -> tuple[list[float], int]:
        """Per check-in, response → the last board of every instance (ms); and how many
        check-ins some board never received (lost updates)."""
        lags, lost = [], 0
        for b in self.bursts:
            for site, answered in b.answered_at.items():
                arrivals = [s["last_arrival"].get(str(site), float("nan")) for s in self.seen]
                if any(a != a for a in arrivals):  # NaN: some board lacks it
                    lost += 1
                else:
                    lags.append(max(0.0, max(arrivals) - answered) * 1000)
        return lags, lost

    @property
    def failed(self) -> int:
        return sum(sum(b.failures.values()) for b in self.bursts)


async def open_boards(url: str, count: int, bearer: str) -> asyncio.subprocess.Process:
    """bench/checkin_world.py's boards process on `url`, once every board has its snapshot."""
    watcher = await asyncio.create_subprocess_exec(
        *(sys.executable, checkin_world.__file__, "--watch", url, str(count), bearer, "10"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**26,
    )
    assert watcher.stdout is not None
    line = await asyncio.wait_for(watcher.stdout.readline(), BOARD_TIMEOUT_S)
    if line.strip() != b"ready":
        raise SystemExit(f"the boards did not open: {line!r}")
    return watcher


async def boards_seen(watcher: asyncio.subprocess.Process) -> dict[str, Any]:
    """What the boards process saw, once it has every check-in or after GRACE_S."""
    assert watcher.stdin is not None and watcher.stdout is not None
    reading = asyncio.ensure_future(watcher.stdout.readline())
    done, _pending = await asyncio.wait([reading], timeout=GRACE_S)
    if not done:
        watcher.stdin.write(b"stop\n")
        await watcher.stdin.drain()
    line = await reading
    await watcher.wait()
    return dict(json.loads(line))


async def one_round(
    instances: list[Instance], session: Session, bearer: str, args: argparse.Namespace
) -> Round:
    """Boards spread over `instances`, then the sites' check-ins spread over them too."""
    per = args.boards // len(instances)
    watchers = [
        await open_boards(f"{i.base}/api/v1/meetings/{session.meeting_id}/live", per, bearer)
        for i in instances
    ]
    try:
        sites = list(session.tokens.items())
        shares = [
            Session(session.meeting_id, dict(sites[n :: len(instances)]))
            for n in range(len(instances))
        ]
        bursts = await asyncio.gather(
            *(
                burst(i.base, share, args.connections // len(instances), i.process.pid)
                for i, share in zip(instances, shares, strict=True)
            )
        )
        seen = [await boards_seen(w) for w in watchers]
    finally:
        for watcher in watchers:
            if watcher.returncode is None:
                watcher.kill()
                await watcher.wait()
    return Round(list(bursts), seen)


async def leader_of(client: aiohttp.ClientSession, instances: list[Instance]) -> Instance | None:
    for instance in instances:
        if instance.process.poll() is not None:
            continue
        async with client.get(f"{instance.base}/metrics") as answer:
            if "\ngiaoban_scheduler_leader 1.0" in await answer.text():
                return instance
    return None


async def takeover(instances: list[Instance]) -> float:
    """Kill the leader with -9; seconds until another instance leads."""
    async with aiohttp.ClientSession() as client:
        deadline = time.monotonic() + 60
        while (leader := await leader_of(client, instances)) is None:
            if time.monotonic() > deadline:
                raise SystemExit("no instance leads the scheduler")
            await asyncio.sleep(0.1)
        leader.process.send_signal(signal.SIGKILL)
        leader.process.wait(timeout=30)
        killed = time.monotonic()
        while await leader_of(client, instances) is None:
            if time.monotonic() - killed > 120:
                return float("inf")
            await asyncio.sleep(0.1)
        return time.monotonic() - killed


def report(rounds: dict[str, list[Round]]) -> bool:
    ok = True
    print(f"\n{'':34}{'one instance':>22}{'two instances':>22}")

    def row(label: str, values: dict[str, list[float]], digits: int = 0) -> None:
        cells = [
            f"{statistics.median(v):.{digits}f} ({min(v):.{digits}f}–{max(v):.{digits}f})"
            for v in values.values()
        ]
        print(f"  {label:32}" + "".join(f"{c:>22}" for c in cells))

    row("check-ins/second", {m: [r.rate for r in rs] for m, rs in rounds.items()})
    row("request p99 (ms)", {m: [r.p99_ms for r in rs] for m, rs in rounds.items()})
    lag_p99 = {m: [percentile(r.lags()[0], 0.99) for r in rs] for m, rs in rounds.items()}
    row("board lag p99 (ms)", lag_p99)
    lost = {m: [float(r.lags()[1]) for r in rs] for m, rs in rounds.items()}
    row("lost updates", lost)
    failed = {m: [float(r.failed) for r in rs] for m, rs in rounds.items()}
    row("failed check-ins", failed)
    one, two = (statistics.median(r.rate for r in rs) for rs in rounds.values())
    print(f"  {'two / one instance':32}{two / one:>44.2f}   (information: 2 cores)")
    for mode in rounds:
        good = (
            statistics.median(lag_p99[mode]) < LAG_TARGET_S * 1000
            and max(lost[mode]) == 0
            and max(failed[mode]) == 0
        )
        print(f"  {mode}: board lag p99 < 1 s, 0 lost, 0 failed: {'PASS' if good else 'MISS'}")
        ok = ok and good
    return ok


async def run(args: argparse.Namespace, folder: Path) -> bool:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from meetings.core.migrate import upgrade
    from meetings.core.settings import DatabaseSettings
    from meetings.core.store import create_engine

    admin = create_engine(DatabaseSettings(url=args.postgres, echo=False))
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{SCRATCH}"'))
    url = make_url(args.postgres).set(database=SCRATCH).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, DatabaseSettings(url=url, echo=False))
        started = time.perf_counter()
        bearer, warm, sessions = await prepare_sessions(url, [args.sites], repeat=2 * args.repeat)
        print(f"prepared {args.sites} sites and sessions in {time.perf_counter() - started:.1f} s")
        return await measure(args, folder, url, bearer, warm, sessions[args.sites])
    finally:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)'))
        await admin.dispose()


async def measure(
    args: argparse.Namespace,
    folder: Path,
    url: str,
    bearer: str,
    warm: Session,
    sessions: list[Session],
) -> bool:
    instances = []
    for name in ("a", "b"):
        (folder / name).mkdir()
        port, log = free_port(), folder / f"{name}.log"
        extra = {"GIAOBAN__SCHEDULER__ENABLED": "true"}
        process = serve_giaoban(folder / name, url, port, None, log, extra)
        instances.append(Instance(f"http://127.0.0.1:{port}", process, log))
    try:
        for instance in instances:
            await checkin_world.wait_ready(instance.base, instance.process, instance.log)
        await burst(instances[0].base, warm, 10, instances[0].process.pid)
        print(f"load average before: {load()}")
        rounds: dict[str, list[Round]] = {"one instance": [], "two instances": []}
        fresh = iter(sessions)
        for n in range(args.repeat):
            modes = [("one instance", instances[:1]), ("two instances", instances)]
            for mode, used in modes if n % 2 == 0 else reversed(modes):
                rounds[mode].append(await one_round(used, next(fresh), bearer, args))
                r = rounds[mode][-1]
                lags, lost = r.lags()
                print(
                    f"  #{n + 1} {mode}: {r.rate:.0f}/s p99 {r.p99_ms:.0f} ms, board lag p99 "
                    f"{percentile(lags, 0.99):.0f} ms, {lost} lost, {r.failed} failed"
                )
        print(f"load average after:  {load()}")
        ok = report(rounds)
        seconds = await takeover(instances)
        took = seconds < TAKEOVER_TARGET_S
        print(
            f"  scheduler takeover after kill -9 of the leader: {seconds:.1f} s   target < 30 s: "
            f"{'PASS' if took else 'MISS'}"
        )
        return ok and took
    finally:
        for instance in instances:
            if instance.process.poll() is None:
                instance.process.terminate()
                instance.process.wait(timeout=60)
            checkin_world.print_server_errors(instance.log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="a database of the server to use (the scratch database is made beside it)",
    )
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ok = asyncio.run(run(args, Path(folder)))
    print(f"\ncluster bench: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
