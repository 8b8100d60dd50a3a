"""Personal data before it is stored: PII columns hashed or dropped, entity ids hashed (pure).

A keyed hash (HMAC-SHA256) turns a value into a pseudonym: the same value always gives the
same pseudonym, so `feedback forget` finds a person's rows by hashing their id again, and
rows stay joinable; without the key nobody can reverse a pseudonym or confirm a guess (an
unkeyed hash of an e-mail address is found by hashing a list of addresses). The key comes
from the environment (``PII_HASH_KEY``), never from a file in the repository. Whoever holds it
can link pseudonyms back to people: keep it in a secret store, and know that a new key makes
the old pseudonyms unfindable (erase with the key they were made with).

The rule: a project that marks any column ``pii: true`` must set the key before its prediction
log stores anything. Without PII columns and without a key, entity ids are not stored at all
(so there is nothing to erase by id); erasing needs the key in any case.
"""

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError

KEY_VARIABLE = "PII_HASH_KEY"
MIN_KEY_LENGTH = 32  # characters; `python -c "import secrets; print(secrets.token_hex(32))"`
PiiMode = Literal["hash", "drop"]


class PseudonymKeyError(ConfigError):
    """The key is needed (to store personal data, or to erase an entity) and not set, or too
    short to be a secret."""


HOW_TO_SET = (
    f"Set {KEY_VARIABLE} in the environment to a secret of at least {MIN_KEY_LENGTH} "
    'characters (e.g. `python -c "import secrets; print(secrets.token_hex(32))"`), kept in a '
    "secret store and never in the repository; the same in every process that stores or erases."
)


@dataclass(frozen=True)
class Privacy:
    """What of a record and its entity id may be stored.

    ``pii_columns`` are the columns marked ``pii: true`` in conf/data; ``mode`` (``serve.log.
    pii``) replaces their values by pseudonyms (``hash``) or leaves them out (``drop``).
    """

    pii_columns: frozenset[str] = frozenset()
    mode: PiiMode = "hash"
    key: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_environment(
        cls,
        pii_columns: Iterable[str] = (),
        mode: PiiMode = "hash",
        environ: Mapping[str, str] = os.environ,
    ) -> "Privacy":
        """The policy for these columns, with the key from ``PII_HASH_KEY`` (if set)."""
        text = environ.get(KEY_VARIABLE) or None
        if text is not None and len(text) < MIN_KEY_LENGTH:
            raise PseudonymKeyError(
                f"{KEY_VARIABLE} is too short ({len(text)} characters). {HOW_TO_SET}"
            )
        return cls(frozenset(pii_columns), mode, text.encode() if text is not None else None)

    def check_can_store(self) -> None:
        """Raise before storing anything when PII columns are configured and no key is set."""
        if self.pii_columns and self.key is None:
            columns = ", ".join(sorted(self.pii_columns))
            raise PseudonymKeyError(
                f"conf/data marks personal data (pii: true: {columns}), and {KEY_VARIABLE} is "
                f"not set: nothing may be stored without it. {HOW_TO_SET}"
            )

    def pseudonym(self, value: Any) -> str:
        """The keyed hash of ``value``: HMAC-SHA256 of its text (a number's JSON), in hex."""
        if self.key is None:
            raise PseudonymKeyError(
                f"{KEY_VARIABLE} is not set: the pseudonym of a value needs it. {HOW_TO_SET}"
            )
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def entity(self, entity_id: str | None) -> str | None:
        """The pseudonym stored for an entity id; None when there is none, or no key to hash
        it with (then it is not stored: raw ids never are)."""
        if entity_id is None or self.key is None:
            return None
        return self.pseudonym(entity_id)

    def record(self, record: Mapping[str, Any]) -> Mapping[str, Any]:
        """The record as it may be stored: PII values hashed (a missing one stays missing) or
        left out; the record itself when it holds no PII column."""
        if self.pii_columns.isdisjoint(record):
            return record
        if self.mode == "drop":
            return {name: value for name, value in record.items() if name not in self.pii_columns}
        return {
            name: self.pseudonym(value) if name in self.pii_columns and value is not None else value
            for name, value in record.items()
        }
