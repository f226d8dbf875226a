"""What the store hands out about runs: their status and their row."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable


class Status(str, Enum):
    """A run's lifecycle: queued → running → finished | failed | cancelled | interrupted."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value

    @property
    def ended(self) -> bool:
        return self in ENDED

    @property
    def requeueable(self) -> bool:
        """Whether a user may put a run in this state back in the queue."""
        return self in (Status.INTERRUPTED, Status.FAILED, Status.CANCELLED)

    @classmethod
    def values(cls, statuses: "Status | str | Iterable[Status | str]") -> list[str]:
        """The stored spellings of one status or several."""
        if isinstance(statuses, (str, Status)):
            statuses = [statuses]
        return [cls(s).value for s in statuses]


ENDED = frozenset({Status.FINISHED, Status.FAILED, Status.CANCELLED, Status.INTERRUPTED})


@dataclass(frozen=True)
class RunRow:
    id: int
    experiment_id: int
    recipe: str
    seed: int
    fingerprint: str
    status: Status
    created: float
    started: float | None
    finished: float | None
    heartbeat: float | None
    pid: int | None
    worker_pid: int | None
    cancel_requested: int
    progress: dict | None
    error: str | None
    result_dir: str | None
    reused_from: int | None
    attempts: int
