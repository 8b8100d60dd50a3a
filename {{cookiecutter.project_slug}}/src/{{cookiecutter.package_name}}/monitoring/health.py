"""Service health from the prediction log: volume and latency per model version and arm (pure).

Latency is per request (every record of a request shares it), so percentiles are taken over
requests. The log records answered requests only: refused and failed ones never reach it, so
the error rate comes from the API's ``/metrics`` (``api_requests_total`` by status) and is
``None`` here unless the log carries a ``status`` column.
"""

from typing import Any

import numpy as np
import pandas as pd

PERCENTILES = (50, 95, 99)


def service_health(meta: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per (model_version, arm): requests, rows, rate, latency p50/p95/p99."""
    if meta.empty:
        return []
    found = []
    for (version, arm), rows in meta.groupby(["model_version", "arm"], sort=True):
        requests = rows.drop_duplicates("request_id")
        latency = requests["latency_ms"].to_numpy(dtype=float)
        first, last = rows["timestamp"].min(), rows["timestamp"].max()
        minutes = (last - first).total_seconds() / 60
        errors = None
        if "status" in requests.columns:
            errors = float((requests["status"].astype(int) >= 500).mean())
        found.append({
            "model_version": str(version),
            "arm": str(arm),
            "requests": len(requests),
            "rows": len(rows),
            "first": first.isoformat(),
            "last": last.isoformat(),
            "requests_per_minute": len(requests) / minutes if minutes > 0 else None,
            **{f"latency_ms_p{p}": float(np.percentile(latency, p)) for p in PERCENTILES},
            "error_rate": errors,
        })  # fmt: skip
    return found
