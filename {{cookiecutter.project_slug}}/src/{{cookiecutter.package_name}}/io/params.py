"""conf/ composed with Hydra into ``params.yaml``, and the validated config a job runs with.

``conf/`` is the only place a setting lives. ``params.yaml`` is the same tree, composed for DVC
so that each stage can declare exactly the parameters it depends on. Stages read
``params.yaml`` and refuse to run when it no longer matches ``conf/`` (outside ``dvc exp run``,
where DVC itself composes it from ``conf/`` plus the ``-S`` overrides).
"""

import os
from pathlib import Path
from typing import Any

import yaml

from ..core.config import Config, differences, parse
from ..core.errors import ConfigError
from .files import atomic_path

CONF_DIR = Path("conf")


PARAMS_FILE = Path("params.yaml")


PARAMS_HEADER = (
    "# Composed from conf/ by `make params` (and by `dvc exp run -S ...`). "
    "Do not edit: edit conf/.\n"
)


def compose(overrides: list[str] | None = None) -> dict[str, Any]:
    """Compose ``conf/`` with Hydra, exactly as ``dvc exp run`` does, into a plain dict."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not (CONF_DIR / "config.yaml").is_file():
        raise ConfigError(f"{CONF_DIR / 'config.yaml'} not found: run this from the project root.")
    try:
        with initialize_config_dir(str(CONF_DIR.resolve()), version_base="1.3"):
            composed = hydra_compose(config_name="config", overrides=overrides or [])
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(f"cannot compose conf/: {error}") from error
    container = OmegaConf.to_container(composed, resolve=True)
    if not isinstance(container, dict):
        raise ConfigError("conf/config.yaml must compose into a mapping.")
    return {str(key): value for key, value in container.items()}


def read_params() -> dict[str, Any]:
    if not PARAMS_FILE.is_file():
        raise ConfigError(f"{PARAMS_FILE} not found: run `make params` to compose it from conf/.")
    loaded = yaml.safe_load(PARAMS_FILE.read_text())
    if not isinstance(loaded, dict):
        raise ConfigError(f"{PARAMS_FILE} is not a mapping: run `make params` to recreate it.")
    return loaded


def in_dvc_experiment() -> bool:
    """True inside ``dvc exp run``, where DVC composed params.yaml from conf/ plus ``-S``."""
    return bool(os.environ.get("DVC_EXP_NAME"))


def load_params() -> Config:
    """The configuration a pipeline stage runs with: ``params.yaml``, checked against conf/."""
    params = read_params()
    drift = differences(compose(), params)
    if drift and not in_dvc_experiment():
        shown = ", ".join(drift[:10]) + (" ..." if len(drift) > 10 else "")
        raise ConfigError(
            f"{PARAMS_FILE} does not match conf/ (differs at: {shown}). params.yaml is composed "
            "from conf/: run `make params` (or `make pipeline`, which does it first)."
        )
    if drift:
        print(f"dvc exp run: params.yaml overrides conf/ at {', '.join(drift)}")
    return parse(params, str(PARAMS_FILE))


def load(overrides: list[str] | None = None) -> Config:
    """``params.yaml`` when no override is given, else conf/ composed with the overrides."""
    if overrides:
        return parse(compose(overrides), f"conf/ with overrides {overrides}")
    return load_params()


def dump_params(config: dict[str, Any]) -> str:
    return PARAMS_HEADER + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def write_params() -> bool:
    """Compose conf/ into params.yaml; return True when the file changed."""
    composed = compose()
    parse(composed, "conf/")
    text = dump_params(composed)
    if PARAMS_FILE.is_file() and PARAMS_FILE.read_text() == text:
        return False
    with atomic_path(PARAMS_FILE) as temporary:  # a reader never sees half a file
        temporary.write_text(text)
    return True
