"""Personal data and sensitive attributes, recognised by column name and by value patterns.

Pure: `data init` asks, for each column of a new table, whether it looks like personal data
(e-mail, phone, person name, postal address, IP address, national id or payment number, date
of birth; or free text that holds such values) and whether it looks like a sensitive attribute
(sex, age, ethnicity, religion, ...). It proposes, the user confirms: a proposal is evidence
for a review, not a guarantee either way.
"""

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

# Values are judged on a sample; a column is that kind when at least this share matches.
SAMPLE_SIZE = 500
MIN_MATCH_SHARE = 0.5
# Free text is personal data when this share of its values carries an e-mail or a phone.
MIN_TEXT_SHARE = 0.05
# Person names repeat little: below this share of distinct values they are labels instead.
MIN_NAME_UNIQUE_SHARE = 0.5

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
PHONE = re.compile(r"\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{1,5}\)?){1,6}")
DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
PERSON_NAME = re.compile(r"[A-Z][a-z'\u2019-]+(?: [A-Z][a-z'\u2019.-]*){1,3}")
STREET = re.compile(
    r"\d+[a-z]?,? [\w'. -]*\b(street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|"
    r"way|court|ct|place|pl|square|sq|rue|strasse|straße|weg|via|calle)\b",
    re.IGNORECASE,
)
US_SSN = re.compile(r"\d{3}-\d{2}-\d{4}")
UK_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]", re.IGNORECASE)
IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
CARD = re.compile(r"\d(?:[ -]?\d){12,18}")

# Column-name keywords (whole words of the snake_cased name) per kind of personal data.
PII_NAMES: dict[str, tuple[str, ...]] = {
    "e-mail": ("email", "e_mail", "email_address", "mail_address"),
    "phone": ("phone", "telephone", "mobile_number", "mobile_phone", "cellphone", "fax", "msisdn"),
    "IP address": ("ip", "ip_address", "ipv4", "ipv6", "ip_addr"),
    "person name": (
        "first_name", "firstname", "last_name", "lastname", "surname", "full_name", "fullname",
        "given_name", "family_name", "middle_name", "maiden_name", "username", "user_name",
    ),
    "postal address": (
        "address", "street", "street_address", "address_line", "zip", "zip_code", "zipcode",
        "postcode", "post_code", "postal_code",
    ),
    "national id": (
        "ssn", "social_security", "social_security_number", "national_id", "nino", "passport",
        "passport_number", "tax_id", "tin", "id_card", "driver_license", "drivers_license",
        "licence_number", "license_number",
    ),
    "payment number": ("iban", "credit_card", "card_number", "account_number", "bank_account"),
    "date of birth": ("dob", "date_of_birth", "birth_date", "birthdate", "birthday"),
}  # fmt: skip
SENSITIVE_NAMES: dict[str, tuple[str, ...]] = {
    "sex or gender": ("sex", "gender"),
    "age": ("age", "age_group", "age_band", "dob", "date_of_birth", "birth_date", "birth_year"),
    "race or ethnicity": ("race", "ethnicity", "ethnic", "ethnic_group", "skin_color"),
    "religion": ("religion", "religious", "faith"),
    "nationality": ("nationality", "citizenship", "native_country", "country_of_birth"),
    "disability": ("disability", "disabled", "handicap", "impairment"),
    "marital status": ("marital", "marital_status", "married", "civil_status"),
    "sexual orientation": ("sexual_orientation",),
    "pregnancy": ("pregnant", "pregnancy", "maternity"),
    "health": ("diagnosis", "medical_condition", "health_condition"),
    "political opinion": ("political", "party_affiliation"),
    "trade union membership": ("union_member", "trade_union"),
}
# Categories that reveal a sensitive attribute whatever the column is called.
SENSITIVE_VALUES: dict[str, frozenset[str]] = {
    "sex or gender": frozenset(
        {"m", "f", "male", "female", "man", "woman", "men", "women", "non-binary", "nonbinary"}
    ),
    "marital status": frozenset(
        {"married", "single", "divorced", "widowed", "separated", "never-married"}
    ),
}


@dataclass(frozen=True)
class Detection:
    """Why a column was proposed: what it looks like and the evidence (name or values)."""

    column: str
    kind: str
    evidence: str

    def describe(self) -> str:
        return f"'{self.column}' looks like {self.kind} ({self.evidence})"


def name_words(column: str) -> str:
    """``"customerEmail-Address"`` -> ``"_customer_email_address_"``: whole words to match."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column)
    words = [word for word in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if word]
    return "_" + "_".join(words) + "_"


def _named(column: str, keywords: tuple[str, ...]) -> str | None:
    words = name_words(column)
    return next((word for word in keywords if f"_{word}_" in words), None)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_phone(text: str) -> bool:
    digits = sum(char.isdigit() for char in text)
    formatted = text.startswith("+") or len(re.findall(r"[ ().-]", text)) >= 2
    return (
        7 <= digits <= 15
        and formatted
        and PHONE.fullmatch(text) is not None
        and DATE_LIKE.fullmatch(text) is None
    )


def _luhn(text: str) -> bool:
    digits = [int(char) for char in text if char.isdigit()]
    total = sum(digits[-1::-2]) + sum(sum(divmod(2 * digit, 10)) for digit in digits[-2::-2])
    return total % 10 == 0


def _is_iban(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if IBAN.fullmatch(compact) is None:
        return False
    rotated = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rotated)) % 97 == 1


def _is_national_id(text: str) -> bool:
    return US_SSN.fullmatch(text) is not None or UK_NINO.fullmatch(text) is not None


def _is_card(text: str) -> bool:
    return CARD.fullmatch(text) is not None and _luhn(text)


VALUE_PATTERNS: dict[str, Callable[[str], bool]] = {
    "e-mail": lambda text: EMAIL.fullmatch(text) is not None,
    "IP address": _is_ip,
    "national id": _is_national_id,
    "payment number": lambda text: _is_iban(text) or _is_card(text),
    "phone": _is_phone,
    "postal address": lambda text: STREET.match(text) is not None,
}


def _sample(series: pd.Series) -> pd.Series:
    present = series.dropna()
    if len(present) > SAMPLE_SIZE:
        present = present.sample(n=SAMPLE_SIZE, random_state=0)
    text = present.astype(str).str.strip()
    return text[text != ""]


def _share(values: pd.Series, matches: Callable[[str], bool]) -> float:
    return float(values.map(matches).mean()) if len(values) else 0.0


def _has_phone(text: str) -> bool:
    return any(_is_phone(match.group().strip()) for match in PHONE.finditer(text))


def _by_values(column: str, values: pd.Series) -> Detection | None:
    """The first kind of personal data that the sampled ``values`` look like, if any."""
    for kind, matches in VALUE_PATTERNS.items():
        share = _share(values, matches)
        if share >= MIN_MATCH_SHARE:
            return Detection(column, kind, f"{share:.0%} of sampled values match")
    names = _share(values, lambda text: PERSON_NAME.fullmatch(text) is not None)
    distinct = values.nunique() / len(values) if len(values) else 0.0
    if names >= MIN_MATCH_SHARE and distinct >= MIN_NAME_UNIQUE_SHARE:
        return Detection(column, "person name", f"{names:.0%} of sampled values read as names")
    words = values.str.count(r"\S+")
    if len(values) and words.median() >= 3:
        inside = _share(values, lambda text: EMAIL.search(text) is not None or _has_phone(text))
        if inside >= MIN_TEXT_SHARE:
            evidence = f"{inside:.0%} of sampled texts contain an e-mail or a phone number"
            return Detection(column, "free text holding personal data", evidence)
    return None


def detect_personal_data(frame: pd.DataFrame, skip: tuple[str, ...] = ()) -> list[Detection]:
    """Columns that look like personal data, by name first, then by their text values."""
    found = []
    for column in (str(name) for name in frame.columns if name not in skip):
        kind = next((kind for kind, words in PII_NAMES.items() if _named(column, words)), None)
        if kind is not None:
            found.append(Detection(column, kind, "by its name"))
            continue
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        detected = _by_values(column, _sample(series))
        if detected:
            found.append(detected)
    return found


def propose_sensitive(frame: pd.DataFrame, skip: tuple[str, ...] = ()) -> list[Detection]:
    """Columns that look like sensitive attributes (fairness is measured across their groups),
    by name, or by categories such as female/male."""
    found = []
    for column in (str(name) for name in frame.columns if name not in skip):
        kind = next(
            (kind for kind, words in SENSITIVE_NAMES.items() if _named(column, words)), None
        )
        if kind is not None:
            found.append(Detection(column, kind, "by its name"))
            continue
        values = set(_sample(frame[column]).str.casefold().unique())
        for kind, known in SENSITIVE_VALUES.items():
            if 1 < len(values) <= len(known) and values <= known:
                found.append(Detection(column, kind, f"its values {sorted(values)}"))
                break
    return found
