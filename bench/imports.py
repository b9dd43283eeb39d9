"""Imports under load: how a GET answers while a big import or an XLSX bomb is posted.

    .venv/bin/python bench/imports.py [--rows 10000] [--bomb-rows 1000000] [--repeats 3]
                                      [--database URL] [--server-log FILE]

Builds a fresh SQLite file (or uses `--database`, a PostgreSQL URL: migrated, and only
added to), an organiser with a bearer token and five clusters, starts a real
`giaoban serve` on loopback configured through GIAOBAN__ variables, then, `--repeats`
times each:
- quiet: `GET /api/v1/meetings` with the bearer token, one after another, nothing else
  running;
- alone: a `--rows`-row import with nothing else running (its duration);
- import: the same GETs while a `--rows`-row CSV (two contacts per site, new codes each
  time) is imported for real (`POST /api/v1/sites/import`), until its answer arrives;
- bomb: the same GETs while an XLSX of `--bomb-rows` empty rows without a `<dimension>`
  is posted to `/api/v1/sites/import?dry_run=1`, until its answer arrives.
Prints figures only (no targets): the p50 and p99 of the GETs in each phase (the median
over the repeats), the GETs that failed, the import's duration and answer, the bomb's
size, time to its answer and answer, and the server's peak memory (VmHWM, reset before
each request where the kernel allows it, else the largest RSS sampled every 10 ms).
The server takes the environment: past the default limits (20,000 rows, 10 MB), raise
them, e.g. `GIAOBAN__IMPORTS__MAX_ROWS=100000 GIAOBAN__IMPORTS__MAX_SIZE_MB=50`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from checkin import free_port, wait_ready  # the benches start and await a server alike

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the packages are beside it

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
CLUSTERS = 5
QUIET_GETS = 200
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GET_PATH = "/api/v1/meetings"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- the files ---------------------------------------------------------------------------


def sites_csv(count: int, prefix: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "code",
            "name",
            "province",
            "cluster",
            *("contact1_name", "contact1_email", "contact1_role"),
            *("contact2_name", "contact2_email", "contact2_role"),
        ]
    )
    for n in range(count):
        writer.writerow(
            [
                f"{prefix}-{n:06d}",
                f"Liên hiệp các tổ chức hữu nghị điểm cầu {n}",
                f"Tỉnh {n % 63}",
                f"CUM-{n % CLUSTERS + 1}",
                *(f"Nguyễn Văn {n}", f"chu-tich-{prefix}-{n}@example.org", "head"),
                *(f"Trần Thị {n}", f"ky-thuat-{prefix}-{n}@example.org", "technical"),
            ]
        )
    return out.getvalue().encode("utf-8")


def xlsx_bomb(rows: int) -> bytes:
    """A valid workbook whose one sheet has `rows` empty rows and no `<dimension>`."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    types = "http://schemas.openxmlformats.org/package/2006/content-types"
    office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    parts = {
        "[Content_Types].xml": f'{head}<Types xmlns="{types}">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{office}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{office}.worksheet+xml"/></Types>',
        "_rels/.rels": f'{head}<Relationships xmlns="{package}"><Relationship Id="rId1" '
        f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'{head}<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'{head}<Relationships xmlns="{package}">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>",
        "xl/worksheets/sheet1.xml": f'{head}<worksheet xmlns="{main}"><sheetData>'
        + "".join(f'<row r="{n}"/>' for n in range(1, rows + 1))
        + "</sheetData></worksheet>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


# --- the server --------------------------------------------------------------------------


async def prepare(database_url: str) -> str:
    """The schema, an organiser with a bearer token, and the clusters the files name."""
    from sqlalchemy import select
    from sqlmodel import col

    from meetings.accounts import accounts
    from meetings.accounts.models import Role, UserCreate
    from meetings.core.settings import DatabaseSettings
    from meetings.core.store import create_engine, session_maker
    from meetings.register import sites
    from meetings.register.models import Cluster, ClusterCreate

    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    maker = session_maker(engine)
    username = f"bench-{os.getpid()}"
    async with maker() as session, session.begin():
        await accounts.create_user(
            session,
            UserCreate(username=username, role=Role.organiser, password="bench-password-1234"),
        )
        bearer = await accounts.create_token(session, username=username)
        known = set((await session.scalars(select(col(Cluster.code)))).all())
        for code in range(1, CLUSTERS + 1):
            if f"CUM-{code}" not in known:
                await sites.create_cluster(
                    session, ClusterCreate(code=f"CUM-{code}", name=f"Cụm {code}")
                )
    await engine.dispose()
    return bearer


def serve(folder: Path, database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
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
    return subprocess.Popen(
        [sys.executable, "-m", "meetings.core.cli", "serve"],
        cwd=folder,  # no ./config.toml there: defaults and the environment only
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def memory_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak(pid: int) -> bool:
    """Set the process's VmHWM back to its current RSS (Linux, our own child)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- the measurements --------------------------------------------------------------------


@dataclass
class Phase:
    latencies_ms: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    #: The loaded request's status, seconds to its answer, and the server's peak MB.
    status: int = 0
    seconds: float = 0.0
    start_mb: float = float("nan")
    peak_mb: float = float("nan")
    message: str = ""


async def get_loop(
    client: aiohttp.ClientSession, base: str, headers: dict[str, str], phase: Phase, stop: object
) -> None:
    """GETs one after another until `stop` (an Event, or a count) says enough."""
    done = 0
    while True:
        if isinstance(stop, asyncio.Event) and stop.is_set():
            return
        if isinstance(stop, int) and done >= stop:
            return
        start = time.monotonic()
        try:
            async with client.get(base + GET_PATH, headers=headers) as response:
                await response.read()
                outcome = str(response.status)
        except aiohttp.ClientError as exc:
            outcome = type(exc).__name__
        phase.latencies_ms.append((time.monotonic() - start) * 1000)
        if outcome != "200":
            phase.failures[outcome] = phase.failures.get(outcome, 0) + 1
        done += 1


async def loaded(
    base: str,
    headers: dict[str, str],
    pid: int,
    path: str,
    body: bytes,
    content_type: str,
    *,
    gets: bool = True,
) -> Phase:
    """GETs (unless `gets` is false) for as long as one POST of `body` takes; the POST's
    status, time and the server's peak memory meanwhile."""
    phase = Phase()
    stop = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=3600)
    hwm = reset_peak(pid)
    sampled = phase.start_mb = memory_mb(pid, "VmRSS")

    async def sample() -> None:
        nonlocal sampled
        while not stop.is_set():
            sampled = max(sampled, memory_mb(pid, "VmRSS"))
            await asyncio.sleep(0.01)

    async with (
        aiohttp.ClientSession(timeout=timeout) as poster,
        aiohttp.ClientSession(timeout=timeout) as getter,
    ):
        sampler = asyncio.create_task(sample())
        loop = asyncio.create_task(get_loop(getter, base, headers, phase, stop if gets else 0))
        start = time.monotonic()
        async with poster.post(
            base + path, data=body, headers={**headers, "Content-Type": content_type}
        ) as response:
            text = await response.text()
            phase.status = response.status
        phase.seconds = time.monotonic() - start
        stop.set()
        await asyncio.gather(loop, sampler)
    phase.peak_mb = memory_mb(pid, "VmHWM") if hwm else sampled
    phase.message = text[:160].replace("\n", " ")
    return phase


async def quiet(base: str, headers: dict[str, str]) -> Phase:
    phase = Phase()
    async with aiohttp.ClientSession() as client:
        await get_loop(client, base, headers, phase, QUIET_GETS)
    return phase


def summary(name: str, phases: list[Phase]) -> None:
    p50 = statistics.median(percentile(p.latencies_ms, 0.50) for p in phases)
    p99 = statistics.median(percentile(p.latencies_ms, 0.99) for p in phases)
    worst = max(max(p.latencies_ms, default=float("nan")) for p in phases)
    gets = sum(len(p.latencies_ms) for p in phases)
    failed: dict[str, int] = {}
    for phase in phases:
        for outcome, count in phase.failures.items():
            failed[outcome] = failed.get(outcome, 0) + count
    print(
        f"GET {GET_PATH} {name:>7}: p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  "
        f"max {worst:8.1f} ms  ({gets} GETs, failed: {failed or 0})"
    )


def loaded_summary(name: str, phases: list[Phase]) -> None:
    seconds = statistics.median(p.seconds for p in phases)
    peak = statistics.median(p.peak_mb for p in phases)
    grew = statistics.median(p.peak_mb - p.start_mb for p in phases)
    statuses = sorted({p.status for p in phases})
    print(
        f"{name}: answered {statuses} in {seconds:.2f} s (median); "
        f"server peak {peak:.0f} MB, {grew:+.0f} MB over its RSS before"
    )
    print(f"    answer: {phases[-1].message}")


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="giaoban-bench-imports-") as tmp:
        folder = Path(tmp)
        database_url = args.database or f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
        from meetings.core.migrate import upgrade
        from meetings.core.settings import DatabaseSettings

        # Alembic runs its own event loop: not inside this one.
        await asyncio.to_thread(upgrade, DatabaseSettings(url=database_url, echo=False))
        bearer = await prepare(database_url)
        headers = {"Authorization": f"Bearer {bearer}"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = args.server_log or folder / "server.log"
        process = serve(folder, database_url, port, log)
        try:
            await wait_ready(base, process, log)
            bomb = xlsx_bomb(args.bomb_rows)
            print(
                f"database {database_url.split(':')[0]}; import of {args.rows} CSV rows; "
                f"bomb {len(bomb) / 1e6:.2f} MB ({args.bomb_rows} empty rows); "
                f"server idle {memory_mb(process.pid, 'VmRSS'):.0f} MB"
            )
            runs = await measure(base, headers, process.pid, args, bomb)
            summary("quiet", runs["quiet"])
            summary("import", runs["import"])
            summary("bomb", runs["bomb"])
            loaded_summary(f"import of {args.rows} rows, alone", runs["alone"])
            loaded_summary(f"import of {args.rows} rows, with GETs", runs["import"])
            loaded_summary("XLSX bomb (dry run)", runs["bomb"])
        finally:
            process.terminate()
            process.wait(timeout=30)


async def measure(
    base: str, headers: dict[str, str], pid: int, args: argparse.Namespace, bomb: bytes
) -> dict[str, list[Phase]]:
    """Each phase `--repeats` times, in turn; every import with codes of its own."""
    runs: dict[str, list[Phase]] = {"quiet": [], "alone": [], "import": [], "bomb": []}
    stamp = f"B{os.getpid() % 10000}"
    path = "/api/v1/sites/import"
    for repeat in range(args.repeats):
        runs["quiet"].append(await quiet(base, headers))
        alone = sites_csv(args.rows, f"{stamp}A{repeat}")
        runs["alone"].append(await loaded(base, headers, pid, path, alone, "text/csv", gets=False))
        content = sites_csv(args.rows, f"{stamp}R{repeat}")
        runs["import"].append(await loaded(base, headers, pid, path, content, "text/csv"))
        runs["bomb"].append(await loaded(base, headers, pid, f"{path}?dry_run=1", bomb, XLSX_TYPE))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--bomb-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--server-log", type=Path, default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
