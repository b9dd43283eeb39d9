"""Minutes rendering: time to build the biên bản as HTML, Word and PDF (and Markdown).

    .venv/bin/python bench/minutes.py [--runs 5] [--large-sites 5000] [--no-large-pdf]

Two sessions, built directly as `MinutesData` (rendering needs no database): the
reference briefing of 19/4/2024 (52 bridge points, 10 focus items, 60 contributions,
20 action items) and a national session with the same record and 5,000 bridge points
(the attached list grows, nothing else). Each format is rendered once to warm up (template
compilation, imports, fonts), then `--runs` times; the median is printed (the large
session: up to 3 runs, the PDF once). The 52-site
figures are checked against their targets (HTML < 100 ms, DOCX < 500 ms, PDF < 3 s) with
PASS/MISS; the large session's are printed with the time per bridge point, which stays
flat when the rendering is linear in the number of sites.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agendas.minutes.data import MinutesData  # noqa: E402
from agendas.minutes.docx import to_docx  # noqa: E402
from agendas.minutes.html import to_html  # noqa: E402
from agendas.minutes.markdown import to_markdown  # noqa: E402
from agendas.minutes.pdf import to_pdf  # noqa: E402
from tests.agendas.minutes.test_minutes_render import reference_minutes  # noqa: E402

#: Targets for the reference session (52 bridge points), in milliseconds.
TARGETS_MS = {"HTML": 100.0, "DOCX": 500.0, "PDF": 3000.0}
Render = Callable[..., "str | bytes"]
FORMATS: tuple[tuple[str, Render], ...] = (
    ("HTML", to_html),
    ("DOCX", to_docx),
    ("PDF", to_pdf),
    ("Markdown", to_markdown),
)


def timed(render: Render, data: MinutesData, runs: int, *, warm_up: bool) -> tuple[float, int]:
    """Median milliseconds over `runs` renders (after a warm-up if asked), and the size."""
    if warm_up:
        render(data, locale="vi")
    timings = []
    size = 0
    for _ in range(runs):
        start = time.perf_counter()
        size = len(render(data, locale="vi"))
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), size


def session(sites: int) -> MinutesData:
    return reference_minutes(site_count=sites, contributions=60, actions=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--large-sites", type=int, default=5000)
    parser.add_argument(
        "--no-large-pdf", action="store_true", help="skip the large PDF (a minute or more)"
    )
    args = parser.parse_args()

    reference = session(52)
    print(
        f"minutes bench: 52 bridge points, {len(reference.focus_items)} focus items, "
        f"{len(reference.contributions)} contributions, {len(reference.actions)} action items "
        f"(median of {args.runs} runs after a warm-up)"
    )
    missed = 0
    for name, render in FORMATS:
        median, size = timed(render, reference, args.runs, warm_up=True)
        target = TARGETS_MS.get(name)
        if target is None:
            print(f"  {name:<9} {median:9.1f} ms  {size / 1024:8.0f} KiB")
            continue
        verdict = "PASS" if median < target else "MISS"
        missed += verdict == "MISS"
        print(
            f"  {name:<9} {median:9.1f} ms  {size / 1024:8.0f} KiB  target < {target:g} ms  "
            f"ratio {median / target:.2f}  {verdict}"
        )

    large = session(args.large_sites)
    print(f"national session: {args.large_sites} bridge points, the same record")
    for name, render in FORMATS:
        if name == "PDF" and args.no_large_pdf:
            print(f"  {name:<9} skipped (--no-large-pdf)")
            continue
        runs = 1 if name == "PDF" else max(1, min(args.runs, 3))
        median, size = timed(render, large, runs, warm_up=False)  # warm already
        per_site = median / args.large_sites
        print(
            f"  {name:<9} {median:9.1f} ms  {size / 1024:8.0f} KiB  "
            f"{per_site:.3f} ms per bridge point"
        )
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
