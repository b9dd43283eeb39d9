"""What operators watch: `/readyz` (may this instance take requests?) and `/metrics`.

`/healthz` says the process answers; `/readyz` says it can serve: the database answers,
its schema is at the migrations' head (an instance started before `giaoban db upgrade`
finished is not sent traffic), and, on PostgreSQL, the live listener is connected (else
its boards would miss the other instances' changes). A load balancer sends requests only
to instances whose `/readyz` answers 200.

`/metrics` is Prometheus' text format, from the maintained client library, one registry
per app: each part the composition root wires in gives a gauge read when scraped (the
outbox's depth, messages sent, replies and bounces read, open boards, whether this
instance leads the scheduler), and the check-in handler observes its latency. Counts read
from the database are the cluster's, the same on every instance; the rest are the
instance's own. Reverse proxies keep `/metrics` to the internal network (deploy/).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text

from meetings.core.access import public_sessionless
from meetings.core.keys import engine_key, settings_key
from meetings.core.migrate import migration_heads

#: A reading taken when scraped: what it counts, from the app.
Probe = Callable[[web.Application], Awaitable[float]]
#: A readiness check: its name's verdict ("ok", or what is wrong).
Check = Callable[[web.Application], Awaitable[str]]
_VERSION = text("SELECT version_num FROM alembic_version")


class _Readings(Collector):
    """The probes' values (gauges, or counters: totals that only grow, which Prometheus
    turns into rates), set by the scrape just before the text is made."""

    def __init__(self) -> None:
        self.helps: dict[str, tuple[str, bool]] = {}
        self.values: dict[str, float] = {}

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        for name, value in self.values.items():
            text, total = self.helps[name]
            family = CounterMetricFamily if total else GaugeMetricFamily
            yield family(name, text, value=value)


@dataclass
class Observed:
    """One app's metrics and readiness checks (the composition root adds to them)."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry())
    probes: dict[str, tuple[str, Probe]] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    #: The migrations' heads, read when first needed (the schema must be at them).
    heads: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.checkin_seconds = Histogram(
            "giaoban_checkin_seconds",
            "Time to answer a site's check-in (its batch committed), seconds",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self._readings = _Readings()
        self.registry.register(self._readings)

    def gauge(self, name: str, help_text: str, probe: Probe, *, total: bool = False) -> None:
        """A reading of `probe` at each scrape; `total`: a count that only grows (exposed
        as a counter, `<name>_total`)."""
        self.probes[name] = (help_text, probe)
        self._readings.helps[name] = (help_text, total)


observed_key = web.AppKey("observed", Observed)


@public_sessionless
async def metrics(request: web.Request) -> web.Response:
    observed = request.app[observed_key]
    names = list(observed.probes)
    values = await asyncio.gather(*(observed.probes[n][1](request.app) for n in names))
    observed._readings.values = dict(zip(names, values, strict=True))
    response = web.Response(body=generate_latest(observed.registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def database_check(app: web.Application) -> str:
    """The database answers, and its schema is at the migrations' head."""
    try:
        async with app[engine_key].connect() as connection:
            found = set((await connection.execute(_VERSION)).scalars())
    except Exception as exc:  # the database is away, or was never migrated
        return f"unreachable: {type(exc).__name__}"
    observed = app[observed_key]
    if not observed.heads:  # read once, when first asked (start-up need not load them)
        observed.heads = await asyncio.to_thread(migration_heads, app[settings_key].database)
    heads = observed.heads
    return "ok" if found == heads else f"schema at {sorted(found)}, code at {sorted(heads)}"


@public_sessionless
async def readyz(request: web.Request) -> web.Response:
    observed = request.app[observed_key]
    names = list(observed.checks)
    verdicts = await asyncio.gather(*(observed.checks[n](request.app) for n in names))
    checks = dict(zip(names, verdicts, strict=True))
    ready = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )
