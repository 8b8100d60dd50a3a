"""The server's lifecycle: load the models and open the log at start, drain both at stop, reload.

``serve`` starts the server before uvicorn listens, so a champion that cannot be loaded or a
log that cannot be opened is one clear error and a non-zero exit, not a half-started process.
Stopping (SIGTERM: uvicorn finishes the requests in flight first) drains the shadow jobs, then
every queued log entry. Reload (``POST /admin/reload``, or SIGHUP to the process) loads the
configured sources again (e.g. a new champion alias) completely, off the event loop, then
swaps one reference: a request in flight keeps the deployment it started with, so none is
dropped, and a failed load leaves the previous models serving. The OpenAPI document embeds the
champion's request model, so a reload makes it be generated again.

In a worker of ``serve --workers N`` a successful reload also sends SIGHUP to the parent, which
replaces the workers one by one (uvicorn starts each new one, and retires the old one only once
the new one is ready): every worker then serves the reloaded sources, and a reload that fails
changes nothing anywhere. SIGHUP to the parent does the same without the first worker's check.
"""

import asyncio
import gc
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI

from ...core.config import ServeConfig
from ...core.errors import ProjectError
from ...core.privacy import Privacy
from ...core.request_schema import Problem
from ...core.routing import Router
from ...io.prediction_log import PredictionLog
from .deployment import Deployment, Loader, load_deployment
from .metrics import PUBLISH_SECONDS, ServingMetrics, multiprocess
from .recorder import Recorder
from .rollout import Rollout

logger = logging.getLogger(__name__)
NOT_READY = Problem("model", "not_ready", "the models are still loading; retry shortly")
WORKER = "SERVE_WORKER"  # set in the worker processes of `serve --workers N`


@dataclass(frozen=True)
class Live:
    """What ``start`` opens and ``stop`` drains: the prediction log and what writes to it."""

    log: PredictionLog
    recorder: Recorder
    rollout: Rollout


class Server:
    """The state behind one app: the deployment (swapped whole on reload), router and metrics."""

    def __init__(self, settings: ServeConfig, loader: Loader, privacy: Privacy) -> None:
        self.settings, self.loader, self.privacy = settings, loader, privacy
        self.router = Router(settings.mode, settings.canary)
        self.metrics = ServingMetrics()
        self.deployment: Deployment | None = None
        self.live: Live | None = None
        self._reload_lock = asyncio.Lock()
        self._stopped = threading.Event()

    def start(self) -> None:
        """Load the models, then open the log and the rollout (blocking: run it in a thread).

        Once only: ``serve`` starts the server before uvicorn, whose lifespan then finds it up.
        """
        if self.live is not None:
            return
        deployment = load_deployment(self.settings, self.loader)
        target = deployment.champion.bundle.metadata.target_schema
        self.metrics = ServingMetrics((target.min, target.max))
        self.metrics.canary_percent.set(self.router.percent)
        settings = self.settings.log
        log = PredictionLog(
            Path(settings.path),
            max_rows=settings.max_rows,
            max_age_days=settings.max_age_days,
            queue_size=settings.queue_size,
            privacy=self.privacy,
        )
        recorder = Recorder(log, self.metrics)
        rollout = Rollout(self.router, recorder, shadow_queue=self.settings.shadow_queue_size)
        self.live = Live(log, recorder, rollout)
        self.deployment = deployment
        # The loaded models and libraries are ~300,000 objects that live as long as the
        # process: out of the collector's sight, a full collection no longer stops every
        # request for a quarter of a second or more (it did, now and then, under load).
        gc.freeze()
        if multiprocess():  # /metrics may be scraped from another worker: publish the counts
            threading.Thread(target=self._publish, args=(log,), name="metrics", daemon=True).start()

    def stop(self) -> None:
        """Finish the shadow jobs, then write every queued log entry (a clean shutdown)."""
        if self.live is not None:
            self.live.rollout.close()
            self.live.log.close()
            self._stopped.set()
            self.metrics.observe_log(self.live.log)  # the final counts outlive the worker
            self.metrics.retire()

    def _publish(self, log: PredictionLog) -> None:
        while not self._stopped.wait(PUBLISH_SECONDS):
            self.metrics.observe_log(log)

    def problems(self) -> list[str]:
        """What keeps the service from being healthy (empty: it is)."""
        log = self.live.log if self.live is not None else None
        if log is not None and log.error is not None:
            return [f"prediction log {log.path}: {log.error}"]
        return []

    async def reload(self) -> dict[str, Any]:
        """Load the configured sources again, then swap; the versions before and after."""
        async with self._reload_lock:
            old = self.deployment
            try:
                new = await anyio.to_thread.run_sync(load_deployment, self.settings, self.loader)
            except Exception:
                self.metrics.reloads.labels("failed").inc()
                raise
            self.deployment = new  # one reference: requests see the old or the new, whole
            gc.freeze()
            old_challenger = old.challenger.version if old and old.challenger else None
            if new.challenger is not None and new.challenger.version != old_challenger:
                self.router.reset()  # a new challenger starts afresh at the configured share
                self.metrics.canary_percent.set(self.router.percent)
            self.metrics.reloads.labels("ok").inc()
        before = {"champion": old.champion.version if old else None, "challenger": old_challenger}
        after = {
            "champion": new.champion.version,
            "challenger": new.challenger.version if new.challenger else None,
        }
        return {"before": before, "after": after}


async def reload_models(app: FastAPI, server: Server) -> dict[str, Any]:
    """Reload the models, then drop the cached OpenAPI schema (the request model may differ).

    A failure is logged (a model that cannot load as one line, anything else with its
    traceback) and raised; the previous models keep serving.
    """
    try:
        versions = await server.reload()
    except ProjectError as error:
        logger.error("reload failed, still serving the previous models: %s", error)
        raise
    except Exception:
        logger.exception("reload failed, still serving the previous models")
        raise
    app.openapi_schema = None
    if os.environ.get(WORKER):
        logger.info("reloaded; asking the parent to replace every worker (SIGHUP)")
        os.kill(os.getppid(), signal.SIGHUP)
    return versions


def reload_on_hangup(app: FastAPI, server: Server) -> Callable[[], None]:
    """Make SIGHUP reload the models (``kill -HUP <pid>``, ``docker kill -s HUP``).

    Signal handlers belong to the main thread's event loop: under uvicorn the handler is
    installed and the returned function removes it; elsewhere (a test client) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[None]] = set()  # keep a reference until the reload is done

    async def reload() -> None:
        try:
            versions = await reload_models(app, server)
        except Exception:  # logged by reload_models; the old models keep serving
            return
        logger.info("reloaded on SIGHUP: %s", versions)

    def hangup() -> None:
        task = loop.create_task(reload())
        running.add(task)
        task.add_done_callback(running.discard)

    def stop_listening() -> None:
        loop.remove_signal_handler(signal.SIGHUP)

    loop.add_signal_handler(signal.SIGHUP, hangup)
    return stop_listening
