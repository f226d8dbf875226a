"""Which executor trains the worker's runs, in words the app can show.

TensorFlow-free and Ray-free (the Experiment page imports it): the executors
themselves are ``core.jobs.local_executor`` and ``core.jobs.ray_executor``,
which only the worker builds (``core.jobs.worker.make_executor``)."""

from __future__ import annotations

from core.errors import InputError
from core.settings import ENV_PREFIX, Settings

EXECUTORS = ("local", "ray")
EXECUTOR_ENV = ENV_PREFIX + "EXECUTOR"
RAY_REQUIREMENTS = "requirements-ray.txt"


def check_executor(name: str) -> str:
    """``name`` if it is an executor; an ``InputError`` naming the choices otherwise."""
    if name not in EXECUTORS:
        raise InputError(f"unknown executor {name!r} (from --executor or {EXECUTOR_ENV}); choose "
                         f"{' or '.join(EXECUTORS)}.")
    return name


def where_runs_train(settings: Settings, serving: dict | None = None) -> str:
    """One sentence for the Experiment page: where the worker's runs train — as the running worker recorded it
    (``serving``: ``core.jobs.lease.live_worker_serves``), else as ``settings`` (the app's, which a worker it
    starts inherits) say."""
    if serving is None and settings.executor not in EXECUTORS:
        return f"{EXECUTOR_ENV} is {settings.executor!r}: the worker will refuse it (choose {' or '.join(EXECUTORS)})."
    executor = serving["executor"] if serving else settings.executor
    slots = serving["slots"] if serving else settings.slots
    worker = f"the running worker (pid {serving['pid']}), {'Ray' if executor == 'ray' else 'local'} executor" \
        if serving else None
    if executor == "ray":
        address = serving.get("ray_address") if serving else settings.ray_address
        where = (f"the Ray cluster at `{address}`" if address
                 else f"a Ray instance {'it started' if serving else 'the worker starts'} on this machine")
        how = f", up to {slots} at a time ({worker})" if serving else f" ({EXECUTOR_ENV}=ray)"
        return f"Runs train on {where}, one CPU each{how}; the worker on this machine writes every result into the " \
               "workspace."
    return f"Runs train on this machine, {slots} at a time ({worker or 'the local executor'})."


def estimate_place(settings: Settings, serving: dict | None = None) -> str:
    """Where the time estimate holds: it is measured on this machine's cores (``serving``: as for
    ``where_runs_train``)."""
    executor = serving.get("executor") if serving is not None else settings.executor
    return "on this machine" if executor == "local" else "at this machine's pace (a cluster may be faster)"


def estimate_slots(settings: Settings, serving: dict | None = None) -> int:
    """How many runs the time estimate trains at once: a running local worker's slots (it may have been started
    with ``--slots``), else this machine's setting — also for Ray, whose estimate is at this machine's pace."""
    if serving is not None and serving.get("executor") == "local":
        return int(serving["slots"])
    return settings.slots
