"""Imports every package's table modules, so the metadata is complete for Alembic and tests."""

from agendas.programme import models as agenda_models  # noqa: F401
from agendas.record import models as record_models  # noqa: F401
from agendas.record import progress_models  # noqa: F401
from meetings.accounts import models as account_models  # noqa: F401
from meetings.attendance import models as attendance_models  # noqa: F401
from meetings.planning import (
    document_models,  # noqa: F401
    rsvp_models,  # noqa: F401
)
from meetings.planning import models as planning_models  # noqa: F401
from meetings.planning import request_models as report_request_models  # noqa: F401
from meetings.register import models as register_models  # noqa: F401
from notify.inbound import models as inbound_models  # noqa: F401
from notify.mail import models as notify_models  # noqa: F401
from scheduler import models as scheduler_models  # noqa: F401
