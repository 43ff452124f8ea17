"""Logging helpers shared by the apps (no Django import)."""

from __future__ import annotations

import logging
import time
from typing import Any


class ThrottledWarning:
    """A warning logged at most once every ``seconds``: for a condition that every request
    meets (a cache down, no worker running), so that the log says it without flooding."""

    def __init__(self, logger: logging.Logger, seconds: float = 60.0) -> None:
        self.logger = logger
        self.seconds = seconds
        self.last: float | None = None

    def __call__(self, message: str, *args: Any, **kwargs: Any) -> None:
        now = time.monotonic()
        if self.last is None or now - self.last > self.seconds:
            self.last = now
            self.logger.warning(message, *args, **kwargs)
