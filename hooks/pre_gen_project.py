"""Validate the free-text options before cookiecutter writes a single file.

Cookiecutter renders this file with Jinja and runs it in a temporary directory, so it must be
self-contained. The checks live in plain functions so that the template's tests can load this
file by path and call them directly. A non-zero exit makes cookiecutter delete the half-made
project directory, so a bad option never leaves anything on disk.
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Callable, Mapping

# Import names that a generated package would shadow: the project's own dependencies and the
# names its tooling treats specially. The standard library is checked via sys.stdlib_module_names.
RESERVED_PACKAGE_NAMES = frozenset(
    {
        "conf", "data", "docs", "dvc", "fastapi", "httpx", "hydra", "joblib", "matplotlib",
        "mlflow", "models", "notebooks", "numpy", "omegaconf", "pandas", "prometheus_client",
        "pyarrow", "pydantic", "pytest", "reports", "scipy", "sklearn", "src", "starlette",
        "test", "tests", "typer", "uvicorn", "yaml",
    }
)  # fmt: skip

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_SLUG_LENGTH = 64


class OptionError(ValueError):
    """A template option whose value breaks a rule; the message is the whole explanation."""

    def __init__(self, option: str, value: str, rule: str, example: str) -> None:
        super().__init__(
            f"Invalid option {option}={value!r}: {rule}. Example of a valid value: {example}"
        )


def check_project_name(value: str) -> None:
    if not value.strip() or "\n" in value:
        raise OptionError("project_name", value, "must be one non-empty line", "Penguins ML")


def check_project_slug(value: str) -> None:
    if len(value) > MAX_SLUG_LENGTH or not SLUG_PATTERN.match(value):
        raise OptionError(
            "project_slug",
            value,
            "must be lowercase letters and digits in words joined by single hyphens, "
            f"start with a letter and be at most {MAX_SLUG_LENGTH} characters",
            "penguins-ml",
        )


def check_package_name(value: str) -> None:
    example = "penguins_ml"
    if not value.isidentifier() or not PACKAGE_PATTERN.match(value):
        raise OptionError(
            "package_name",
            value,
            "must be a lowercase Python identifier (letters, digits, underscores; "
            "starting with a letter)",
            example,
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        raise OptionError("package_name", value, "must not be a Python keyword", example)
    if value in sys.stdlib_module_names:
        raise OptionError(
            "package_name", value, "must not shadow a standard-library module", example
        )
    if value in RESERVED_PACKAGE_NAMES:
        raise OptionError(
            "package_name",
            value,
            "must not shadow a dependency or a folder of the generated project",
            example,
        )


def check_author_name(value: str) -> None:
    if not value.strip() or "\n" in value:
        raise OptionError("author_name", value, "must be one non-empty line", "ML Team")


def check_author_email(value: str) -> None:
    if not EMAIL_PATTERN.match(value):
        raise OptionError(
            "author_email",
            value,
            "must look like an e-mail address (name@domain.tld)",
            "ml-team@example.com",
        )


def check_description(value: str) -> None:
    if not value.strip() or "\n" in value:
        raise OptionError(
            "description", value, "must be one non-empty line", "Predicts penguin species."
        )


CHECKS: dict[str, Callable[[str], None]] = {
    "project_name": check_project_name,
    "project_slug": check_project_slug,
    "package_name": check_package_name,
    "description": check_description,
    "author_name": check_author_name,
    "author_email": check_author_email,
}


def validate(options: Mapping[str, str]) -> list[str]:
    """Return one message per invalid option, in the order the options are asked."""
    errors = []
    for option, check in CHECKS.items():
        try:
            check(options[option])
        except OptionError as error:
            errors.append(str(error))
    return errors


def rendered_options() -> dict[str, str]:
    """The options as cookiecutter rendered them into this file (only valid once rendered)."""
    return {
        "project_name": {{cookiecutter.project_name | tojson}},  # noqa: F821
        "project_slug": {{cookiecutter.project_slug | tojson}},  # noqa: F821
        "package_name": {{cookiecutter.package_name | tojson}},  # noqa: F821
        "description": {{cookiecutter.description | tojson}},  # noqa: F821
        "author_name": {{cookiecutter.author_name | tojson}},  # noqa: F821
        "author_email": {{cookiecutter.author_email | tojson}},  # noqa: F821
    }


def main() -> int:
    errors = validate(rendered_options())
    for message in errors:
        print(f"ERROR: {message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
