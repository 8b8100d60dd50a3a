"""What answers requests: the loaded champion, the challenger, and the bodies they accept.

A ``Deployment`` is immutable: a reload builds a new one completely and swaps one reference,
so a request in flight keeps the deployment it started with. A model that cannot be loaded
(missing, corrupt, unreadable) is one clear error naming its role and source.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ...core.config import ServeConfig
from ...core.errors import ProjectError
from ...core.explanations import Explainer
from ...core.predictor import Predictor
from ...core.request_schema import (
    FeedbackRequestBase,
    PredictRequestBase,
    columns_of,
    feedback_model,
    request_model,
)
from ...io.bundle import Bundle

logger = logging.getLogger(__name__)
Loader = Callable[[str], Bundle]  # a model source (registry URI or bundle dir) -> the bundle


@dataclass(frozen=True)
class Served:
    """One loaded model and what the API says about it.

    ``explainer`` answers ``explain: true`` (None: the model has no background rows).
    """

    bundle: Bundle
    predictor: Predictor
    explainer: Explainer | None = None

    @property
    def name(self) -> str:
        return self.bundle.metadata.name

    @property
    def version(self) -> str:
        return self.bundle.metadata.version

    @classmethod
    def load(cls, loader: Loader, source: str, role: str) -> "Served":
        """The model at ``source``; any failure is a ``ProjectError`` naming role and source."""
        try:
            bundle = loader(source)
            predictor = bundle.predictor()
            explainer = None
            if bundle.background is not None:
                explainer = Explainer(predictor, bundle.background)
        except Exception as error:  # a corrupt pickle raises anything: say which model it was
            reason = str(error) if isinstance(error, ProjectError) else repr(error)
            raise ProjectError(f"cannot load the {role} from {source}: {reason}") from error
        logger.info(
            "%s %s version %s runs on %s: %s",
            role,
            bundle.metadata.name,
            bundle.metadata.version,
            predictor.engine,
            predictor.engine_reason,
        )
        return cls(bundle, predictor, explainer)


@dataclass(frozen=True)
class Deployment:
    """What answers requests right now; replaced whole by a reload, never changed in place."""

    champion: Served
    challenger: Served | None
    request: type[PredictRequestBase]
    feedback: type[FeedbackRequestBase]


def load_deployment(settings: ServeConfig, loader: Loader) -> Deployment:
    """Every model the mode needs, loaded completely, and the bodies the champion accepts."""
    champion = Served.load(loader, settings.champion, "champion")
    challenger = None
    if settings.mode != "single" and settings.challenger:
        challenger = Served.load(loader, settings.challenger, "challenger")
    metadata = champion.bundle.metadata
    schema = request_model(columns_of(metadata), settings.max_records)
    feedback = feedback_model(metadata.target_schema, settings.max_records)
    return Deployment(champion, challenger, schema, feedback)
