"""Pseudonyms: keyed, stable, never the raw value; PII columns hashed or dropped; a missing or
short key is a clear error naming the variable, raised only when something would be stored."""

import hashlib

import pytest

from {{ cookiecutter.package_name }}.core.privacy import KEY_VARIABLE, PiiMode, Privacy, PseudonymKeyError

KEY = "k" * 32
RECORD = {"email": "ada@example.com", "phone": None, "amount": 3.5}


def test_a_pseudonym_is_keyed_stable_and_typed() -> None:
    privacy = Privacy(key=KEY.encode())
    other_key = Privacy(key=("x" * 32).encode())
    assert privacy.pseudonym("ada") == privacy.pseudonym("ada")
    assert privacy.pseudonym("ada") != other_key.pseudonym("ada")  # the key matters
    assert privacy.pseudonym("ada") != hashlib.sha256(b"ada").hexdigest()  # not a plain hash
    assert privacy.pseudonym(3.5) == privacy.pseudonym("3.5")  # the value's text is hashed
    assert len(privacy.pseudonym("ada")) == 64


def test_pii_columns_are_hashed_or_dropped_and_the_rest_kept() -> None:
    hashing = Privacy(frozenset({"email", "phone"}), "hash", KEY.encode())
    stored = hashing.record(RECORD)
    assert stored == {"email": hashing.pseudonym("ada@example.com"), "phone": None, "amount": 3.5}
    dropping = Privacy(frozenset({"email", "phone"}), "drop", KEY.encode())
    assert dropping.record(RECORD) == {"amount": 3.5}
    assert Privacy(frozenset({"name"}), "hash").record(RECORD) is RECORD  # nothing to protect


def test_an_entity_id_is_stored_as_its_pseudonym_or_not_at_all() -> None:
    privacy = Privacy(key=KEY.encode())
    assert privacy.entity("customer-7") == privacy.pseudonym("customer-7")
    assert privacy.entity(None) is None
    assert Privacy().entity("customer-7") is None  # no key: never stored raw


def test_the_key_comes_from_the_environment() -> None:
    assert Privacy.from_environment(environ={KEY_VARIABLE: KEY}).key == KEY.encode()
    assert Privacy.from_environment(environ={}).key is None
    with pytest.raises(PseudonymKeyError, match=f"{KEY_VARIABLE} is too short \\(5 characters\\)"):
        Privacy.from_environment(environ={KEY_VARIABLE: "short"})


def test_pii_columns_without_a_key_are_an_error_naming_the_variable_and_the_columns() -> None:
    Privacy(frozenset({"email"}), key=KEY.encode()).check_can_store()
    Privacy().check_can_store()  # nothing personal configured: a key is optional
    modes: tuple[PiiMode, ...] = ("hash", "drop")
    for mode in modes:
        with pytest.raises(PseudonymKeyError, match=f"pii: true: email.*{KEY_VARIABLE} is not set"):
            Privacy(frozenset({"email"}), mode).check_can_store()
    with pytest.raises(PseudonymKeyError, match=KEY_VARIABLE):
        Privacy().pseudonym("customer-7")
