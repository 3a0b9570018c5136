"""Logging: one line per event on stdout, tagged with the job, secrets masked.

Each job runner also keeps its recent events in the data dir (through the
repository) so the web UI can show a job's log on a phone.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
import time

from app.masking import mask_secrets
from app.records import utc_now_iso
from app.repository.store import StorageError

current_job: contextvars.ContextVar[str] = contextvars.ContextVar("current_job", default="-")

LOG_MASK = "••••"
LINE_FORMAT = "%(asctime)s %(levelname)s [%(job)s] %(name)s: %(message)s"


class JobTagFilter(logging.Filter):
    """Puts the job of the running thread on every record as ``record.job``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "job"):
            record.job = current_job.get()
        return True


class SecretMaskFilter(logging.Filter):
    """Masks configured secrets, in every form (app.masking), in a message and its traceback."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            masked = mask_secrets(message, self.secrets, LOG_MASK)
            if masked != message:
                record.msg, record.args = masked, None
            # An exception's text can carry a secret too; the formatter uses exc_text when set.
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = mask_secrets(record.exc_text, self.secrets, LOG_MASK)
            if record.stack_info:
                record.stack_info = mask_secrets(record.stack_info, self.secrets, LOG_MASK)
        return True


class UTCFormatter(logging.Formatter):
    converter = time.gmtime

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", self.converter(record.created))


def setup_logging(level: str = "INFO", secrets: list[str] | None = None) -> None:
    """Configure the root logger once per process (again on a second call)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_resonance", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler._resonance = True  # type: ignore[attr-defined]
    handler.setFormatter(UTCFormatter(LINE_FORMAT))
    handler.addFilter(JobTagFilter())
    handler.addFilter(SecretMaskFilter(secrets or []))
    root.addHandler(handler)
    root.setLevel(level)
    # requests/urllib3 log full URLs at DEBUG, query strings (and keys) included.
    logging.getLogger("urllib3").setLevel(max(logging.INFO, root.level))


class JobLogHandler(logging.Handler):
    """Keeps a job's recent events in the data dir, written at most once a second."""

    def __init__(self, repository, job: str, keep: int = 300, secrets: list[str] | None = None):
        super().__init__()
        self.repository, self.job, self.keep = repository, job, keep
        self._pending: list[dict] = []
        self._last_flush = 0.0
        self._flushing = threading.local()
        self._last_storage_error: str | None = None
        self.addFilter(JobTagFilter())
        self.addFilter(SecretMaskFilter(secrets or []))

    def emit(self, record: logging.LogRecord) -> None:
        if record.job != self.job or getattr(self._flushing, "active", False):
            return
        self._pending.append(
            {
                "time": utc_now_iso(),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
        )
        if record.levelno >= logging.WARNING or time.monotonic() - self._last_flush >= 1.0:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        with self.lock:
            events, self._pending = self._pending, []
        # The repository logs too; don't feed its lines back into this handler.
        self._flushing.active = True
        try:
            self.repository.append_job_log(self.job, events, self.keep)
        except StorageError as exc:  # said once, not at every flush while the disk stays full
            if str(exc) != self._last_storage_error:
                logging.getLogger(__name__).error("could not write the log of %s: %s", self.job, exc)
            self._last_storage_error = str(exc)
        except Exception:  # the job log must never break the job
            logging.getLogger(__name__).exception("could not write the log of %s", self.job)
        else:
            self._last_storage_error = None
        finally:
            self._flushing.active = False
            self._last_flush = time.monotonic()
