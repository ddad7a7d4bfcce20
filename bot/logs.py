"""Logs that identify no one (issue 11, item 6).

- The access log (`AccessLog`, given to aiohttp's runner by bot/serving.py) writes the method,
  the path without its query string, the status, the size and the time taken: never the client's
  address, user agent, referrer or cookies, which could be matched to a person's case times.
- Third-party loggers (the Slack and LINE SDKs, aiohttp's client, urllib3, the database drivers)
  stay at WARNING whatever TSUNAGU_LOG_LEVEL says: at DEBUG they write whole request bodies (a
  person's relayed words, their Slack DM channel, tokens) and SQL parameters.
- Every record is made one line (control characters escaped as \\xNN) and cut: each value to
  MAX_VALUE characters, the line to MAX_LINE (a value from the network can be anything, of any
  length). This is a log record factory, so it holds for every handler, whoever adds it.

`install()` is idempotent; `setup(level)` is what the `tsunagu` commands call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

THIRD_PARTY = ("slack_sdk", "slack_bolt", "linebot", "aiohttp.client", "aiohttp.websocket", "urllib3",
               "sqlalchemy", "aiosqlite", "asyncpg", "alembic", "multipart", "charset_normalizer")
MAX_VALUE = 200
MAX_LINE = 2000
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: str, limit: int = MAX_VALUE) -> str:
    """`value` on one line (control and direction characters escaped), cut to `limit`."""
    text = _CONTROL.sub(_escape, value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…(+{len(text) - limit})"


def _cleaned_args(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(clean(a) if isinstance(a, str) else a for a in args)
    if isinstance(args, Mapping):
        return {k: clean(v) if isinstance(v, str) else v for k, v in args.items()}
    return args


class _Factory:
    """The log record factory: the previous one's record, made safe to write."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        try:
            record.args = _cleaned_args(record.args)
            message = record.getMessage()
        except Exception:  # a bad format string: keep what can be said about it
            message = f"unformattable log message from {record.name}"
        record.msg = clean(message, MAX_LINE)
        record.args = None
        return record


def install() -> None:
    """Make every log record safe and keep the third-party loggers at WARNING (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _Factory):
        logging.setLogRecordFactory(_Factory(current))
    for name in THIRD_PARTY:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def setup(level: str) -> None:
    """Logging for a `tsunagu` process: TSUNAGU_LOG_LEVEL for Tsunagu's own loggers."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    install()


class AccessLog(AbstractAccessLogger):
    """One line a request: method, path (no query string), status, bytes, milliseconds."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        self.logger.info("%s %s %s %s %.0fms", request.method, request.rel_url.path, response.status,
                         response.body_length, time * 1000)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
