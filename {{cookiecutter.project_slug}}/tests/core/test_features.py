"""features: the preprocessing step built from the data and features configs, per column type."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer

from {{ cookiecutter.package_name }}.core.config import (
    ColumnSpec,
    DataConfig,
    DatetimeFeaturesConfig,
    FeaturesConfig,
    TextFeaturesConfig,
)
from {{ cookiecutter.package_name }}.core.features import build_preprocessor

SHOPS = [f"shop{index}" for index in range(10)]
ROWS = 240


@pytest.fixture
def listed(data_config: DataConfig) -> DataConfig:
    """The toy schema with the ten shops listed: few enough to be one-hot encoded."""
    shop = ColumnSpec(type="categorical", categories=SHOPS, max_missing=0.1)
    return data_config.model_copy(update={"columns": {**data_config.columns, "shop": shop}})


def mixed_schema() -> DataConfig:
    """One feature of every type, and a binary target."""
    return DataConfig(
        name="orders",
        path="data/raw/orders.csv",
        task="classification",
        target="returned",
        columns={
            "returned": ColumnSpec(type="categorical", categories=["no", "yes"]),
            "amount": ColumnSpec(type="numeric", max_missing=0.1),
            "city": ColumnSpec(type="categorical", max_missing=0.1),
            "member": ColumnSpec(type="boolean", max_missing=0.1),
            "ordered_at": ColumnSpec(type="datetime", max_missing=0.1),
            "review": ColumnSpec(type="text", max_missing=0.1),
        },
    )


def mixed_frame(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """Rows of ``mixed_schema``: returns follow the city, the words and membership."""
    rng = np.random.default_rng(seed)
    city = rng.integers(0, 60, rows)
    member = rng.random(rows) < 0.5
    bad = rng.random(rows) < 0.3
    returned = (city % 3 == 0) | bad | ~member & (rng.random(rows) < 0.2)
    return pd.DataFrame(
        {
            "returned": np.where(returned, "yes", "no"),
            "amount": rng.uniform(5, 500, rows).round(2),
            "city": [f"city{value}" for value in city],
            "member": np.where(member, "yes", "no"),
            "ordered_at": (
                pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 8760, rows), "h")
            ).strftime("%Y-%m-%dT%H:%M:%S"),
            "review": np.where(bad, "arrived broken and late", "works great, happy"),
        }
    )


def fitted(data: DataConfig, features: FeaturesConfig, frame: pd.DataFrame) -> ColumnTransformer:
    preprocessor = build_preprocessor(data, features, seed=0)
    preprocessor.fit(frame[data.feature_columns], frame[data.target])
    return preprocessor


def test_uses_only_feature_columns(listed: DataConfig, frame: pd.DataFrame) -> None:
    preprocessor = fitted(listed, FeaturesConfig(), frame)
    used = {
        column
        for name, _, columns in preprocessor.transformers_
        if name != "remainder"
        for column in columns
    }
    assert used == set(listed.feature_columns)
    names = list(preprocessor.get_feature_names_out())
    assert listed.target not in names
    assert "day" not in names


def test_imputes_missing_values(listed: DataConfig, frame: pd.DataFrame) -> None:
    frame.loc[:4, ["size", "shop"]] = np.nan
    out = fitted(listed, FeaturesConfig(scale_numeric=False), frame)
    transformed = out.transform(frame)
    assert not np.isnan(transformed).any()
    size = list(out.get_feature_names_out()).index("size")
    assert transformed[0, size] == frame["size"].median()


def test_scales_numeric_columns(listed: DataConfig, frame: pd.DataFrame) -> None:
    out = fitted(listed, FeaturesConfig(scale_numeric=True), frame)
    size = out.transform(frame)[:, list(out.get_feature_names_out()).index("size")]
    assert abs(size.mean()) < 1e-9
    assert abs(size.std() - 1.0) < 1e-9


def test_one_hot_encodes_listed_categories(listed: DataConfig, frame: pd.DataFrame) -> None:
    out = fitted(listed, FeaturesConfig(), frame)
    names = list(out.get_feature_names_out())
    shops = [name for name in names if name.startswith("shop_")]
    assert shops == [f"shop_{shop}" for shop in SHOPS]
    transformed = out.transform(frame)
    assert (transformed[:, [names.index(name) for name in shops]].sum(axis=1) == 1).all()


def test_unseen_categories_become_all_zeros(listed: DataConfig, frame: pd.DataFrame) -> None:
    out = fitted(listed, FeaturesConfig(), frame)
    unseen = frame.head(2).assign(shop=["new shop", np.nan])
    transformed = out.transform(unseen)
    names = list(out.get_feature_names_out())
    shops = [names.index(name) for name in names if name.startswith("shop_")]
    assert transformed.shape == (2, len(names))
    assert transformed[0, shops].sum() == 0
    assert transformed[1, shops].sum() == 1  # missing is imputed with the most frequent shop
    assert not np.isnan(transformed).any()


def test_min_frequency_groups_rare_and_unseen_categories(
    listed: DataConfig, frame: pd.DataFrame
) -> None:
    frame["shop"] = ["big"] * (len(frame) - 2) + ["rare1", "rare2"]
    out = fitted(listed, FeaturesConfig(min_frequency=3), frame)
    names = list(out.get_feature_names_out())
    assert [name for name in names if name.startswith("shop_")] == [
        "shop_big",
        "shop_infrequent_sklearn",
    ]
    transformed = out.transform(frame.head(1).assign(shop="never seen"))
    assert transformed[0, names.index("shop_infrequent_sklearn")] == 1


def test_every_type_gets_its_block_and_the_output_is_dense_and_complete() -> None:
    data, frame = mixed_schema(), mixed_frame()
    features = FeaturesConfig(text=TextFeaturesConfig(max_features=5, min_df=1))
    out = fitted(data, features, frame)
    blocks = {name: list(columns) for name, _, columns in out.transformers_}
    assert blocks == {
        "numeric": ["amount"],
        "high_cardinality": ["city"],
        "boolean": ["member"],
        "datetime": ["ordered_at"],
        "text_review": ["review"],
    }
    transformed = out.transform(frame)
    assert isinstance(transformed, np.ndarray)
    # amount + city (binary target: one column) + member + 5 datetime parts + elapsed + words
    words = len(out.named_transformers_["text_review"].get_feature_names_out())
    assert transformed.shape == (ROWS, 1 + 1 + 1 + 6 + words)
    assert words <= 5
    assert not np.isnan(transformed).any()


def test_missing_and_unseen_values_of_every_type_are_encoded() -> None:
    data, frame = mixed_schema(), mixed_frame()
    out = fitted(data, FeaturesConfig(text=TextFeaturesConfig(min_df=1)), frame)
    strange = pd.DataFrame(
        {
            "amount": [np.nan, 1e6],
            "city": [np.nan, "atlantis"],
            "member": [None, "perhaps"],
            "ordered_at": [None, "2031-06-01T00:00:00"],
            "review": [None, "zebra quantum"],
        }
    )
    transformed = out.transform(strange)
    assert transformed.shape == (2, len(out.get_feature_names_out()))
    assert not np.isnan(transformed).any()
    city = list(out.get_feature_names_out()).index("city")
    encoder = out.named_transformers_["high_cardinality"]
    assert transformed[0, city] == transformed[1, city] == pytest.approx(encoder.target_mean_)


def test_high_cardinality_target_encoding_is_cross_fitted() -> None:
    """A training row is encoded from the other folds, never from its own label."""
    data, frame = mixed_schema(), mixed_frame()
    features = FeaturesConfig(text=TextFeaturesConfig(min_df=1))
    preprocessor = build_preprocessor(data, features, seed=0)
    inputs, target = frame[data.feature_columns], frame[data.target]
    city = list(data.feature_columns).index("city")
    cross_fitted = preprocessor.fit_transform(inputs, target)[:, city]
    refitted = preprocessor.transform(inputs)[:, city]
    assert not np.allclose(cross_fitted, refitted)


def test_more_listed_categories_than_max_one_hot_are_high_cardinality(
    listed: DataConfig, frame: pd.DataFrame
) -> None:
    out = fitted(listed, FeaturesConfig(max_one_hot=5), frame)
    blocks = {name: list(columns) for name, _, columns in out.transformers_}
    assert blocks["high_cardinality"] == ["shop"]
    assert "shop" not in blocks.get("categorical", [])


def test_frequency_capping_keeps_the_commonest_values() -> None:
    data, frame = mixed_schema(), mixed_frame()
    features = FeaturesConfig(
        high_cardinality="frequency", max_one_hot=4, text=TextFeaturesConfig(min_df=1)
    )
    names = list(fitted(data, features, frame).get_feature_names_out())
    cities = [name for name in names if name.startswith("city_")]
    assert len(cities) == 4  # three commonest cities + "infrequent"
    assert cities[-1] == "city_infrequent_sklearn"


def test_datetime_parts_follow_the_config() -> None:
    data, frame = mixed_schema(), mixed_frame()
    features = FeaturesConfig(
        datetime=DatetimeFeaturesConfig(parts=["month", "hour"], elapsed_days=False),
        text=TextFeaturesConfig(min_df=1),
    )
    names = list(fitted(data, features, frame).get_feature_names_out())
    assert [name for name in names if name.startswith("ordered_at")] == [
        "ordered_at_month",
        "ordered_at_hour",
    ]


def test_hashed_text_width_is_the_configured_bound() -> None:
    data, frame = mixed_schema(), mixed_frame()
    features = FeaturesConfig(text=TextFeaturesConfig(vectorizer="hashing", max_features=32))
    names = list(fitted(data, features, frame).get_feature_names_out())
    assert len([name for name in names if name.startswith("review_hash")]) == 32
