"""Imports every package's table modules, so the metadata is complete for Alembic and tests."""

from agendas import models as agenda_models  # noqa: F401
from agendas import record_models  # noqa: F401
from meetings import attendance_models, meeting_models, models  # noqa: F401
from notify import models as notify_models  # noqa: F401
from scheduler import models as scheduler_models  # noqa: F401
