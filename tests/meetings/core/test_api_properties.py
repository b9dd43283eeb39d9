"""Property-based tests of the JSON API: Schemathesis sends every operation of
/api/v1/openapi.json valid and invalid input against the real app on a seeded SQLite
file: as an organiser, who may call all but a few operations, every phase (examples,
the coverage phase's boundary and wrong-type values, fuzzing); as a chair, the role below
with an operation of its own (approving the minutes), fuzzing. No answer may be a server
error, and every answer must be documented: its status listed for the operation, its
media type and body as described.

A bounded, deterministic run (the same cases every time); scripts/fuzz_api.py is the
long run of the same harness.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.api_fuzzing import OPENAPI, Seeded, Server, Tally, run, seed, serving

#: Per role: Schemathesis' phases, and the fuzzed cases per operation (the coverage
#: phase adds some 50 per operation of its own).
RUNS = {
    "organiser": (("examples", "coverage", "fuzzing"), 3),
    "chair": (("examples", "fuzzing"), 6),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Seeded]]:
    with serving(tmp_path_factory.mktemp("fuzz")) as server:
        yield server, seed(server)


def test_every_download_answers_with_a_media_type_the_document_lists(
    served: tuple[Server, Seeded],
) -> None:
    """The minutes in each format, a shared document, the live board: first in this
    module, while the seeded rows are as seeded."""
    server, seeded = served
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {seeded.tokens['organiser']}"
    paths = http.get(f"{server.base_url}{OPENAPI}", timeout=60).json()["paths"]
    meeting, document = seeded.ids["/meetings/{id}"][0], seeded.ids["document_id"][0]
    downloads = [
        *((f"minutes.{fmt}", "/minutes.{fmt}") for fmt in ("html", "md", "docx", "pdf")),
        (f"documents/{document}", "/documents/{document_id}"),
        ("live", "/live"),
    ]
    for url, template in downloads:
        with http.get(
            f"{server.base_url}/api/v1/meetings/{meeting}/{url}",
            stream=True,
            timeout=60,
        ) as response:
            media = response.headers["Content-Type"].split(";")[0]
            listed = paths["/api/v1/meetings/{id}" + template]["get"]["responses"]["200"]
            assert response.status_code == 200, url
            assert media in listed["content"], (url, media, list(listed["content"]))
    http.close()


def _failures(tallies: dict[str, Tally]) -> str:
    lines = []
    for label, tally in sorted(tallies.items()):
        if tally.server_errors or tally.mismatches:
            lines.append(f"{label}: {tally.server_errors} 5xx, {tally.mismatches} mismatches")
            lines += [f"    {sample[:400]}" for sample in tally.samples]
    return "\n".join(lines)


@pytest.mark.parametrize("role", list(RUNS))
def test_every_operation_answers_without_server_errors_and_as_documented(
    served: tuple[Server, Seeded], role: str
) -> None:
    server, seeded = served
    phases, examples = RUNS[role]
    tallies = run(server, seeded, role=role, max_examples=examples, phases=phases)

    assert len(tallies) >= 60, "every operation of the document is exercised"
    assert all(t.cases >= 3 for t in tallies.values())
    failures = _failures(tallies)
    exceptions = "\n".join(f"{n} × {e}" for e, n in server.exceptions().items())
    assert failures == "", f"{failures}\nexceptions in the app:\n{exceptions}"
