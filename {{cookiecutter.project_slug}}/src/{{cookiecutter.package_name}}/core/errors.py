"""Errors that the CLI reports as one clear message instead of a traceback."""


class ProjectError(Exception):
    """A problem the user can fix: bad config, bad data, missing inputs.

    The message says what is wrong and how to fix it; the CLI prints it and exits with
    ``exit_code``.
    """

    exit_code = 1


class ConfigError(ProjectError):
    """The composed configuration is invalid or out of sync with ``conf/``."""

    exit_code = 2


class DataValidationError(ProjectError):
    """Raw data broke the schema in ``conf/data``; nothing downstream may run."""
