"""Service health: server errors and refusals counted apart, latency over answered requests."""

from datetime import UTC, datetime

import pandas as pd

from {{ cookiecutter.package_name }}.core.health import service_health

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_health_counts_server_errors_and_refusals_apart() -> None:
    def request(status: int, arm: str = "champion", latency: float = 2.0) -> dict[str, object]:
        return {
            "request_id": "r",
            "timestamp": START,
            "model_version": "1",
            "arm": arm,
            "status": status,
            "rows": int(status == 200),
            "latency_ms": latency,
        }

    statuses = [200] * 6 + [500, 422, 422, 413]
    [health] = service_health(pd.DataFrame([request(status) for status in statuses]))
    assert (health["requests"], health["answered"], health["rows"]) == (10, 6, 6)
    assert (health["error_rate"], health["rejected_rate"]) == (0.1, 0.3)
    assert health["latency_ms_p99"] == 2.0
    assert service_health(pd.DataFrame()) == []
