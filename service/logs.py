"""How `stairway serve` logs: plain lines for a terminal, or one JSON object per line
(`STAIRWAY_LOG_FORMAT=json`) for a log pipeline; every record made while a request is answered
carries that request's id."""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
import os
from datetime import UTC, datetime

import orjson

FORMATS = ("text", "json")
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# What every LogRecord has; anything else on a record came from `extra=` and is the caller's field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, the caller's extra
    fields, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            entry["requestId"] = current
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # what orjson refuses (an integer over 64 bits): the standard library takes it
            return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """uvicorn's style, with the request id after the logger's name when there is one."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s:     %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        current = request_id.get()
        if current is None:
            return line
        prefix = f"{record.levelname}:     {record.name}: "
        return f"{prefix}[{current}] {line[len(prefix) :]}" if line.startswith(prefix) else line


def log_format(value: str | None = None) -> str:
    """The format asked for (default: `STAIRWAY_LOG_FORMAT`, else text); ValueError names the choices."""
    chosen = (value if value is not None else os.environ.get("STAIRWAY_LOG_FORMAT") or "text").strip().lower()
    if chosen not in FORMATS:
        raise ValueError(f"STAIRWAY_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {chosen!r}")
    return chosen


def configure_logging(chosen: str) -> dict[str, object]:
    """Send Stairway's and uvicorn's records to stderr in the chosen format; returns the logging
    configuration to hand uvicorn so that it keeps to it."""
    formatter = "json" if chosen == "json" else "text"
    config: dict[str, object] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}, "text": {"()": TextFormatter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": formatter, "stream": "ext://sys.stderr"}
        },
        # Everything else (SQLAlchemy, asyncio, strawberry) in the same format, warnings and worse.
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "stairway": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            # Stairway logs each request itself, with its id and time: uvicorn's access line would repeat it.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
    logging.config.dictConfig(config)
    return config
