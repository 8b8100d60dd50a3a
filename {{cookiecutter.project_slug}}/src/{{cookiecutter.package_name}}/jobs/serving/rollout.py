"""The challenger's part in serving: canary routing with its automatic rollback, or shadow.

In canary mode the router (``core/routing.py``) sends a stable share of requests to the
challenger; a challenger that raises is logged and the champion answers instead, and every
outcome feeds the rollback decision. In shadow mode the champion answers every request and the
challenger scores a copy in a background thread, off the request path: logged and counted,
never returned, and dropped (counted) when it falls too far behind.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ...core.predictor import Scores
from ...core.routing import CHALLENGER, CHAMPION, Arm, Router
from ...core.served import SHADOW
from .deployment import Deployment, Served
from .recorder import Recorder

logger = logging.getLogger(__name__)
Job = tuple[str, Served, list[dict[str, Any]]]  # request id, challenger, records


class ShadowWorker:
    """Runs jobs off the request path: a bounded queue and one daemon thread."""

    def __init__(self, run: Callable[[str, Served, list[dict[str, Any]]], None], size: int) -> None:
        self._run_job = run
        self._queue: queue.Queue[Job | None] = queue.Queue(size)
        self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> bool:
        """Queue a job; False (dropped) when the worker has fallen that far behind."""
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            return False
        return True

    def close(self) -> None:
        """Finish the queued jobs, then stop."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            self._run_job(*job)


class Rollout:
    """Scores a request on its arm, and gives the challenger its canary share or shadow copy."""

    def __init__(self, router: Router, recorder: Recorder, *, shadow_queue: int) -> None:
        self.router, self.recorder, self.metrics = router, recorder, recorder.metrics
        self.shadow = ShadowWorker(self._score_shadow, shadow_queue) if router.shadow else None

    def score(
        self, request_id: str, deployment: Deployment, arm: Arm, records: list[dict[str, Any]]
    ) -> tuple[Served, Arm, Scores, float]:
        """Score on the routed arm; a failing canary challenger falls back to the champion.

        Returns the model that answered, its arm, the scores and the model call's seconds. A
        champion that raises is counted here and re-raised: the caller answers the request.
        """
        challenger = deployment.challenger
        if arm == CHALLENGER and challenger is not None:
            started = time.perf_counter()
            try:
                scores = challenger.predictor.score_records(records)
            except Exception:
                seconds = time.perf_counter() - started
                logger.exception("canary challenger failed; the champion answers")
                self.recorder.model_error(request_id, challenger, CHALLENGER, seconds=seconds)
                self._observe_canary(CHALLENGER, ok=False, seconds=seconds)
            else:
                seconds = time.perf_counter() - started
                self._observe_canary(CHALLENGER, ok=True, seconds=seconds)
                return challenger, CHALLENGER, scores, seconds
        champion = deployment.champion
        started = time.perf_counter()
        try:
            scores = champion.predictor.score_records(records)
        except Exception:
            self.metrics.model_errors.labels(champion.version, CHAMPION).inc()
            self._observe_canary(CHAMPION, ok=False, seconds=time.perf_counter() - started)
            raise
        seconds = time.perf_counter() - started
        self._observe_canary(CHAMPION, ok=True, seconds=seconds)
        return champion, CHAMPION, scores, seconds

    def shadow_copy(self, request_id: str, deployment: Deployment, records: list[Any]) -> None:
        """Queue the challenger's turn on these records (shadow mode; else nothing)."""
        if self.shadow is None or deployment.challenger is None:
            return
        if not self.shadow.submit((request_id, deployment.challenger, records)):
            self.metrics.shadow_dropped.inc()

    def close(self) -> None:
        """Finish the queued shadow jobs."""
        if self.shadow is not None:
            self.shadow.close()

    def _score_shadow(self, request_id: str, challenger: Served, records: list[Any]) -> None:
        """The challenger's turn, in the shadow thread: its failure must never reach anyone."""
        started = time.perf_counter()
        try:
            scores = challenger.predictor.score_records(records)
        except Exception:
            logger.exception("shadow challenger %s failed", challenger.version)
            seconds = time.perf_counter() - started
            self.recorder.model_error(request_id, challenger, SHADOW, seconds=seconds)
            return
        seconds = time.perf_counter() - started
        self.recorder.answered(
            request_id, challenger, SHADOW, records, scores=scores, seconds=seconds
        )

    def _observe_canary(self, arm: Arm, *, ok: bool, seconds: float) -> None:
        reason = self.router.record(arm, ok, seconds)
        if reason is not None:
            self.metrics.canary_rollbacks.inc()
            self.metrics.canary_percent.set(0.0)
            logger.warning("canary rolled back to 0%%: %s", reason)
