"""Errors a person can act on: a message and a hint naming what to do, and the exit status they end qa with."""

from __future__ import annotations


class QAError(Exception):
    """A user-facing error: one line of what went wrong and one of what to do about it (exit status 1)."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class UsageError(QAError):
    """The command was used wrongly (a bad option value, a date out of range): exit status 2, like click's."""

    exit_code = 2


class SettingsError(UsageError):
    """A setting from the environment, a config file or an option has a value qa does not accept (exit 2)."""
