"""Retrying short write transactions when SQLite reports "database is locked"."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.store.engine import session_scope

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Each attempt already waits up to the busy timeout inside SQLite, so a few
# attempts cover a writer that holds the lock for minutes.
DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF_S = 0.5


class DatabaseBusyError(TimeoutError):
    """The database stayed locked by another writer through every retry."""


def is_locked_error(error: BaseException) -> bool:
    """Return True if ``error`` is SQLite's "database is locked" or "database is busy"."""
    text = str(getattr(error, "orig", error)).lower()
    return "database is locked" in text or "database is busy" in text


def retry_on_locked(
    url: str,
    write: Callable[[Session], T],
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_s: float = DEFAULT_BACKOFF_S,
    operation: str = "write",
) -> T:
    """Run ``write`` in its own transaction, retrying it when the database is locked.

    ``write`` must be safe to repeat: a failed attempt is rolled back as a whole
    before the next one starts. Other errors are raised at once.

    Args:
        url: the database URL.
        write: function doing the writes on the session it receives.
        attempts: total tries, at least 1.
        backoff_s: seconds to sleep after the first failure, doubled after each.
        operation: a short description for the log, such as "label save for tile 12".

    Raises:
        DatabaseBusyError: every attempt found the database locked.
    """
    if attempts < 1:
        raise ValueError(f"Invalid attempts {attempts}; give at least 1.")
    delay = backoff_s
    for attempt in range(1, attempts + 1):
        try:
            with session_scope(url) as session:
                return write(session)
        except OperationalError as error:
            if not is_locked_error(error):
                raise
            if attempt == attempts:
                logger.error("%s failed: database still locked after %d attempts", operation, attempts)
                raise DatabaseBusyError(
                    f"{operation} failed: the database {url} stayed locked by another process through "
                    f"{attempts} attempts. Close other programs writing to it, then try again."
                ) from error
            logger.warning("%s: database is locked (attempt %d of %d); retrying in %.1f s", operation, attempt, attempts, delay)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
