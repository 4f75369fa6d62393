"""Prometheus metrics and the HTTP probes every role serves: `/metrics`, `/healthz` (alive) and `/readyz` (database
reachable, schema at head, and for the scheduler role whether it holds the scheduler lock).

The webhook server adds the probes to its own aiohttp app; polling and the scheduler role serve them on
`METRICS_PORT`. One registry (`REGISTRY`) per process, however many dispatchers it builds. Updates and Bot API
calls are counted by bot/middlewares/metrics.py, quota refusals by the quota middleware; the engines' numbers are
read from the model hub when scraped (`watch_hub`: nothing in `models/` depends on this module), and inbox and
delivery states are counted in the database when scraped (the same from every replica: take `max`, not `sum`).
The metric list is in docs/operations.md, "Metrics and probes"."""
from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

UPDATES = Counter("paperbot_updates", "Updates handled, by command and outcome (ok, error, unhandled)",
                  ["command", "status"], registry=REGISTRY)
# Buckets from a few ms (a /help) to minutes (a /leak on a busy CPU engine).
HANDLER_SECONDS = Histogram("paperbot_handler_seconds", "Time from an update entering the dispatcher to its handler "
                            "returning, by command", ["command"], registry=REGISTRY,
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180))
QUOTA_REFUSALS = Counter("paperbot_quota_refusals", "Expensive commands refused by the quota, by scope (user, chat)",
                         ["scope"], registry=REGISTRY)
BOT_API_REQUESTS = Counter("paperbot_bot_api_requests", "Bot API requests by method and outcome (ok, error, "
                           "retry_after)", ["method", "outcome"], registry=REGISTRY)
BOT_API_429 = Counter("paperbot_bot_api_429", "Bot API answers 429 (flood control), by method", ["method"],
                      registry=REGISTRY)
SCHEDULER_LEADER = Gauge("paperbot_scheduler_leader", "1 while this process holds the digest-scheduler lock",
                         registry=REGISTRY)
ROLE = Gauge("paperbot_role", "The role this process runs (run, web, scheduler, console)", ["role"],
             registry=REGISTRY)
DELIVERIES = Gauge("paperbot_digest_deliveries", "Digest deliveries in the database, by state", ["state"],
                   registry=REGISTRY)
INBOX = Gauge("paperbot_inbox_updates", "Updates in the durable inbox, by state", ["state"], registry=REGISTRY)
SCRAPE_DB_ERRORS = Counter("paperbot_metrics_db_errors", "Scrapes whose database counts failed or timed out",
                           registry=REGISTRY)


def record_quota_refusal(scope: str) -> None:
    QUOTA_REFUSALS.labels(scope=scope).inc()


# ---------------------------------------------------------------- engines, read when scraped
class _HubCollector(Collector):
    """Numbers the engines already keep, exported at scrape time. Engines are duck-typed: a counter an engine does not
    keep is not exported for it (rather than exported as a made-up zero)."""

    def __init__(self) -> None:
        self.hubs: weakref.WeakSet[Any] = weakref.WeakSet()

    def collect(self) -> Iterable[Any]:
        depth = GaugeMetricFamily("paperbot_engine_queue_depth", "Requests waiting for an engine", labels=["model"])
        rows = CounterMetricFamily("paperbot_engine_rows", "Rows (samples) an engine finished", labels=["model"])
        tokens = CounterMetricFamily("paperbot_engine_tokens", "Tokens an engine generated (rate() = tokens/s)",
                                     labels=["model"])
        prefill = CounterMetricFamily("paperbot_engine_prefill_tokens", "Prompt tokens an engine prefilled",
                                      labels=["model"])
        steps = CounterMetricFamily("paperbot_engine_decode_steps", "Decode steps an engine ran", labels=["model"])
        remote = CounterMetricFamily("paperbot_remote_errors", "Failed calls to remote inference endpoints "
                                     "(each failed attempt, retried or not)", labels=["model"])
        requests = CounterMetricFamily("paperbot_remote_requests", "HTTP calls to remote inference endpoints",
                                       labels=["model"])
        for hub in list(self.hubs):
            for name, engine in dict(hub.loaded()).items():
                queue = getattr(engine, "queue", None)
                if queue is not None:
                    queued = getattr(queue, "queued", None)
                    queued = queued() if callable(queued) else queued
                    if isinstance(queued, int):
                        depth.add_metric([name], queued)
                    _add(rows, name, getattr(queue, "rows_run", None))
                    _add(steps, name, getattr(queue, "steps", None))
                batch = getattr(engine, "batch", None)
                _add(prefill, name, getattr(batch, "prefill_tokens", None))
                _add(tokens, name, getattr(batch, "generated_tokens", getattr(engine, "generated_tokens", None)))
                _add(remote, name, getattr(engine, "errors", None))
                _add(requests, name, getattr(engine, "requests", None))
        yield from (depth, rows, tokens, prefill, steps, remote, requests)


def _add(family: CounterMetricFamily, name: str, value: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        family.add_metric([name], value)


_HUBS = _HubCollector()
REGISTRY.register(_HUBS)


def watch_hub(hub: Any) -> None:
    """Export the engines of `hub` (held weakly: a closed, dropped hub disappears from the metrics)."""
    if hub is not None:
        _HUBS.hubs.add(hub)


# ---------------------------------------------------------------- probes
@dataclass
class Probes:
    """What `/readyz` checks and what `/metrics` counts in the database, for one process.

    `scheduler` returns the process's digest scheduler (or None); with `require_scheduler` (the scheduler role)
    the process is ready only while it holds the lock, so exactly one scheduler replica is ready at a time."""
    engine: AsyncEngine | None
    role: str = "run"
    scheduler: Callable[[], Any] = lambda: None
    require_scheduler: bool = False
    accepting: Callable[[], bool] = lambda: True
    timeout_s: float = 2.0
    extra_checks: dict[str, Callable[[], Awaitable[str | None]]] = field(default_factory=dict)
    # Reported but not failing readiness (a fallback is working): the status says "degraded" while one has a note.
    notes: dict[str, Callable[[], Awaitable[str | None]]] = field(default_factory=dict)
    _schema_ok_at: float = field(default=0.0, init=False)

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {}
        ready = True
        if not self.accepting():
            checks["accepting"] = "stopping"
            ready = False
        if self.engine is not None:
            try:
                await asyncio.wait_for(self._database(checks), self.timeout_s)
            except Exception as error:  # noqa: BLE001 - any failure is "not ready", said in one line
                checks["database"] = f"unreachable: {type(error).__name__}"
        ready = ready and checks.get("database") == "ok" and checks.get("schema") == "at head"
        holder = self.scheduler()
        leader = bool(holder is not None and getattr(holder, "running", False))
        SCHEDULER_LEADER.set(1 if leader else 0)
        if self.require_scheduler or holder is not None:
            checks["scheduler"] = "holds the lock" if leader else "waiting for the lock"
            if self.require_scheduler and not leader:
                ready = False
        for name, check in self.extra_checks.items():
            problem = await check()
            checks[name] = problem or "ok"
            ready = ready and problem is None
        for name, note in self.notes.items():
            try:
                said = await asyncio.wait_for(note(), self.timeout_s)
            except Exception as error:  # noqa: BLE001 - a probe answers whatever its dependencies do
                said = f"unknown: {type(error).__name__}"
            checks[name] = said or "ok"
            if said:
                checks.setdefault("degraded", []).append(name)
        return ready, checks

    async def _database(self, checks: dict[str, Any]) -> None:
        assert self.engine is not None
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        # The schema only moves forward at a release: re-read it at most every 30 s.
        if time.monotonic() - self._schema_ok_at < 30:
            checks["schema"] = "at head"
            return
        from storage.migrate import schema_status

        status = await schema_status(self.engine)
        checks["schema"] = "at head" if status.at_head else status.describe()
        if status.at_head:
            self._schema_ok_at = time.monotonic()

    async def refresh_database_gauges(self) -> None:
        """Deliveries and inbox updates by state: a grouped count each, bounded by the probe timeout."""
        if self.engine is None:
            return
        try:
            await asyncio.wait_for(self._count_states(), self.timeout_s)
        except Exception as error:  # noqa: BLE001 - metrics must answer even when the database does not
            SCRAPE_DB_ERRORS.inc()
            log.debug("metrics: database counts failed: %s", type(error).__name__)

    async def _count_states(self) -> None:
        assert self.engine is not None
        for gauge, table, column in ((DELIVERIES, "digest_deliveries", "state"), (INBOX, "inbox_updates", "status")):
            async with self.engine.connect() as connection:
                try:
                    rows = (await connection.execute(
                        text(f"SELECT {column}, count(*) FROM {table} GROUP BY {column}"))).all()
                except Exception:  # noqa: BLE001 - a table of a feature this database does not have yet
                    continue
            gauge.clear()
            for state, count in rows:
                gauge.labels(state=str(state)).set(count)

    # ---------- aiohttp ----------
    async def metrics(self, _request: web.Request) -> web.Response:
        await self.refresh_database_gauges()
        await self.readiness()  # keeps the scheduler-leader gauge current
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(self, _request: web.Request) -> web.Response:
        """Alive: the event loop answers. Not a dependency check (that is /readyz), so a database outage does not
        get every replica restarted at once."""
        if not self.accepting():
            return web.json_response({"status": "stopping"}, status=503)
        return web.json_response({"status": "ok", "role": self.role})

    async def readyz(self, _request: web.Request) -> web.Response:
        ready, checks = await self.readiness()
        status = ("degraded" if checks.get("degraded") else "ready") if ready else "not ready"
        return web.json_response({"status": status, "role": self.role, **checks},
                                 status=200 if ready else 503)

    def add_routes(self, app: web.Application, *, healthz: bool = True) -> None:
        ROLE.labels(role=self.role).set(1)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/readyz", self.readyz)
        if healthz:
            app.router.add_get("/healthz", self.healthz)


async def serve(probes: Probes, host: str, port: int) -> web.AppRunner:
    """The probes on their own port (polling, scheduler): returns the runner; `await runner.cleanup()` stops it."""
    app = web.Application()
    probes.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("metrics and probes on http://%s:%s/metrics (/healthz, /readyz)", host, bound_port(runner))
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port a runner listens on (port 0 asks the kernel for a free one)."""
    return int(runner.addresses[0][1])


def probes_for(dp: Any, *, role: str | None = None, accepting: Callable[[], bool] | None = None,
               require_scheduler: bool | None = None) -> Probes:
    """The probes of a process built around `dp` (its database, its digest scheduler if any). A `Probes` put in the
    dispatcher's workflow data (`dp["probes"]`, by the role runners of bot/roles.py) is reused, so the webhook app
    and a separate metrics port report the same role."""
    probes: Probes | None = dp.workflow_data.get("probes")
    if probes is None:
        sessionmaker = dp.workflow_data.get("sessionmaker")
        engine = sessionmaker.kw.get("bind") if sessionmaker is not None else None
        probes = Probes(engine=engine, role=role or "run",
                        scheduler=lambda: dp.workflow_data.get("digest_scheduler"))
        dp["probes"] = probes
    if role is not None:
        probes.role = role
    if accepting is not None:
        probes.accepting = accepting
    if require_scheduler is not None:
        probes.require_scheduler = require_scheduler
    return probes
