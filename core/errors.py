"""The one exception type a user can cause, and nothing else."""

from __future__ import annotations


class InputError(Exception):
    """Bad input the user can fix: the message names the file, the row or
    column, and what to do. UI and CLI show the message, never a traceback."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)
