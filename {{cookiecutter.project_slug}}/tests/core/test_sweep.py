"""sweep: Hydra sweep overrides expanded into one override list per run."""

import pytest

from {{ cookiecutter.package_name }}.core.errors import ConfigError
from {{ cookiecutter.package_name }}.core.sweep import expand


def test_two_sweeps_give_every_combination() -> None:
    assert expand(["model=a,b", "seed=1,2"]) == [
        ["model=a", "seed=1"],
        ["model=a", "seed=2"],
        ["model=b", "seed=1"],
        ["model=b", "seed=2"],
    ]


def test_plain_overrides_pass_through() -> None:
    assert expand(["model.n_estimators=300"]) == [["model.n_estimators=300"]]
    assert expand(["model=a,b", "seed=3"]) == [["model=a", "seed=3"], ["model=b", "seed=3"]]


def test_no_overrides_is_one_run() -> None:
    assert expand([]) == [[]]


def test_range_sweep() -> None:
    assert expand(["seed=range(1,4)"]) == [["seed=1"], ["seed=2"], ["seed=3"]]


def test_values_keep_their_hydra_spelling() -> None:
    """null stays null and quoted text stays quoted, so each run parses as the sweep meant."""
    assert expand(["+model.max_depth=null,5", "data.name='a b',c"]) == [
        ["+model.max_depth=null", "data.name='a b'"],
        ["+model.max_depth=null", "data.name=c"],
        ["+model.max_depth=5", "data.name='a b'"],
        ["+model.max_depth=5", "data.name=c"],
    ]


def test_invalid_override_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid override"):
        expand(["model=[a"])
