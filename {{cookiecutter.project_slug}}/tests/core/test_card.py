"""The model card is built from recorded facts only."""

from {{ cookiecutter.package_name }}.core.card import limitations, render


def test_card_has_every_section_and_the_gate_outcome() -> None:
    text = render(
        project="demo",
        description="Predicts species",
        name="model",
        version="3",
        task="classification",
        target="species",
        features=["island", "bill_length_mm"],
        metric="accuracy",
        metrics={"accuracy": 0.95, "f1_macro": 0.94},
        slices={"island=Dream": {"accuracy": 0.8, "f1_macro": 0.7}},
        decision={"passed": True, "reason": "passed: accuracy better"},
        lineage={"git.commit": "abc123", "data.train.md5": "d41d8", "run_id": "r1"},
        aliases=["champion"],
    )
    for heading in ("Intended use", "Metrics (test split)", "Metrics per slice", "Release gate",
                    "Limitations", "Data", "Lineage"):  # fmt: skip
        assert f"## {heading}" in text
    assert "**passed**" in text
    assert "`island=Dream`" in text  # named as a limitation: 0.8 vs 0.95 overall
    assert "abc123" in text and "d41d8" in text and "`r1`" in text


def test_limitations_flag_only_slices_far_from_overall() -> None:
    slices = {"a": {"accuracy": 0.94}, "b": {"accuracy": 0.7}, "c": {"accuracy": None}}
    notes = limitations(slices, "accuracy", 0.95)
    assert len(notes) == 1
    assert notes[0].startswith("`b`")
