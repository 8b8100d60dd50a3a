"""Service health from the prediction log: volume, errors and latency per model version and arm.

Reads one row per request and arm (``prediction_log.read_requests``): answered ones (status
200) and failed ones. ``error_rate`` is the share with a server error (5xx: the model raised;
for a canary or shadow challenger, its own failures, even when the champion answered the
caller), ``rejected_rate`` the share refused for bad input (4xx; before routing, so under the
``unrouted`` arm, or by the model's input check). Latency is per answered request (every record
of a request shares it), so percentiles are taken over requests. Pure.
"""

from typing import Any

import numpy as np
import pandas as pd

PERCENTILES = (50, 95, 99)
OK = 200


def service_health(requests: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per (model_version, arm): requests, rows, rates, latency p50/p95/p99."""
    if requests.empty:
        return []
    found = []
    for (version, arm), group in requests.groupby(["model_version", "arm"], sort=True):
        status = group["status"].to_numpy(dtype=int)
        answered = group[status == OK]
        latency = answered["latency_ms"].to_numpy(dtype=float)
        first, last = group["timestamp"].min(), group["timestamp"].max()
        minutes = (last - first).total_seconds() / 60
        found.append(
            {
                "model_version": str(version),
                "arm": str(arm),
                "requests": len(group),
                "answered": len(answered),
                "rows": int(group["rows"].sum()),
                "first": first.isoformat(),
                "last": last.isoformat(),
                "requests_per_minute": len(group) / minutes if minutes > 0 else None,
                **{
                    f"latency_ms_p{p}": float(np.percentile(latency, p)) if len(latency) else None
                    for p in PERCENTILES
                },
                "error_rate": float((status >= 500).mean()),
                "rejected_rate": float(((status >= 400) & (status < 500)).mean()),
            }
        )
    return found
