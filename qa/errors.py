"""Errors a person can act on: a message and a hint naming what to do."""

from __future__ import annotations


class QAError(Exception):
    """A user-facing error: one line of what went wrong and one of what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message
