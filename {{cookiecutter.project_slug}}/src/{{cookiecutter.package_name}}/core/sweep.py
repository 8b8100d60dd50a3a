"""Expand Hydra sweep overrides (``model=a,b seed=1,2``) into one override list per run."""

from itertools import product

from .errors import ConfigError


def expand(overrides: list[str]) -> list[list[str]]:
    """Cartesian product of every sweep, parsed with Hydra's own override grammar."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as error:
        raise ConfigError(f"invalid override: {error}") from error
    choices: list[list[str]] = []
    for override in parsed:
        if override.is_sweep_override():
            key = override.get_key_element()
            choices.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            choices.append([override.input_line or ""])
    return [list(combination) for combination in product(*choices)]
