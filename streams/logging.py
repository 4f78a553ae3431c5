"""A logging filter that blanks media-hook secrets and stream keys out of log lines."""

from __future__ import annotations

import logging
import re

_SECRET_PARAM = re.compile(r"(?i)\b(secret|key|stream_key|pass|password|token)=([^&\s\"']+)")


def redact(text: str) -> str:
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}=[redacted]", text)


class RedactStreamSecrets(logging.Filter):
    """Rewrites the formatted message (request lines carry ``?secret=`` and ``?key=``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not ours
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
