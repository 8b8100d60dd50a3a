"""core/pii_detection: personal data by name and by each value pattern, sensitive attributes
proposed, and ordinary columns left alone."""

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.pii_detection import (
    detect_personal_data,
    name_words,
    propose_sensitive,
)

ROWS = 40


def kinds(frame: pd.DataFrame) -> dict[str, str]:
    return {found.column: found.kind for found in detect_personal_data(frame)}


def column(values: list[str]) -> pd.DataFrame:
    """A column with a neutral name, so only its values can give it away."""
    return pd.DataFrame({"field": (values * ROWS)[:ROWS]})


def test_a_dataset_with_email_and_phone_columns_is_flagged() -> None:
    frame = pd.DataFrame(
        {
            "contact": [f"user{i}@example.com" for i in range(ROWS)],
            "tel": [f"+44 20 7946 {i:04d}" for i in range(ROWS)],
            "plan": ["basic", "pro"] * (ROWS // 2),
            "spend": np.linspace(1.0, 99.0, ROWS),
        }
    )
    assert kinds(frame) == {"contact": "e-mail", "tel": "phone"}


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["ada.lovelace@example.org", "grace@navy.mil"], "e-mail"),
        (["(555) 123-4567", "555-987-6543", "+33 6 12 34 56 78"], "phone"),
        (["192.168.1.20", "10.0.0.7", "2001:db8::1"], "IP address"),
        (["078-05-1120", "219-09-9999"], "national id"),
        (["QQ 12 34 56 C", "AB123456D"], "national id"),
        (["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"], "payment number"),
        (["4111 1111 1111 1111", "5500-0000-0000-0004"], "payment number"),
        (["221B Baker Street", "10 Downing St", "1600 Pennsylvania Avenue NW"], "postal address"),
    ],
)
def test_each_value_pattern_is_recognised(values: list[str], kind: str) -> None:
    assert kinds(column(values)) == {"field": kind}


def test_person_names_are_recognised_when_they_rarely_repeat() -> None:
    first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John"]
    last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth"]
    names = [f"{a} {b}" for a in first for b in last][:ROWS]
    assert kinds(pd.DataFrame({"holder": names})) == {"holder": "person name"}
    cities = pd.DataFrame({"city": ["New York", "Los Angeles"] * (ROWS // 2)})
    assert kinds(cities) == {}


def test_free_text_is_personal_data_when_it_carries_contact_details() -> None:
    notes = [f"please call me back on +1 415 555 {i:04d} after lunch" for i in range(10)]
    notes += ["the parcel arrived late and the box was damaged"] * (ROWS - 10)
    assert kinds(pd.DataFrame({"notes": notes})) == {"notes": "free text holding personal data"}
    plain = pd.DataFrame({"notes": ["the parcel arrived late and the box was damaged"] * ROWS})
    assert kinds(plain) == {}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Email", "e-mail"),
        ("customerEmailAddress", "e-mail"),
        ("phone_number", "phone"),
        ("client_ip", "IP address"),
        ("last_name", "person name"),
        ("zip_code", "postal address"),
        ("SSN", "national id"),
        ("iban", "payment number"),
        ("date_of_birth", "date of birth"),
    ],
)
def test_names_give_personal_data_away_whatever_the_values(name: str, kind: str) -> None:
    assert kinds(pd.DataFrame({name: range(ROWS)})) == {name: kind}


def test_ordinary_columns_are_not_personal_data() -> None:
    frame = pd.DataFrame(
        {
            "unzipped_bytes": np.arange(ROWS, dtype=float),  # "zip" only as a whole word
            "shipping": ["ip", "ups"] * (ROWS // 2),  # a value that is a keyword is no name
            "signup_date": pd.date_range("2024-01-01", periods=ROWS).strftime("%Y-%m-%d"),
            "ratio": [f"{v:.6f}" for v in np.linspace(0, 1, ROWS)],
            "version": ["1.2.3", "2.0.1"] * (ROWS // 2),
            "species": ["Adelie", "Gentoo"] * (ROWS // 2),
            "customer_id": [f"c{i:05d}" for i in range(ROWS)],
        }
    )
    assert kinds(frame) == {}


def test_the_target_can_be_skipped() -> None:
    frame = pd.DataFrame({"email": ["a@b.co"] * ROWS})
    assert detect_personal_data(frame, skip=("email",)) == []


def test_name_words_split_case_and_separators() -> None:
    assert name_words("customerEmail-Address") == "_customer_email_address_"
    assert name_words("marital-status") == "_marital_status_"


def test_sensitive_attributes_by_name_and_by_values() -> None:
    frame = pd.DataFrame(
        {
            "gender": ["a", "b"] * (ROWS // 2),
            "age": np.arange(ROWS),
            "marital-status": ["x", "y"] * (ROWS // 2),
            "native_country": ["NO", "SE"] * (ROWS // 2),
            "s": ["M", "F"] * (ROWS // 2),
            "usage": np.arange(ROWS),
            "page": np.arange(ROWS),
        }
    )
    proposed = {found.column: found.kind for found in propose_sensitive(frame)}
    assert proposed == {
        "gender": "sex or gender",
        "age": "age",
        "marital-status": "marital status",
        "native_country": "nationality",
        "s": "sex or gender",
    }
    by_values = next(found for found in propose_sensitive(frame) if found.column == "s")
    assert by_values.describe() == "'s' looks like sex or gender (its values ['f', 'm'])"
