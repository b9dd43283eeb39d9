"""The log lines the service writes: for a person at a terminal, or one JSON object a
line for a log collector (`[server] log_format = "json"`), each with the instance that
wrote it, so that several instances' lines can be told apart once gathered."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from meetings.core.live_channel import INSTANCE

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """time (UTC, ISO 8601), level, logger, message, instance; the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "instance": INSTANCE,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def log_to_console(log_format: str = "text") -> None:
    """INFO for our own reports (deliveries, scheduler actions); APScheduler's per-job
    chatter only from WARNING up."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
