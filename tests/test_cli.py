"""``python -m core``: profile, train, experiments from flags and TOML specs,
strategies, export and predict — as a user runs them, in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_texts

PROJECT = Path(__file__).resolve().parent.parent
CLI_ENV = {"IMBALANCE_LAB_NO_AUTOSTART": "1", "IMBALANCE_LAB_WORKER_SLOTS": "2", "IMBALANCE_LAB_HEARTBEAT_S": "0.5"}
NOT_SET = ("IMBALANCE_LAB_WORKSPACE", "TF_CPP_MIN_LOG_LEVEL")  # the commands run as a user runs them
COUNTS = {"bad": 12, "ok": 18, "good": 40}
TINY_FLAGS = ["--seeds", "1", "--epochs", "1", "--units", "8", "--embedding-dim", "8"]


def cli(*args: str, workspace: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in NOT_SET}
    prefix = ["--workspace", str(workspace)] if workspace else []
    return subprocess.run([sys.executable, "-m", "core", *prefix, *map(str, args)], cwd=PROJECT,
                          env={**env, **CLI_ENV}, capture_output=True, text=True, timeout=timeout)


def write_reviews(path: Path, counts=COUNTS, seed: int = 0) -> Path:
    texts, labels = make_texts(counts, seed=seed)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cli_trained(tmp_path_factory):
    """One ``train`` run shared by the tests that read its results."""
    root = tmp_path_factory.mktemp("cli")
    csv = write_reviews(root / "reviews.csv")
    workspace = root / "ws"
    result = cli("train", csv, "--text-col", "text", "--label-col", "label", *TINY_FLAGS, "--recipe", "class_weight",
                 workspace=workspace)
    assert result.returncode == 0, result.stderr[-3000:]
    match = re.search(r"experiment (\d+) submitted: (\d+) runs", result.stderr)
    assert match, result.stderr[-2000:]
    return {"root": root, "csv": csv, "workspace": workspace, "experiment_id": int(match.group(1)),
            "n_runs": int(match.group(2)), "out": result}


def test_profile_prints_class_counts(tmp_path):
    csv = write_reviews(tmp_path / "reviews.csv")
    result = cli("profile", csv, "--text-col", "text", "--label-col", "label")
    assert result.returncode == 0, result.stderr
    assert "70 rows, 3 classes" in result.stdout
    for label, n in COUNTS.items():
        assert re.search(rf"^{label}\s+{n}\s", result.stdout, re.M), result.stdout


@pytest.mark.parametrize("case", ["missing file", "wrong column", "empty file", "binary file"])
def test_a_bad_file_exits_2_with_a_message_and_no_traceback(tmp_path, case):
    csv = write_reviews(tmp_path / "reviews.csv")
    args = {"missing file": [tmp_path / "nope.csv", "--text-col", "text", "--label-col", "label"],
            "wrong column": [csv, "--text-col", "text", "--label-col", "stars"],
            "empty file": [tmp_path / "empty.csv", "--text-col", "text", "--label-col", "label"],
            "binary file": [tmp_path / "model.csv", "--text-col", "text", "--label-col", "label"]}[case]
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "model.csv").write_bytes(bytes(range(256)) * 40)
    result = cli("profile", *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr  # a message, not a dump
    if case == "wrong column":
        assert "stars" in result.stderr


def test_train_prints_recipes_references_and_per_class_recall(cli_trained):
    out = cli_trained["out"].stdout
    assert cli_trained["n_runs"] == 5  # three references, baseline, class_weight
    for recipe in ("baseline", "class_weight", "ref:tfidf_lr (reference)", "ref:majority (reference)",
                   "ref:stratified (reference)"):
        assert re.search(rf"^[ *] {re.escape(recipe)}\s+1\s+\d", out, re.M), out
    assert "macro-F1" in out and "per-class recall" in out and out.index("On macro-F1") < out.index("recipe  ")
    recall = out[out.index("per-class recall"):]
    assert all(label in recall.splitlines()[1] for label in COUNTS)
    assert re.search(r"^class_weight\s+[\d.]+\s+[\d.]+\s+[\d.]+$", recall, re.M), recall
    assert "Traceback" not in cli_trained["out"].stderr


def tensorflow_lines(stderr: str) -> list[str]:
    """Lines of TensorFlow's start-up logging (its oneDNN notices, absl's C++ and Python logging)."""
    return [line for line in stderr.splitlines() if "oneDNN" in line or "absl" in line]


def test_train_prints_no_tensorflow_start_up_logging(cli_trained):
    assert "finished 5" in cli_trained["out"].stderr  # the training processes ran and wrote here
    assert tensorflow_lines(cli_trained["out"].stderr) == []


def test_experiment_show_prints_the_stored_comparison(cli_trained):
    result = cli("experiment", "show", cli_trained["experiment_id"], workspace=cli_trained["workspace"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"experiment {cli_trained['experiment_id']}:")
    assert "ref:tfidf_lr" in result.stdout and "class_weight" in result.stdout and "per-class recall" in result.stdout
    listed = cli("experiment", "list", workspace=cli_trained["workspace"])
    assert re.search(rf"^\s*{cli_trained['experiment_id']}\s", listed.stdout, re.M)
    missing = cli("experiment", "show", 999, workspace=cli_trained["workspace"])
    assert missing.returncode == 2 and "999" in missing.stderr and "Traceback" not in missing.stderr


def test_a_toml_spec_runs_string_and_step_recipes(cli_trained):
    spec = cli_trained["root"] / "spec.toml"
    spec.write_text(
        'name = "toml comparison"\n'
        "seeds = 1\n"
        "[data]\n"
        'file = "reviews.csv"\n'
        'text_col = "text"\n'
        'label_col = "label"\n'
        "[training]\n"
        "epochs = 1\nunits = 8\nembedding_dim = 8\n"
        "[[recipes]]\n"
        'recipe = "focal(gamma=2)"\n'
        "[[recipes]]\n"
        'steps = [{name = "class_weight", scheme = "effective", beta = 0.999}]\n', encoding="utf-8")
    result = cli("experiment", "run", spec, workspace=cli_trained["workspace"])
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "toml comparison" in out
    assert re.search(r"^[ *] focal\(gamma=2(\.0)?\)\s+1\s+\d", out, re.M), out
    assert re.search(r"^[ *] class_weight\(scheme=effective,beta=0\.999\)\s+1\s+\d", out, re.M), out
    assert re.search(r"^[ *] baseline\s+1\s+\d", out, re.M) and "ref:tfidf_lr" in out

    from core.jobs.store import Store

    store = Store(cli_trained["workspace"])
    experiment_id = int(re.search(r"experiment (\d+) submitted", result.stderr).group(1))
    runs = {r.recipe: r for r in store.runs(experiment=experiment_id)}
    assert all(r.status == "finished" for r in runs.values())
    # same data file, seed and training settings as `train`: baseline and references were not trained again
    assert runs["baseline"].reused_from is not None and runs["ref:tfidf_lr"].reused_from is not None
    assert next(r for name, r in runs.items() if name.startswith("focal")).reused_from is None


def test_a_broken_toml_spec_exits_2(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text("[data\nfile = 'x.csv'\n")
    result = cli("experiment", "run", spec, workspace=tmp_path / "ws")
    assert result.returncode == 2 and "not valid TOML" in result.stderr and "Traceback" not in result.stderr


def test_strategies_lists_every_registry_name():
    from core.strategies.registry import strategy_infos

    result = cli("strategies")
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line and not line.startswith(" ")}
    names = {info.name for info in strategy_infos()}
    assert len(names) >= 10 and names == listed


def test_export_then_predict_gives_one_class_per_row(cli_trained, tmp_path):
    bundle = tmp_path / "class_weight.zip"
    exported = cli("export", cli_trained["experiment_id"], "class_weight", bundle, workspace=cli_trained["workspace"])
    assert exported.returncode == 0, exported.stderr
    assert bundle.is_file()
    new_texts = ["awful broken refund", "lovely perfect great love", "fine average decent okay", "the item arrived"]
    new = tmp_path / "new.csv"
    pd.DataFrame({"id": range(len(new_texts)), "text": new_texts}).to_csv(new, index=False)
    result = cli("predict", bundle, new, "--text-col", "text")
    assert result.returncode == 0, result.stderr[-2000:]
    assert tensorflow_lines(result.stderr) == []
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["text", "predicted"]
    assert {f"p_{c}" for c in COUNTS} <= set(lines[0].split())
    assert len(lines) == 1 + len(new_texts)
    for line, text in zip(lines[1:], new_texts):
        row = line.strip()
        assert row.startswith(text), line
        predicted, *probabilities = row[len(text):].split()
        assert predicted in COUNTS and len(probabilities) == len(COUNTS)
        assert abs(sum(map(float, probabilities)) - 1) < 1e-3


def test_predict_refuses_a_file_that_is_not_a_bundle(tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_text("not a zip")
    new = write_reviews(tmp_path / "new.csv")
    result = cli("predict", fake, new, "--text-col", "text")
    assert result.returncode == 2 and "not a model bundle" in result.stderr and "Traceback" not in result.stderr
