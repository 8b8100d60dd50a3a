"""encoders: dates and times, yes/no values and free text as model inputs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

from {{ cookiecutter.package_name }}.core.encoders import (
    BooleanEncoder,
    DatetimeEncoder,
    TextEncoder,
    as_boolean,
    as_timestamps,
)

PARTS = ["year", "month", "day", "day_of_week", "hour", "minute"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (np.False_, False),
        ("Yes", True),
        ("off", False),
        ("T", True),
        (1, True),
        (0.0, False),
        ("maybe", None),
        (2, None),
        (" yes", None),
        (None, None),
        (np.nan, None),
        (pd.NA, None),
    ],
)
def test_yes_no_values_read_as_booleans(value: object, expected: bool | None) -> None:
    assert as_boolean(value) is expected


def test_booleans_become_ones_and_zeros_with_nan_where_unknown() -> None:
    frame = pd.DataFrame(
        {
            "member": pd.array([True, False, None, True], dtype="boolean"),
            "opt_in": ["yes", "NO", "perhaps", None],
        }
    )
    encoder = BooleanEncoder().fit(frame)
    out = encoder.transform(frame)
    np.testing.assert_array_equal(out[:, 0], [1.0, 0.0, np.nan, 1.0])
    np.testing.assert_array_equal(out[:, 1], [1.0, 0.0, np.nan, np.nan])
    assert list(encoder.get_feature_names_out()) == ["member", "opt_in"]
    # Arrays (the API's fast road) give the same numbers as the DataFrame.
    np.testing.assert_array_equal(encoder.transform(frame.to_numpy(dtype=object)), out)


def test_timestamps_from_text_and_from_datetimes_agree_in_utc() -> None:
    text = pd.Series(["2024-03-01T10:30:00Z", "2024-03-01T12:30:00+02:00", None, "junk"])
    stamps = as_timestamps(text)
    assert stamps[0] == stamps[1] == pd.Timestamp("2024-03-01T10:30:00Z")
    assert stamps[2:].isna().all()
    naive = as_timestamps(pd.Series(pd.to_datetime(["2024-03-01 10:30"])))
    assert naive[0] == pd.Timestamp("2024-03-01T10:30:00Z")


def test_dates_become_calendar_parts_and_days_elapsed() -> None:
    train = pd.DataFrame({"when": ["2024-01-01T06:00", "2024-01-03T18:45", None]})
    encoder = DatetimeEncoder(PARTS, elapsed_days=True).fit(train)
    names = list(encoder.get_feature_names_out())
    assert names == [f"when_{part}" for part in PARTS] + ["when_elapsed_days"]
    later = pd.DataFrame({"when": ["2025-01-04T12:15:00", None]})
    out = encoder.transform(later)
    # 2025-01-04 is a Saturday (5), 369 days and 6h15 after the earliest training date.
    np.testing.assert_allclose(out[0], [2025, 1, 4, 5, 12, 15, 369 + 6.25 / 24])
    assert np.isnan(out[1]).all()  # missing stays missing: the pipeline imputes it


def test_plain_dates_get_no_time_of_day_parts() -> None:
    train = pd.DataFrame({"day": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    encoder = DatetimeEncoder(PARTS, elapsed_days=False).fit(train)
    assert list(encoder.get_feature_names_out()) == [
        "day_year",
        "day_month",
        "day_day",
        "day_day_of_week",
    ]
    assert encoder.transform(train).shape == (2, 4)


def test_text_becomes_a_bounded_bag_of_words_named_by_its_column() -> None:
    notes = pd.DataFrame({"note": ["late delivery", "great product", None, "late again"] * 5})
    encoder = TextEncoder(TfidfVectorizer(max_features=3)).fit(notes)
    names = list(encoder.get_feature_names_out())
    assert len(names) == 3
    assert all(name.startswith("note_") for name in names)
    out = encoder.transform(pd.DataFrame({"note": ["never seen words", None, "late"]}))
    assert out.shape == (3, 3)
    assert not out[:2].any()  # unseen words and missing text: an empty document
    assert out[2, names.index("note_late")] > 0


def test_hashed_text_has_exactly_the_configured_width() -> None:
    notes = pd.DataFrame({"note": ["a b c", "d e f"]})
    vectorizer = HashingVectorizer(n_features=16, alternate_sign=False)
    encoder = TextEncoder(vectorizer).fit(notes)
    assert encoder.transform(notes).shape == (2, 16)
    assert encoder.get_feature_names_out()[0] == "note_hash0"


def test_a_vocabulary_left_empty_names_the_column_and_the_setting() -> None:
    once = pd.DataFrame({"note": ["alpha", "beta", "gamma"]})
    with pytest.raises(ValueError, match=r"text column 'note'.*features.text"):
        TextEncoder(TfidfVectorizer(min_df=2)).fit(once)
