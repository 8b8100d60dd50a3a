"""Preprocessing built from config: the first step of the one model pipeline.

Imputation, scaling and one-hot encoding live inside the fitted scikit-learn pipeline, so
exactly the same transforms run in training, batch scoring and the online API.
"""

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .config import DataConfig, FeaturesConfig


def build_preprocessor(data: DataConfig, features: FeaturesConfig) -> ColumnTransformer:
    """Numeric: impute (+ scale). Categorical: impute + one-hot, ignoring unseen categories."""
    numeric = Pipeline(
        [
            ("impute", SimpleImputer(strategy=features.numeric_imputer)),
            ("scale", StandardScaler() if features.scale_numeric else "passthrough"),
        ]
    )
    categorical = Pipeline(
        [
            (
                "impute",
                SimpleImputer(strategy=features.categorical_imputer, fill_value="missing"),
            ),
            (
                "one_hot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist" if features.min_frequency else "ignore",
                    min_frequency=features.min_frequency,
                    sparse_output=False,
                ),
            ),
        ]
    )
    return ColumnTransformer(
        [
            ("numeric", numeric, data.columns_of_type("numeric")),
            ("categorical", categorical, data.columns_of_type("categorical")),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )
