"""The minutes download a user waits for: HTML, Word, PDF and Markdown through HTTP.

    .venv/bin/python bench/minutes.py [--sites 52 10000] [--repeat 3]

Builds a fresh SQLite file with bench/scale.py's register and sessions (one session per
size inviting that many sites, four in five checked in with delegates and officials),
gives each session a record (60 contributions, 20 action items), starts a real
`giaoban serve` and, beside it, the floor: a bare aiohttp app in a process of its own
whose one handler sends the same bytes (the very body of each download, fetched once from
the real server, with its content type).

Each format of each session's draft minutes (`/api/v1/meetings/{id}/minutes.{fmt}`, as
the minutes page links it; the draft is rebuilt from the database at every download, as
a user gets it) and its floor are fetched `--repeat` times, interleaved (the download,
then its floor, then the next), after one untimed warm-up each; one client, one request
at a time. Printed per format and size: the median time and spread (min–max) of the
download and of its floor, the server's CPU seconds for it (from /proc), the body's size,
and the target at the largest size (HTML and DOCX < 1 s, PDF < 5 s: issue #17) with
PASS/MISS; then the time per site between the sizes. The load average before and after
is printed: the machine's 2 cores may be shared (the CPU seconds move less than the time).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the packages are beside it

import scale  # noqa: E402
from checkin import free_port, serve_giaoban, wait_ready  # noqa: E402

#: The formats, with the target at the largest size in seconds (Markdown has none).
FORMATS: dict[str, float | None] = {"html": 1.0, "docx": 1.0, "pdf": 5.0, "md": None}
CONTRIBUTIONS, ACTIONS = 60, 20
FLOOR_APP = """
import sys
from pathlib import Path
from aiohttp import web
bodies = {}
for spec in sys.argv[2:]:
    key, content_type, path = spec.split("|", 2)
    bodies[key] = (Path(path).read_bytes(), content_type)
async def handler(request):
    body, content_type = bodies[request.match_info["key"]]
    return web.Response(body=body, headers={"Content-Type": content_type})
app = web.Application()
async def healthz(request):
    return web.Response(text="ok")
app.router.add_get("/healthz", healthz)
app.router.add_get("/{key}", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


async def add_record(database_url: str, meetings: dict[int, int]) -> None:
    """Each session's record: contributions of its first sites, action items."""
    from agendas.record import record
    from agendas.record.models import ActionItemIn, ContributionIn, ContributionKind
    from meetings.core.settings import DatabaseSettings
    from meetings.core.store import create_engine, session_maker
    from meetings.planning.lifecycle import get_meeting_row
    from meetings.planning.models import Participation

    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    maker = session_maker(engine)
    for meeting_id in meetings.values():
        async with maker() as session, session.begin():
            meeting = await get_meeting_row(session, meeting_id)
            found = await session.execute(
                Participation.__table__.select()  # type: ignore[attr-defined]
                .where(Participation.__table__.c.meeting_id == meeting_id)  # type: ignore[attr-defined]
                .limit(CONTRIBUTIONS)
            )
            site_ids = [row.site_id for row in found]
            for n in range(CONTRIBUTIONS):
                said = ContributionIn(
                    site_id=site_ids[n % len(site_ids)],
                    speaker=f"Đồng chí Nguyễn Văn {n}",
                    speaker_title="Chủ tịch Liên hiệp",
                    kind=ContributionKind.recommendation
                    if n % 5 == 0
                    else ContributionKind.opinion,
                    text=f"Ý kiến số {n}: đề nghị tăng cường phối hợp, báo cáo kết quả quý. " * 3,
                )
                await record.add_contribution(session, meeting_id, said, source="bench", author="b")
            for n in range(ACTIONS):
                task = ActionItemIn(
                    text=f"Nhiệm vụ số {n}: tổng hợp báo cáo và gửi Văn phòng Liên hiệp.",
                    owner="Văn phòng Liên hiệp",
                    due_date=(meeting.starts_at + timedelta(days=14 + n)).date(),
                )
                await record.add_action(session, meeting_id, task, by="bench")
    await engine.dispose()


async def fetch(client: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> bytes:
    async with client.get(url, headers=headers) as response:
        body = await response.read()
        if response.status != 200:
            raise SystemExit(f"{url}: {response.status} {body[:300]!r}")
    return body


async def measure(
    urls: dict[tuple[str, int], tuple[str, str]], bearer: str, repeat: int, pid: int
) -> dict[tuple[str, int], dict[str, list[float]]]:
    """Every download and its floor in turn, `repeat` times: seconds and server CPU."""
    headers = {"Authorization": f"Bearer {bearer}"}
    figures: dict[tuple[str, int], dict[str, list[float]]] = {
        key: {"real": [], "floor": [], "cpu": []} for key in urls
    }
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as client:
        for _ in range(repeat):
            for key, (real, floor) in urls.items():
                cpu = scale.cpu_seconds(pid)
                start = time.perf_counter()
                await fetch(client, real, headers)
                figures[key]["real"].append(time.perf_counter() - start)
                figures[key]["cpu"].append(scale.cpu_seconds(pid) - cpu)
                start = time.perf_counter()
                await fetch(client, floor, {})
                figures[key]["floor"].append(time.perf_counter() - start)
    return figures


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):8.3f} s ({min(values):.3f}–{max(values):.3f})"


def show(
    figures: dict[tuple[str, int], dict[str, list[float]]], sizes: list[int], bytes_: dict
) -> bool:
    ok = True
    small, large = min(sizes), max(sizes)
    for fmt, target in FORMATS.items():
        print(f"\nminutes.{fmt}")
        for size in sizes:
            f = figures[(fmt, size)]
            print(
                f"  {size:>6} sites  download {spread(f['real'])}   floor {spread(f['floor'])}"
                f"   server CPU {statistics.median(f['cpu']):.3f} s"
                f"   {bytes_[(fmt, size)] / 1024:.0f} KiB"
            )
        at_large = statistics.median(figures[(fmt, large)]["real"])
        at_small = statistics.median(figures[(fmt, small)]["real"])
        per_site = (at_large - at_small) / max(large - small, 1) * 1000
        line = f"  {per_site:.3f} ms per added site"
        if target is not None:
            met = at_large < target
            ok = ok and met
            line += f"; at {large} sites {at_large:.3f} s, target < {target:g} s: "
            line += "PASS" if met else "MISS"
        print(line)
    return ok


async def run(args: argparse.Namespace, folder: Path) -> bool:
    from meetings.core.migrate import upgrade
    from meetings.core.settings import DatabaseSettings

    database_url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    await asyncio.to_thread(upgrade, DatabaseSettings(url=database_url, echo=False))
    bearer, meetings, _invited = await scale.prepare(database_url, args.sites)
    await add_record(database_url, meetings)
    port, floor_port = free_port(), free_port()
    base, floor_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{floor_port}"
    log = folder / "serve.log"
    server = serve_giaoban(folder, database_url, port, None, log)
    floor = None
    try:
        await wait_ready(base, server, log)
        path = scale.route_path("api_download_minutes")
        real = {
            (fmt, size): base + path.format(id=meeting_id, fmt=fmt)
            for fmt in FORMATS
            for size, meeting_id in meetings.items()
        }
        specs, sizes_of = [], {}
        async with aiohttp.ClientSession() as client:
            for n, (key, url) in enumerate(real.items()):  # the warm-up, and the floor's bytes
                async with client.get(url, headers={"Authorization": f"Bearer {bearer}"}) as got:
                    body, content_type = await got.read(), got.headers["Content-Type"]
                (folder / f"body{n}").write_bytes(body)
                sizes_of[key] = len(body)
                specs.append(f"b{n}|{content_type}|{folder / f'body{n}'}")
        floor = subprocess.Popen([sys.executable, "-c", FLOOR_APP, str(floor_port), *specs])
        await wait_ready(floor_base, floor, None)
        urls = {key: (url, f"{floor_base}/b{n}") for n, (key, url) in enumerate(real.items())}
        print(f"load average before: {scale.load()}")
        figures = await measure(urls, bearer, args.repeat, server.pid)
        print(f"load average after:  {scale.load()}")
    finally:
        server.terminate()
        server.wait(timeout=60)
        if floor is not None:
            floor.terminate()
            floor.wait(timeout=60)
    return show(figures, sorted(args.sites), sizes_of)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[52, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ok = asyncio.run(run(args, Path(folder)))
    print(f"\nminutes bench: {'PASS' if ok else 'MISS'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
