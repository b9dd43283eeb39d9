"""Big sessions without a cliff: what a 10,000-site session's pages and files take to serve.

    .venv/bin/python bench/scale.py [--sites 1000 10000] [--repeat 3] [--only attendance.xlsx]
                                    [--cold]

Builds a fresh SQLite file (bench/checkin.py's register and sessions: the register
imported as a file, five clusters, one session per size inviting that many sites; then
four sites in five checked in with delegates and officials, the rest never seen, so every
row and the absent sheet are full), starts a real
`giaoban serve` on loopback configured through GIAOBAN__ variables, and measures, one
client and one request at a time, each entry of `MEASUREMENTS` (a route of the app, by
its name) at every size, `--repeat` times, interleaved (every size and entry in turn,
then again), after one untimed warm-up request each.

Printed per entry and size: the median time of the whole request (until the last byte
is read) and its spread (min–max), the server process's CPU seconds for it (median; from
/proc: what the request cost the server, whatever else ran), the body's size; then the
linearity ratio (time at the largest size / time at the smallest, against the ratio of
the sizes: target ≤ that ratio, i.e. no worse than linear; the same ratio of server CPU
beside it) and the target at the largest size (`target_s`: < 2 s for the exports).
The load average before and after is printed: the machine's 2 cores may be shared, and a
wall-clock figure beside a high load is no measurement (the CPU seconds move less).

`--cold`: before every timed request, one site of that session checks in again (another
delegate count) through a connection of the bench's own, as another process would: the
first view after a change, which is what a live session mostly sees, instead of an answer
kept since the last request.

Another page or file is one more `Measurement` in `MEASUREMENTS`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the packages are beside it

import checkin  # noqa: E402
from checkin import free_port, serve_giaoban, wait_ready  # noqa: E402

#: One in this many sites never checks in (declines, or is not seen at all).
ABSENT_EVERY = 5


@dataclass(frozen=True)
class Measurement:
    """One request to time: a route of the app by its name, with its path's values."""

    label: str
    route: str
    #: The query string, if any.
    query: str = ""
    #: The time the request may take at the largest size, in seconds.
    target_s: float = 2.0
    #: The minutes' format, in their path.
    fmt: str = ""


#: Every page and export issue #17 names, with its target at 10,000 sites.
MEASUREMENTS: tuple[Measurement, ...] = (
    Measurement("session page", "session", target_s=0.3),
    Measurement("board page", "session_board", target_s=0.3),
    Measurement("participations", "api_list_participations", target_s=1.0),
    Measurement("attendance.csv", "api_attendance_csv"),
    Measurement("attendance.xlsx", "api_attendance_xlsx"),
    Measurement("minutes.html", "api_download_minutes", target_s=1.0, fmt="html"),
    Measurement("minutes.docx", "api_download_minutes", target_s=1.0, fmt="docx"),
    Measurement("minutes.pdf", "api_download_minutes", target_s=5.0, fmt="pdf"),
)


def route_path(name: str) -> str:
    """The path of the app's operation or page `name` (paths live in the routes only)."""
    from meetings.core.app import PARTS

    for part in PARTS:
        paths = {op.name: op.path for op in part.api} | {p.name: p.path for p in part.pages}
        if name in paths:
            return paths[name].replace(r"{id:\d+}", "{id}")
    raise SystemExit(f"no route named {name}")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def prepare(
    database_url: str, sizes: list[int]
) -> tuple[str, dict[int, int], dict[int, list[int]]]:
    """bench/checkin.py's register and sessions (an organiser's bearer token to read
    with), then each session's attendance: four sites in five checked in."""
    from meetings.attendance.changes import Change
    from meetings.attendance.models import Author, EventKind
    from meetings.attendance.tracking import record_many
    from meetings.core.settings import AttendanceSettings, DatabaseSettings
    from meetings.core.store import create_engine, session_maker

    bearer, _warm, sessions = await checkin.prepare(database_url, sizes)
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    maker = session_maker(engine)
    config = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)
    at = datetime.now(UTC).replace(microsecond=0)  # before the start, within the window
    for made in sessions.values():
        check_ins = [
            (
                site_id,
                Change(
                    kind=EventKind.attendance,
                    status="connected",
                    at=at - timedelta(minutes=n % 30),
                    author_kind=Author.operator,
                    author="bench",
                    delegates_present=n % 40 + 1,
                    officials_present=[f"Ông Trần Văn {n}"],
                ),
            )
            for n, site_id in enumerate(made.tokens)
            if n % ABSENT_EVERY
        ]
        async with maker() as session, session.begin():
            await record_many(session, made.meeting_id, check_ins, config)
    await engine.dispose()
    invited = {made.meeting_id: list(made.tokens) for made in sessions.values()}
    return bearer, {size: made.meeting_id for size, made in sessions.items()}, invited


class Toucher:
    """One site of a session checking in again, written by the bench's own connection."""

    def __init__(self, database_url: str, invited: dict[int, list[int]]) -> None:
        from meetings.core.settings import DatabaseSettings
        from meetings.core.store import create_engine, session_maker

        self.engine = create_engine(DatabaseSettings(url=database_url, echo=False))
        self.maker = session_maker(self.engine)
        self.invited = invited
        self.count = 0

    async def touch(self, meeting_id: int) -> None:
        from meetings.attendance.changes import Change
        from meetings.attendance.models import Author, EventKind
        from meetings.attendance.tracking import record_many
        from meetings.core.settings import AttendanceSettings

        self.count += 1
        sites = self.invited[meeting_id]
        change = Change(
            kind=EventKind.attendance,
            status="connected",
            at=datetime.now(UTC).replace(microsecond=0),
            author_kind=Author.operator,
            author="bench",
            # Never what `prepare` gave (1–40): a check-in that changes nothing writes
            # nothing, and the view after it would be no first view after a change.
            delegates_present=41 + self.count % 40,
        )
        config = AttendanceSettings(
            max_delegates_per_site=500, late_after_minutes=15, window_hours=24
        )
        async with self.maker() as session, session.begin():
            (done,) = await record_many(
                session, meeting_id, [(sites[self.count % len(sites)], change)], config
            )
        if isinstance(done, Exception):  # record_many refuses an item without raising
            raise SystemExit(f"--cold: the bench's check-in was refused: {done}")


def cpu_seconds(pid: int) -> float:
    """The server's own CPU time so far (user + system): what a request cost it, whatever
    else the shared machine was doing meanwhile."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Figure:
    seconds: list[float]
    cpu: list[float]
    size_bytes: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def spread(self) -> str:
        return f"{min(self.seconds):.3f}–{max(self.seconds):.3f}"


async def fetch(client: aiohttp.ClientSession, url: str, bearer: str) -> tuple[float, int]:
    start = time.perf_counter()
    async with client.get(url, headers={"Authorization": f"Bearer {bearer}"}) as response:
        body = await response.read()
        if response.status != 200:
            raise SystemExit(f"{url}: {response.status} {body[:300]!r}")
    return time.perf_counter() - start, len(body)


async def measure(
    base: str,
    bearer: str,
    meetings: dict[int, int],
    repeat: int,
    chosen: list[Measurement],
    pid: int,
    toucher: Toucher | None = None,
) -> dict[tuple[str, int], Figure]:
    urls: dict[tuple[str, int], str] = {
        (m.label, size): base + route_path(m.route).format(id=meeting_id, fmt=m.fmt) + m.query
        for m in chosen
        for size, meeting_id in meetings.items()
    }
    figures = {key: Figure([], []) for key in urls}
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as client:
        for url in urls.values():  # warm-up: templates, imports, caches
            await fetch(client, url, bearer)
        for _ in range(repeat):
            for key, url in urls.items():
                if toucher is not None:
                    await toucher.touch(meetings[key[1]])
                cpu = cpu_seconds(pid)
                seconds, size_bytes = await fetch(client, url, bearer)
                figures[key].cpu.append(cpu_seconds(pid) - cpu)
                figures[key].seconds.append(seconds)
                figures[key].size_bytes = size_bytes
    return figures


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def show(
    chosen: list[Measurement], sizes: list[int], figures: dict[tuple[str, int], Figure]
) -> bool:
    small, large = min(sizes), max(sizes)
    scale = large / small
    ok = True
    for m in chosen:
        print(f"\n{m.label}")
        for size in sizes:
            figure = figures[(m.label, size)]
            print(
                f"  {size:>6} sites {figure.median:9.3f} s median"
                f"   ({figure.spread()} s; server CPU {statistics.median(figure.cpu):.3f} s;"
                f" {figure.size_bytes / 1024:.0f} KiB)"
            )
        at_large = figures[(m.label, large)].median
        ratio = at_large / figures[(m.label, small)].median
        cpu_ratio = statistics.median(figures[(m.label, large)].cpu) / max(
            statistics.median(figures[(m.label, small)].cpu), 0.001
        )
        linear = ratio <= scale
        fast = at_large < m.target_s
        ok = ok and linear and fast
        print(
            f"  {'time ×' + f'{scale:g} sites':<18} {ratio:9.2f} ×"
            f"   target ≤ {scale:g} × (linear): {verdict(linear)}"
            f"   (server CPU: {cpu_ratio:.2f} ×)"
        )
        print(
            f"  {f'at {large} sites':<18} {at_large:9.3f} s"
            f"   target < {m.target_s:g} s: {verdict(fast)}"
        )
    return ok


async def run(args: argparse.Namespace, folder: Path) -> bool:
    from meetings.core.migrate import upgrade
    from meetings.core.settings import DatabaseSettings

    chosen = [m for m in MEASUREMENTS if not args.only or m.label in args.only]
    database_url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    await asyncio.to_thread(upgrade, DatabaseSettings(url=database_url, echo=False))
    started = time.perf_counter()
    bearer, meetings, invited = await prepare(database_url, args.sites)
    toucher = Toucher(database_url, invited) if args.cold else None
    print(
        f"prepared {max(args.sites)} sites and {len(meetings)} sessions in "
        f"{time.perf_counter() - started:.1f} s"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = folder / "serve.log"
    server = serve_giaoban(folder, database_url, port, None, log)
    try:
        await wait_ready(base, server, log)
        print(f"load average before: {load()}")
        figures = await measure(base, bearer, meetings, args.repeat, chosen, server.pid, toucher)
        print(f"load average after:  {load()}")
    except SystemExit:
        print("".join(log.read_text(errors="replace").splitlines(True)[-40:]), file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(timeout=60)
        if toucher is not None:
            await toucher.engine.dispose()
    return show(chosen, sorted(args.sites), figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="the labels of the entries to measure")
    parser.add_argument(
        "--cold", action="store_true", help="one site checks in again before every request"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ok = asyncio.run(run(args, Path(folder)))
    print(f"\nscale bench: {verdict(ok)}")


if __name__ == "__main__":
    main()
