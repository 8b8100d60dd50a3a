"""core/dataset_proposal: what `data init` writes for review, and that the YAML reads back."""

from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.core.config import DataChecksConfig, DataConfig
from {{ cookiecutter.package_name }}.core.dataset_proposal import Proposal, propose, render
from {{ cookiecutter.package_name }}.core.schema_inference import infer_schema

ROWS = 120


def customers() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    churned = rng.random(ROWS) < 0.3
    frame = pd.DataFrame(
        {
            "churned": np.where(churned, "yes", "no"),
            "cancel_fee": np.where(churned, 25.0, 0.0),  # charged on leaving: a leak
            "email": [f"user{i}@example.com" for i in range(ROWS)],
            "mobile_phone": [f"+1 415 555 {i:04d}" for i in range(ROWS)],
            "account": [f"A{i:06d}" for i in range(ROWS)],
            "currency": ["EUR"] * ROWS,
            "gender": rng.choice(["female", "male"], ROWS),
            "tenure_months": rng.integers(1, 60, ROWS).astype(float),
        }
    )
    return pd.concat([frame, frame.iloc[:6]], ignore_index=True)  # 6 rows twice


@pytest.fixture(scope="module")
def proposal() -> Proposal:
    frame = customers()
    document = infer_schema(frame, name="customers", path="data/raw/c.csv", target="churned")
    return propose(frame, document)


def test_identifier_constant_and_personal_columns_leave_the_features(proposal: Proposal) -> None:
    columns: dict[str, Any] = proposal.document["columns"]
    assert columns["account"]["feature"] is False
    assert columns["currency"]["feature"] is False
    assert (columns["email"]["pii"], columns["email"]["feature"]) == (True, False)
    assert (columns["mobile_phone"]["pii"], columns["mobile_phone"]["feature"]) == (True, False)
    assert columns["tenure_months"].get("feature", True) is True
    assert list(columns["email"])[:3] == ["type", "feature", "pii"]


def test_a_leak_is_commented_and_left_for_the_user_to_decide(proposal: Proposal) -> None:
    assert proposal.document["columns"]["cancel_fee"].get("feature", True) is True
    [note] = proposal.comments["columns.cancel_fee"]
    assert "'cancel_fee' alone predicts 'churned'" in note and "1.000" in note
    assert "`validate` stops on it until you decide" in note
    assert any(line.startswith("leakage: 'cancel_fee'") for line in proposal.summary)


def test_sensitive_attributes_are_proposed_never_filled(proposal: Proposal) -> None:
    assert proposal.document["sensitive_columns"] == []
    assert "gender (sex or gender, by its name)" in " ".join(proposal.comments["sensitive_columns"])
    assert any(
        "sensitive attributes proposed, not applied: gender" in line for line in proposal.summary
    )


def test_duplicated_rows_and_the_checks_section(proposal: Proposal) -> None:
    assert proposal.document["checks"] == DataChecksConfig().model_dump()
    assert list(proposal.document["checks"]["leakage"]) == ["action", "max_score", "accept"]
    assert "4.8% of rows repeat an earlier row" in " ".join(proposal.comments["checks"])


def test_the_rendered_yaml_reads_back_with_comments_above_their_keys(proposal: Proposal) -> None:
    text = render(proposal.document, proposal.comments, ["A header."])
    assert yaml.safe_load(text) == proposal.document
    DataConfig.model_validate(yaml.safe_load(text))
    lines = text.splitlines()
    assert lines[0] == "# A header."
    email = lines.index("  email:")
    assert lines[email - 1].startswith("  #") and "e-mail" in "".join(lines[email - 2 : email])
    assert all(len(line) <= 99 for line in lines if line.lstrip().startswith("#"))
    sensitive = lines.index("sensitive_columns: []")
    assert lines[sensitive - 1].startswith("# ")
    assert "  leakage: {action: fail, max_score: 0.98, accept: []}" in lines


def test_a_clean_table_gets_no_notes_on_its_columns() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"size": rng.normal(10, 2, 60), "colour": rng.choice(["red", "blue"], 60)}
    ).assign(label=lambda f: np.where(f["size"] + rng.normal(0, 2, 60) > 10, "big", "small"))
    proposal = propose(frame, infer_schema(frame, name="t", path="t.csv", target="label"))
    assert not [key for key in proposal.comments if key.startswith("columns.")]
    assert proposal.summary == []
