"""Imports every package's table modules, so the metadata is complete for Alembic and tests."""

from meetings import models  # noqa: F401
