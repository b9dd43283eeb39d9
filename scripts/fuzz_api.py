"""The long property-based run of the JSON API: Schemathesis against the real app.

    .venv/bin/python scripts/fuzz_api.py [--examples 40] [--roles organiser secretary chair admin]
                                         [--seed 13] [--samples]

Builds a fresh SQLite file, seeds two clusters, three sites, two sessions with their
agenda, focus items, contribution, action, document and invitations, serves the app
(`create_app`) on 127.0.0.1, and for each role runs Schemathesis over every operation of
`/api/v1/openapi.json` (its examples, coverage and fuzzing phases; `--examples` cases per
operation in the fuzzing phase, deterministic for a given `--seed`) with that role's
bearer token. Prints, per operation, the cases sent and how many answered 5xx or did not
match the schema (an undocumented status, another media type, a body off its schema),
then the totals and the exceptions behind the 5xx. `--samples` shows a few failing
requests per operation. Exits 1 when any case failed. The suite's bounded run of the
same harness is tests/meetings/core/test_api_properties.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the packages are beside it

from tests.api_fuzzing import Tally, run, seed, serving  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--examples", type=int, default=40, help="fuzzed cases per operation")
    parser.add_argument("--roles", nargs="+", default=["organiser", "secretary", "chair", "admin"])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--samples", action="store_true", help="show failing requests")
    args = parser.parse_args()
    started = time.monotonic()
    results: dict[str, dict[str, Tally]] = {}
    with tempfile.TemporaryDirectory() as folder, serving(Path(folder)) as server:
        seeded = seed(server)
        # The admin's run comes last: it may disable or demote the other roles' accounts.
        for role in sorted(args.roles, key=lambda role: role == "admin"):
            results[role] = run(
                server, seeded, role=role, max_examples=args.examples, seed=args.seed
            )
        exceptions = server.exceptions()
    _report(results, samples=args.samples)
    total = [t for tallies in results.values() for t in tallies.values()]
    cases = sum(t.cases for t in total)
    failed = sum(t.server_errors for t in total), sum(t.mismatches for t in total)
    print(
        f"\n{cases} cases as {', '.join(args.roles)} in {time.monotonic() - started:.0f} s: "
        f"{failed[0]} server errors (5xx), {failed[1]} schema mismatches"
    )
    for exception, count in sorted(exceptions.items(), key=lambda kv: -kv[1]):
        print(f"  {count:4} × {exception}")
    return 1 if any(failed) else 0


def _report(results: dict[str, dict[str, Tally]], *, samples: bool) -> None:
    roles = list(results)
    labels = sorted(
        {label for tallies in results.values() for label in tallies},
        key=lambda label: (label.split(" ", 1)[1], label),
    )
    header = "".join(f" | {role:>22}" for role in roles)
    print(f"{'operation':<62}{header}")
    print(f"{'':<62}" + " | cases   5xx mismatches" * len(roles))
    for label in labels:
        row = ""
        for role in roles:
            t = results[role].get(label, Tally())
            row += f" | {t.cases:5} {t.server_errors:5} {t.mismatches:10}"
        print(f"{label:<62}{row}")
        if samples:
            for role in roles:
                for sample in results[role].get(label, Tally()).samples:
                    print(f"    {role}: {sample[:300]}")


if __name__ == "__main__":
    sys.exit(main())
