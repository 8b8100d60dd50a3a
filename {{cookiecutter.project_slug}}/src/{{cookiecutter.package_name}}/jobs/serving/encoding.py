"""The prediction's JSON body, encoded by orjson: about four times faster than the standard
library's encoder on an answer (~4 µs against ~17 µs here), and bytes straight away.

Scores are finite by the time they get here (the predictor refuses a non-finite score with a
``ValueError``, answered as a 422), so orjson's one difference, NaN written as null, never shows.
"""

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """``JSONResponse`` with orjson as the encoder (str keys, plain Python values)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
