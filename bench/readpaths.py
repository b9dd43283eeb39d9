"""The read paths under load: `giaoban serve` with the demo data against a bare aiohttp floor.

    .venv/bin/python bench/readpaths.py [--seconds 5] [--repeat 3] [--connections 50]
        [--baseline DIR]   # DIR: e.g. `mkdir DIR && git archive HEAD | tar -x -C DIR`

Loads the demo data (`giaoban demo`) into a fresh SQLite file in a temporary folder,
makes a bearer token for `admin`, logs `admin` in for a session cookie and takes one
site's link, then starts `giaoban serve` and, beside it, the floor: a bare aiohttp app in
a process of its own whose one handler answers a body of the same size and type as the
path measured (read once from the real server before the runs).

Then, `--repeat` times, for every path in turn: `wrk -t2 -c<connections>` on the floor,
then on the real path, interleaved, `--seconds` each (and, with `--baseline`, on the same
path of a second server running that tree's code on the same database: before/after).
Paths: /healthz, the API's sites list (`?limit=100`, bearer) and sessions list (bearer),
the site page /s/<token>, the session page and its board (cookie).

Printed per path: req/s of the figure and of the floor, median and spread (min–max) over
the repetitions, the figure's p99 (median), the ratio figure/floor (of the medians) and
its target (≥ 0.50 for /healthz, ≥ 0.05 for the others, issue #17), and the load average
before and after (the machine's 2 cores may be shared: a figure beside a high load is not
a measurement). wrk is installed with apt-get when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIAOBAN = str(ROOT / ".venv" / "bin" / "giaoban")
FLOOR_APP = """
import sys
from aiohttp import web
body, content_type = b"x" * int(sys.argv[2]), sys.argv[3]
async def handler(request):
    return web.Response(body=body, content_type=content_type)
app = web.Application()
app.router.add_get("/{tail:.*}", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@dataclass
class Path_:
    label: str
    path: str
    headers: dict[str, str]
    target: float
    size: int = 0
    content_type: str = ""
    figures: list[tuple[float, float]] = field(default_factory=list)  # (req/s, p99 ms)
    floors: list[float] = field(default_factory=list)
    baseline: list[tuple[float, float]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("installing wrk (apt-get)", flush=True)
    subprocess.run(["bash", "-c", "source scripts/apt.sh && apt_get install -y -qq wrk"], cwd=ROOT)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")


def environment(folder: Path, port: int) -> dict[str, str]:
    # Paths are absolute: a baseline tree's server runs from its own folder.
    return {
        **os.environ,
        "GIAOBAN__DATABASE__URL": f"sqlite+aiosqlite:///{folder}/bench.sqlite3",
        "GIAOBAN__SERVER__VAR_DIR": str(folder),
        "GIAOBAN__SERVER__PORT": str(port),
        "GIAOBAN__MAIL__DROP_DIR": str(folder / "maildrop"),
        "GIAOBAN__SECURITY__SECRET_KEY_FILE": str(folder / "secret_key"),
    }


def load_demo(env: dict[str, str]) -> tuple[str, str]:
    """The admin's password and a bearer token of theirs."""
    out = subprocess.run([GIAOBAN, "demo"], env=env, capture_output=True, text=True, check=True)
    found = re.search(r"^\s*admin\s+admin\s+(\S+)$", out.stdout, re.MULTILINE)
    if found is None:
        raise SystemExit(f"no admin password in the demo's output:\n{out.stdout}")
    token = subprocess.run(
        [GIAOBAN, "tokens", "create", "admin"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    return found.group(1), token


def session_and_link(env: dict[str, str]) -> tuple[int, str]:
    """The demo session with the most invited sites, and one of those sites' link."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select
    from sqlmodel import col

    from meetings.core.cli import run_with_session
    from meetings.core.settings import load_settings
    from meetings.planning.models import Participation
    from notify.site.tokens import site_token

    settings = load_settings(environ=env)

    async def pick(session):  # type: ignore[no-untyped-def]
        meeting_id, site_id = (
            await session.execute(
                select(col(Participation.meeting_id), func.min(col(Participation.site_id)))
                .group_by(col(Participation.meeting_id))
                .order_by(func.count().desc())
                .limit(1)
            )
        ).one()
        link = await site_token(session, site_id, secret_key=settings.security.secret_key)
        return meeting_id, link

    result: tuple[int, str] = run_with_session(settings, pick)
    return result


async def login(base: str, password: str) -> str:
    """The admin's session cookie, as a browser gets it (the form's CSRF token, then POST)."""
    import aiohttp
    from yarl import URL

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/login") as page:
            csrf = re.search(r'name="_csrf" value="([^"]+)"', await page.text())
        if csrf is None:
            raise SystemExit("no CSRF token on the login page")
        form = {"username": "admin", "password": password, "_csrf": csrf.group(1)}
        async with http.post(f"{base}/login", data=form, allow_redirects=False) as answer:
            if answer.status != 303:
                raise SystemExit(f"login answered {answer.status}")
        cookie = http.cookie_jar.filter_cookies(URL(base)).get("giaoban_session")
        if cookie is None:
            raise SystemExit("no session cookie after login")
        return f"giaoban_session={cookie.value}"


async def measure_bodies(base: str, paths: list[Path_]) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for item in paths:
            async with http.get(base + item.path, headers=item.headers) as answer:
                body = await answer.read()
                if answer.status != 200:
                    raise SystemExit(f"{item.path} answered {answer.status}: {body[:200]!r}")
                item.size, item.content_type = len(body), answer.content_type


def wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server on port {port} stopped at start-up")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port}")


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> tuple[float, float]:
    """req/s and p99 in ms of one wrk run."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency"]
    command.append(url)
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if rate is None or p99 is None or "Non-2xx" in out:
        raise SystemExit(f"wrk on {url}:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(rate.group(1)), float(p99.group(1)) * scale


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):9.0f}  ({min(values):.0f}–{max(values):.0f})"


def show(paths: list[Path_]) -> None:
    print(f"\n  {'path':<24}{'figure req/s (spread)':>24}{'p99 ms':>9}", end="")
    print(f"{'floor req/s (spread)':>26}{'ratio':>8}  target", end="")
    print(f"{'baseline req/s (spread)':>28}{'p99 ms':>9}" if paths[0].baseline else "")
    for item in paths:
        rates = [rate for rate, _ in item.figures]
        p99 = statistics.median(p for _, p in item.figures)
        ratio = statistics.median(rates) / statistics.median(item.floors)
        verdict = "met    " if ratio >= item.target else "NOT met"
        print(f"  {item.label:<24}{spread(rates):>24}{p99:9.1f}{spread(item.floors):>26}", end="")
        print(f"{ratio:8.4f}  ≥ {item.target:.2f} {verdict}", end="")
        if item.baseline:
            before = [rate for rate, _ in item.baseline]
            before_p99 = statistics.median(p for _, p in item.baseline)
            print(f"{spread(before):>28}{before_p99:9.1f}", end="")
        print()


def serve(env: dict[str, str], port: int, tree: Path | None) -> subprocess.Popen[bytes]:
    """`giaoban serve` of this checkout, or of another tree of the code (`--baseline`)."""
    extra = {"GIAOBAN__SERVER__PORT": str(port)}
    if tree is not None:
        extra["PYTHONPATH"] = str(tree)  # its packages before this checkout's
    return subprocess.Popen(
        [GIAOBAN, "serve"], env={**env, **extra}, stdout=subprocess.DEVNULL, cwd=tree or ROOT
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="each wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of floor and figure")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another tree of the code (e.g. `git archive HEAD | tar -x -C DIR`), served on "
        "the same database and measured interleaved too",
    )
    args = parser.parse_args()
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="giaoban-readpaths-") as name:
        folder, port = Path(name), free_port()
        env = environment(folder, port)
        password, token = load_demo(env)
        meeting_id, link = session_and_link(env)
        servers = {port: serve(env, port, None)}
        if args.baseline:
            other = free_port()
            servers[other] = serve(env, other, args.baseline.resolve())
        try:
            for server_port, server in servers.items():
                wait_for(server_port, server)
            bases = [f"http://127.0.0.1:{p}" for p in servers]
            run(bases, password, token, meeting_id, link, args)
        finally:
            for server in servers.values():
                server.terminate()
                server.wait(30)


def start_floor(item: Path_) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    floor = subprocess.Popen(
        [sys.executable, "-c", FLOOR_APP, str(port), str(item.size), item.content_type]
    )
    wait_for(port, floor)
    return floor, port


def run(bases: list[str], password: str, token: str, meeting_id: int, link: str, args) -> None:  # type: ignore[no-untyped-def]
    cookie = {"Cookie": asyncio.run(login(bases[0], password))}
    bearer = {"Authorization": f"Bearer {token}"}
    paths = [
        Path_("/healthz", "/healthz", {}, 0.50),
        Path_("sites?limit=100 (bearer)", "/api/v1/sites?limit=100", bearer, 0.05),
        Path_("meetings (bearer)", "/api/v1/meetings", bearer, 0.05),
        Path_("site page /s/<token>", f"/s/{link}", {}, 0.05),
        Path_("session page", f"/sessions/{meeting_id}", cookie, 0.05),
        Path_("board page", f"/sessions/{meeting_id}/board", cookie, 0.05),
    ]
    asyncio.run(measure_bodies(bases[0], paths))
    print(f"load average before: {os.getloadavg()}", flush=True)
    measure = partial(wrk, seconds=args.seconds, connections=args.connections)
    for round_ in range(1, args.repeat + 1):
        for item in paths:
            floor, floor_port = start_floor(item)
            try:
                item.floors.append(
                    measure(f"http://127.0.0.1:{floor_port}{item.path}", item.headers)[0]
                )
            finally:
                floor.terminate()
                floor.wait(10)
            item.figures.append(measure(bases[0] + item.path, item.headers))
            rate, p99 = item.figures[-1]
            print(
                f"  round {round_}: {item.label:<24} {rate:8.0f} req/s (p99 {p99:.0f} ms), "
                f"floor {item.floors[-1]:8.0f} req/s ({item.size} bytes)",
                end="",
            )
            if len(bases) > 1:
                item.baseline.append(measure(bases[1] + item.path, item.headers))
                print(f", baseline {item.baseline[-1][0]:8.0f} req/s", end="")
            print(flush=True)
    show(paths)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
