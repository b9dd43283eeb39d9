"""Start-up and register scale: time to first dashboard and memory against a bare aiohttp
floor, list latency at 5,000 sites.

    .venv/bin/python bench/startup.py [--sites 5000] [--requests 200] [--repeat 3]

On a fresh SQLite file, `--repeat` times, interleaved (the order alternates): starts a
real `giaoban serve` and times process start → first 200 on the dashboard (bearer), and
its RSS then; starts the floor, a bare aiohttp app with one handler in a process of its
own, and times process start → first 200 and its RSS. Printed: median and spread
(min–max) of each, the ratio giaoban/floor and the load average (target: ready < 2 s).
Then, on one more `giaoban serve`:
- RSS idle, and after importing N sites through the API (target idle < 150 MB);
- GET /api/v1/sites and the sites page with N sites: p50 and p99 (target p99 < 200 ms).
Each figure is printed with its target and the ratio figure/target (≤ 1.0 meets it).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cli(config: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "meetings.core.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GIAOBAN_SECRET_KEY": SECRET},
    )
    return result.stdout.strip()


def sites_csv(count: int, clusters: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "code",
            "name",
            "province",
            "cluster",
            "contact1_name",
            "contact1_email",
            "contact1_role",
            "contact2_name",
            "contact2_email",
            "contact2_role",
        ]
    )
    for n in range(count):
        writer.writerow(
            [
                f"xa-{n:05d}",
                f"Điểm cầu xã số {n} — Liên hiệp hữu nghị",
                f"Tỉnh {n % 63}",
                f"CUM-{n % clusters + 1}",
                f"Nguyễn Văn {n}",
                f"chutich{n}@example.org",
                "head",
                f"Trần Thị {n}",
                f"kythuat{n}@example.org",
                "technical",
            ]
        )
    return out.getvalue().encode("utf-8")


def report(name: str, value: float, unit: str, target: float) -> None:
    print(
        f"{name:<42} {value:9.1f} {unit:<3} target < {target:g} {unit}  ratio {value / target:.2f}"
    )


async def latency(session: aiohttp.ClientSession, url: str, headers: dict, n: int) -> list[float]:
    timings = []
    for _ in range(n):
        start = time.perf_counter()
        async with session.get(url, headers=headers) as response:
            await response.read()
            assert response.status == 200, (url, response.status)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(base: str, token: str, pid: int, sites: int, requests: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        for code in range(1, 6):
            async with session.post(
                f"{base}/api/v1/clusters",
                headers=headers,
                json={"code": f"CUM-{code}", "name": f"Cụm {code}"},
            ) as r:
                assert r.status == 201, await r.text()
        report("RSS idle", rss_mb(pid), "MB", 150)
        start = time.perf_counter()
        async with session.post(
            f"{base}/api/v1/sites/import",
            data=sites_csv(sites, 5),
            headers={**headers, "Content-Type": "text/csv"},
        ) as r:
            body = await r.json()
            assert r.status == 200, body
        print(
            f"{'import ' + str(sites) + ' sites (CSV, one request)':<42} "
            f"{time.perf_counter() - start:9.2f} s   ({body['created']} created)"
        )
        report(f"RSS after {sites} sites", rss_mb(pid), "MB", 150)
        for name, path in (
            ("GET /api/v1/sites", "/api/v1/sites"),
            ("GET /api/v1/sites?q=xa 4999", "/api/v1/sites?q=xa%204999"),
            ("sites page /sites", "/sites"),
            ("sites page /sites?page=50", "/sites?page=50"),
        ):
            await latency(session, base + path, headers, 5)  # warm up
            timings = await latency(session, base + path, headers, requests)
            print(f"{name + ' p50':<42} {statistics.median(timings):9.1f} ms")
            report(name + " p99", percentile(timings, 0.99), "ms", 200)
        report(f"RSS after {requests * 4} list requests", rss_mb(pid), "MB", 150)


#: The floor: a bare aiohttp app, one handler, in a process of its own (no database,
#: templates, translations or middlewares: what any aiohttp service pays to start).
FLOOR_APP = """
import sys
from aiohttp import web


async def handler(request):
    return web.Response(text="ok")


app = web.Application()
app.router.add_get("/", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def spread(values: list[float], digits: int = 2) -> str:
    """The median and the range (min–max) over the repetitions."""
    median = statistics.median(values)
    return f"{median:9.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def start_once(command: list[str], url: str, headers: dict[str, str]) -> tuple[float, float]:
    """Seconds from process start to the first 200 at `url`, and the RSS then (MB)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "GIAOBAN_SECRET_KEY": SECRET},
    )
    try:
        ready = wait_for(url, headers, start)
        return ready, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def start_ups(config: Path, token: str, repeat: int) -> None:
    """Start-up time and RSS of `giaoban serve` and of the floor, interleaved (the order
    alternates from one repetition to the next), `repeat` times each."""
    figures: list[tuple[float, float]] = []
    floors: list[tuple[float, float]] = []
    for n in range(repeat):
        port = free_port()
        serve = [sys.executable, "-m", "meetings.core.cli", "--config", str(config), "serve"]
        ours = (serve + ["--port", str(port)], f"http://127.0.0.1:{port}/", token)
        bare = ([sys.executable, "-c", FLOOR_APP, str(port)], f"http://127.0.0.1:{port}/", "")
        for command, url, bearer in (ours, bare) if n % 2 == 0 else (bare, ours):
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            (figures if bearer else floors).append(start_once(command, url, headers))
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"start-up, {repeat} repetitions, median (min–max); load {load}")
    for index, (name, unit, target) in enumerate(
        (("ready: start to first 200", "s", 2.0), ("RSS at ready", "MB", 150.0))
    ):
        ours_values = [f[index] for f in figures]
        floor_values = [f[index] for f in floors]
        ratio = statistics.median(ours_values) / statistics.median(floor_values)
        print(
            f"  {name + ' (giaoban, dashboard)':<40} {spread(ours_values)} {unit}"
            f"  target < {target:g} {unit}"
        )
        print(f"  {name + ' (floor: bare aiohttp)':<40} {spread(floor_values)} {unit}")
        print(f"  {'ratio giaoban/floor':<40} {ratio:9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="start-ups of each, interleaved")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.toml"
        config.write_text(
            f'[database]\nurl = "sqlite+aiosqlite:///{folder}/bench.sqlite3"\n'
            f'[mail]\ndrop_dir = "{folder}/mail"\n',
            encoding="utf-8",
        )
        cli(config, "db", "upgrade")
        cli(config, "users", "add", "bench", "--role", "organiser", "--password", "bench-password")
        token = cli(config, "tokens", "create", "bench")
        print(f"giaoban start-up bench ({args.sites} sites, {args.requests} requests each)")
        start_ups(config, token, args.repeat)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        start = time.perf_counter()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meetings.core.cli",
                "--config",
                str(config),
                "serve",
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "GIAOBAN_SECRET_KEY": SECRET},
        )
        try:
            wait_for(base + "/", {"Authorization": f"Bearer {token}"}, start)
            asyncio.run(measure(base, token, server.pid, args.sites, args.requests))
        finally:
            server.terminate()
            server.wait(timeout=30)


def wait_for(url: str, headers: dict[str, str], start: float) -> float:
    """Seconds from `start` to the first 200 at `url` (polled every 10 ms)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=headers)
    while time.perf_counter() - start < 60:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.01)
    raise SystemExit(f"{url} did not answer within 60 s")


if __name__ == "__main__":
    main()
