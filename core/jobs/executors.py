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
    if serving is not None:
        executor, address, slots = serving.get("executor"), serving.get("ray_address"), serving.get("slots")
        who = f"the running worker (pid {serving['pid']})"
        if executor == "ray":
            where = f"the Ray cluster at `{address}`" if address else "a Ray instance it started on this machine"
            return (f"Runs train on {where}, one CPU each, up to {slots} at a time ({who}, Ray executor); it "
                    "writes every result into the workspace.")
        return f"Runs train on this machine, {slots} at a time ({who}, local executor)."
    if settings.executor == "ray":
        where = (f"the Ray cluster at `{settings.ray_address}`" if settings.ray_address
                 else "a Ray instance the worker starts on this machine")
        return (f"Runs train on {where}, one CPU each ({EXECUTOR_ENV}=ray); the worker on this machine writes every "
                "result into the workspace.")
    if settings.executor == "local":
        return f"Runs train on this machine, {settings.slots} at a time (the local executor)."
    return f"{EXECUTOR_ENV} is {settings.executor!r}: the worker will refuse it (choose {' or '.join(EXECUTORS)})."


def estimate_place(settings: Settings, serving: dict | None = None) -> str:
    """Where the time estimate holds: it is measured on this machine's cores (``serving``: as for
    ``where_runs_train``)."""
    executor = serving.get("executor") if serving is not None else settings.executor
    return "on this machine" if executor == "local" else "at this machine's pace (a cluster may be faster)"
