"""Pipeline stages, release, serving and monitoring of this project's model."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("{{ cookiecutter.project_slug }}")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0"
