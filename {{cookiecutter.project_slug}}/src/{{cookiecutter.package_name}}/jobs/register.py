"""`register`: the model of the last `train` run becomes a registry version, alias `challenger`.

The version carries the run's lineage tags (git, data hashes, config), so the registry alone
answers "where does this model come from". Before the version is created, its model is
compiled to ONNX and verified (``io/compilation.py``): every reader of the registry serves the
graph, or scikit-learn with the reason the graph was ruled out.
"""

from ..core.config import Config
from ..core.errors import ProjectError
from ..io import paths
from ..io.compilation import compile_run
from ..io.files import read_json
from ..io.registry import CHALLENGER, Registry, Version, reachable

LINEAGE_PREFIXES = ("git.", "data.", "config.", "version.")


def lineage_tags(run_tags: dict[str, str], run_id: str) -> dict[str, str]:
    """The run's lineage facts, copied onto the model version so the registry is self-describing."""
    tags = {key: value for key, value in run_tags.items() if key.startswith(LINEAGE_PREFIXES)}
    return {**tags, "run_id": run_id}


def register(config: Config) -> Version:
    """Register the model of the last `train` run and point the `challenger` alias at it."""
    import mlflow

    trained = read_json(paths.TRAIN_RUN)
    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        try:
            run = registry.client.get_run(trained["run_id"])
        except mlflow.exceptions.MlflowException as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise  # an unreachable server is reported by `reachable`
            raise ProjectError(
                f"run {trained['run_id']} (models/run.json) is not in the tracking store at "
                f"{config.mlflow.effective_tracking_uri}: train against this store first."
            ) from error
        compiled = compile_run(config, registry, run.info.run_id, trained["model_uri"])
        print(compiled.inference.summary)
        version = registry.register(
            trained["model_uri"], trained["run_id"], lineage_tags(run.data.tags, run.info.run_id)
        )
    print(
        f"registered {version.name} version {version.version} as '{CHALLENGER}' "
        f"(run {version.run_id})"
    )
    return version
