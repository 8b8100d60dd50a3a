"""features: the preprocessing step built from the data and features configs."""

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }}.core.config import DataConfig, FeaturesConfig
from {{ cookiecutter.package_name }}.core.features import build_preprocessor


def test_uses_only_feature_columns(data_config: DataConfig, frame: pd.DataFrame) -> None:
    preprocessor = build_preprocessor(data_config, FeaturesConfig())
    preprocessor.fit(frame)
    used = {
        column
        for name, _, columns in preprocessor.transformers_
        if name != "remainder"
        for column in columns
    }
    assert used == set(data_config.feature_columns)
    names = list(preprocessor.get_feature_names_out())
    assert data_config.target not in names
    assert "day" not in names


def test_imputes_missing_values(data_config: DataConfig, frame: pd.DataFrame) -> None:
    frame.loc[:4, ["size", "shop"]] = np.nan
    out = build_preprocessor(data_config, FeaturesConfig(scale_numeric=False)).fit(frame)
    transformed = out.transform(frame)
    assert not np.isnan(transformed).any()
    size = list(out.get_feature_names_out()).index("size")
    assert transformed[0, size] == frame["size"].median()


def test_scales_numeric_columns(data_config: DataConfig, frame: pd.DataFrame) -> None:
    out = build_preprocessor(data_config, FeaturesConfig(scale_numeric=True)).fit(frame)
    size = out.transform(frame)[:, list(out.get_feature_names_out()).index("size")]
    assert abs(size.mean()) < 1e-9
    assert abs(size.std() - 1.0) < 1e-9


def test_one_hot_encodes_categories(data_config: DataConfig, frame: pd.DataFrame) -> None:
    out = build_preprocessor(data_config, FeaturesConfig()).fit(frame)
    names = list(out.get_feature_names_out())
    shops = [name for name in names if name.startswith("shop_")]
    assert shops == [f"shop_shop{index}" for index in range(10)]
    transformed = out.transform(frame)
    assert (transformed[:, [names.index(name) for name in shops]].sum(axis=1) == 1).all()


def test_unseen_categories_become_all_zeros(data_config: DataConfig, frame: pd.DataFrame) -> None:
    out = build_preprocessor(data_config, FeaturesConfig()).fit(frame)
    unseen = frame.head(2).assign(shop=["new shop", np.nan])
    transformed = out.transform(unseen)
    names = list(out.get_feature_names_out())
    shops = [names.index(name) for name in names if name.startswith("shop_")]
    assert transformed.shape == (2, len(names))
    assert transformed[0, shops].sum() == 0
    assert transformed[1, shops].sum() == 1  # missing is imputed with the most frequent shop
    assert not np.isnan(transformed).any()


def test_min_frequency_groups_rare_and_unseen_categories(
    data_config: DataConfig, frame: pd.DataFrame
) -> None:
    frame["shop"] = ["big"] * (len(frame) - 2) + ["rare1", "rare2"]
    out = build_preprocessor(data_config, FeaturesConfig(min_frequency=3)).fit(frame)
    names = list(out.get_feature_names_out())
    assert [name for name in names if name.startswith("shop_")] == [
        "shop_big",
        "shop_infrequent_sklearn",
    ]
    transformed = out.transform(frame.head(1).assign(shop="never seen"))
    assert transformed[0, names.index("shop_infrequent_sklearn")] == 1
