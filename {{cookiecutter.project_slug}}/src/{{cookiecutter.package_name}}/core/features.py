"""Preprocessing built from config: the first step of the one model pipeline.

Every column type has its encoder (docs/your-data.md, "Column types"), and all of them live
inside the fitted scikit-learn pipeline, so exactly the same transforms run in training, batch
scoring and the online API:

- numeric: impute, then scale;
- categorical with at most ``max_one_hot`` listed categories: impute, then one-hot (an unseen
  value is all zeros);
- categorical with more, or with none listed (an open set: cities, product codes): target
  encoding, cross-fitted so that no training row is encoded with its own label (an unseen or
  missing value gets the overall mean), or one-hot on the commonest values (``frequency``);
- boolean: yes/no as 1/0, missing imputed with the commonest;
- datetime: calendar parts and days since the earliest training date, imputed and scaled;
- text: TF-IDF or hashed bag of words, at most ``text.max_features`` columns per text column.

The output is always dense: every block is bounded in width, and every estimator takes it.
"""

from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from .config import ColumnSpec, DataConfig, FeaturesConfig, TextFeaturesConfig
from .encoders import BooleanEncoder, DatetimeEncoder, TextEncoder
from .task import Task


def high_cardinality(spec: ColumnSpec, features: FeaturesConfig) -> bool:
    """A categorical column with more listed categories than ``max_one_hot``, or none listed."""
    return spec.categories is None or len(spec.categories) > features.max_one_hot


def build_preprocessor(
    data: DataConfig, features: FeaturesConfig, *, seed: int
) -> ColumnTransformer:
    """One block per column type present among the features (an empty block is left out).

    ``seed`` shuffles the target encoder's cross-fitting folds: the same config and data
    train the same model."""
    categorical = data.columns_of_type("categorical")
    many = [name for name in categorical if high_cardinality(data.columns[name], features)]
    blocks: list[tuple[str, Any, list[str]]] = [
        ("numeric", _numeric(features), data.columns_of_type("numeric")),
        ("categorical", _one_hot(features), [name for name in categorical if name not in many]),
        ("high_cardinality", _high_cardinality(features, data.task, seed), many),
        ("boolean", _boolean(), data.columns_of_type("boolean")),
        ("datetime", _datetime(features), data.columns_of_type("datetime")),
    ]
    texts = data.columns_of_type("text")
    blocks += [(f"text_{name}", _text(features.text), [name]) for name in texts]
    return ColumnTransformer(
        [block for block in blocks if block[2]],
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )


def _scaled(features: FeaturesConfig) -> Any:
    return StandardScaler() if features.scale_numeric else "passthrough"


def _numeric(features: FeaturesConfig) -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy=features.numeric_imputer)),
            ("scale", _scaled(features)),
        ]
    )


def _categorical_imputer(features: FeaturesConfig) -> SimpleImputer:
    return SimpleImputer(strategy=features.categorical_imputer, fill_value="missing")


def _one_hot(features: FeaturesConfig) -> Pipeline:
    return Pipeline(
        [
            ("impute", _categorical_imputer(features)),
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


def _high_cardinality(features: FeaturesConfig, task: Task, seed: int) -> Any:
    if features.high_cardinality == "target":
        # Missing is a category of its own; cross-fitted in fit_transform, on these folds.
        folds = StratifiedKFold if task == "classification" else KFold
        return TargetEncoder(cv=folds(n_splits=5, shuffle=True, random_state=seed))
    return Pipeline(
        [
            ("impute", _categorical_imputer(features)),
            (
                "one_hot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=features.max_one_hot,
                    min_frequency=features.min_frequency,
                    sparse_output=False,
                ),
            ),
        ]
    )


def _boolean() -> Pipeline:
    return Pipeline(
        [("read", BooleanEncoder()), ("impute", SimpleImputer(strategy="most_frequent"))]
    )


def _datetime(features: FeaturesConfig) -> Pipeline:
    settings = features.datetime
    return Pipeline(
        [
            ("parts", DatetimeEncoder(list(settings.parts), settings.elapsed_days)),
            ("impute", SimpleImputer(strategy="median")),
            ("scale", _scaled(features)),
        ]
    )


def _text(settings: TextFeaturesConfig) -> TextEncoder:
    ngrams = (1, settings.ngram_max)
    vectorizer: Any
    if settings.vectorizer == "tfidf":
        vectorizer = TfidfVectorizer(
            max_features=settings.max_features,
            min_df=settings.min_df,
            ngram_range=ngrams,
            sublinear_tf=True,
        )
    else:
        vectorizer = HashingVectorizer(
            n_features=settings.max_features, ngram_range=ngrams, alternate_sign=False
        )
    return TextEncoder(vectorizer)
