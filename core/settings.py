"""Every cap and default in one place: ``Settings`` (caps, workspace, worker;
each overridable by an environment variable ``IMBALANCE_LAB_<FIELD>``) and
``TrainSettings`` (the training settings an experiment starts from)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

ENV_PREFIX = "IMBALANCE_LAB_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout: app.py, core/, data/
DATA_DIR = PROJECT_ROOT / "data"  # the built-in sample and the synonym table


@dataclass(frozen=True)
class Settings:
    workspace: Path = Path("workspace")
    max_upload_mb: int = 200
    max_rows: int = 500_000
    max_classes: int = 200
    max_text_chars: int = 20_000
    min_class_rows: int = 3  # fewest rows a class needs to be split train/val/test
    default_seeds: int = 5  # issue 16: 3 seeds detect only large effects
    max_seeds: int = 50  # an experiment's seeds: 1 … max_seeds
    # The most recipes an experiment's sweeps may expand into (``focal(gamma=0.5|1|2)`` makes 3); each trains
    # once per seed, so 30 recipes at the default 5 seeds are 150 runs.
    max_sweep_recipes: int = 30
    test_share: float = 0.2
    validation_share: float = 0.1
    worker_slots: int = 0  # 0 = number of cores
    heartbeat_s: float = 2.0
    stale_after_s: float = 20.0
    cancel_grace_s: float = 10.0
    # A warm run process (core.jobs.slot) trains runs one after another and
    # exits after this many, above this resident memory, or idle this long
    # (an idle TensorFlow process holds ≈0.9 GB).
    slot_max_runs: int = 50
    slot_max_rss_mb: int = 4000
    slot_idle_s: float = 60.0
    # Where runs train (core.jobs.executors): "local" — warm processes on this machine, ``slots`` at a time — or
    # "ray" — one Ray task per run (requirements-ray.txt). ``ray_address``: a running Ray cluster to join
    # (HOST:PORT of its head, or "auto"); empty: the worker starts a Ray instance on this machine. Either way the
    # worker here is the only writer of results.
    executor: str = "local"
    ray_address: str = ""
    no_autostart: bool = False
    # Serve the workspace for viewing (``scripts/start.sh --read-only``): every user change to datasets,
    # experiments and runs is refused (``refuse_when_read_only``); predictions and downloads stay allowed.
    # The app's setting only: the worker's own writes (results, lease, heartbeats) are not user changes.
    read_only: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        """Defaults, then environment variables, then explicit overrides."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            default = f.default
            if isinstance(default, bool):
                values[f.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            elif isinstance(default, Path):
                values[f.name] = Path(raw)
            else:
                values[f.name] = type(default)(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "workspace" in values:
            values["workspace"] = Path(values["workspace"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    @property
    def slots(self) -> int:
        return self.worker_slots or (os.cpu_count() or 1)


def get_settings(**overrides: object) -> Settings:
    return Settings.from_env(**overrides)


READ_ONLY_ENV = ENV_PREFIX + "READ_ONLY"


def refuse_when_read_only(action: str) -> None:
    """Raise an ``InputError`` naming the mode when the workspace is served read-only
    (``IMBALANCE_LAB_READ_ONLY=1``). Every user-facing write of ``core`` calls it first, so the app, the
    CLI and scripts are refused alike; ``action`` says what was refused ("submitting an experiment")."""
    if not get_settings().read_only:
        return
    from core.errors import InputError

    raise InputError(f"This workspace is served read-only ({READ_ONLY_ENV}=1): {action} is not allowed. Viewing, "
                     "predictions and downloads still work; to change the workspace, start the app without "
                     f"--read-only (unset {READ_ONLY_ENV}).")


@dataclass(frozen=True)
class TrainSettings:
    """Training settings shared by every recipe of an experiment; these defaults
    are what an experiment gets unless it says otherwise (stored with it)."""

    # Defaults chosen by the protocol of issue 16 on validation rows of the shared datasets (BENCHMARKS.md,
    # section 9): 30 epochs at most, patience 6 and the plateau schedule; max pooling. Before: 10 epochs,
    # patience 2, a constant rate, the final state.
    epochs: int = 30
    batch_size: int = 128
    patience: int = 6
    vocab_size: int = 20_000
    max_len: int | None = None  # None: 95th percentile of training lengths, capped at max_len_cap
    embedding_dim: int = 64
    units: int = 64
    learning_rate: float = 3e-3
    dropout: float = 0.2
    lr_schedule: str = "plateau"  # constant | plateau: halve the learning rate after 2 epochs without a better score
    max_len_cap: int = 256  # the longest max_len the percentile rule may choose
    pooling: str = "max"  # what the classifier reads: last (final state) | max | mean_max over every word's output

    def __post_init__(self):
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)} (got {self.lr_schedule!r})")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)} (got {self.pooling!r})")

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_user(cls, payload: dict, *, where: str = "[training]") -> "TrainSettings":
        """Settings a user wrote (a spec file's ``[training]``): fields left out take today's defaults; an
        unknown name or a bad value is refused with what is allowed."""
        from core.errors import InputError

        unknown = sorted(set(payload) - set(cls.__dataclass_fields__))
        if unknown:
            raise InputError(f"{where}: unknown setting {', '.join(unknown)}; known: "
                             f"{', '.join(cls.__dataclass_fields__)}.")
        lists = sorted(k for k, v in payload.items() if isinstance(v, (list, tuple, dict)))
        if lists:
            raise InputError(f"{where}: {lists[0]} = {payload[lists[0]]!r} is a list; a setting takes one value (to "
                             f"sweep it, write the values as one string: {lists[0]} = \"a|b\").")
        try:
            return cls(**payload)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where}: {exc}.") from None

    @classmethod
    def from_json(cls, payload: dict) -> "TrainSettings":
        """Settings stored with an experiment. A field added since is given the
        value that reproduces what the code did before it existed (not today's
        default), so seeds added to an old experiment train as its first ones."""
        known = {k: v for k, v in payload.items() if k in cls.__dataclass_fields__}
        return cls(**{**BEFORE_FIELD_EXISTED, **known})


LR_SCHEDULES = ("constant", "plateau")
POOLINGS = ("last", "max", "mean_max")
# TrainSettings fields added after experiments were stored, with the behaviour before them.
BEFORE_FIELD_EXISTED = {"lr_schedule": "constant", "max_len_cap": 256, "pooling": "last"}
