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
    for heading in (
        "Intended use",
        "Metrics (test split)",
        "Metrics per slice",
        "Release gate",
        "Limitations",
        "Data",
        "Lineage",
    ):
        assert f"## {heading}" in text
    assert "**passed**" in text
    assert "`island=Dream`" in text  # named as a limitation: 0.8 vs 0.95 overall
    assert "abc123" in text and "d41d8" in text and "`r1`" in text


def test_limitations_flag_only_slices_far_from_overall() -> None:
    slices = {"a": {"accuracy": 0.94}, "b": {"accuracy": 0.7}, "c": {"accuracy": None}}
    notes = limitations(slices, "accuracy", 0.95)
    assert len(notes) == 1
    assert notes[0].startswith("`b`")


def test_limitations_follow_the_metric_direction() -> None:
    """A slice is a limitation when it is worse: a higher error for a lower-is-better metric."""
    slices = {"easy": {"rmse": 50.0}, "hard": {"rmse": 150.0}}
    notes = limitations(slices, "rmse", 100.0)
    assert [note.split(":")[0] for note in notes] == ["`hard`"]
    assert limitations({"good": {"accuracy": 1.0}}, "accuracy", 0.8) == []


def test_card_states_the_direction_of_the_primary_metric() -> None:
    text = render(
        project="demo",
        description="Predicts mass",
        name="model",
        version="1",
        task="regression",
        target="body_mass_g",
        features=["island"],
        metric="rmse",
        metrics={"rmse": 300.0, "mae": 250.0, "r2": 0.8},
        slices={},
        decision=None,
        lineage={},
        aliases=[],
    )
    assert "Primary metric: `rmse` (lower is better)." in text
    assert "| rmse | mae | r2 |" in text  # the registry's order
