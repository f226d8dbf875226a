"""Every case of the bad-input corpus (tests/data/bad/expected.toml) through
``core.data.readers`` and ``core.data.validation``, both as a file path (CLI) and as uploaded bytes (UI)."""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from core.data.dataset import ColumnChoice, LabeledTexts
from core.data.readers import read_table
from core.data.validation import to_labeled_texts
from core.errors import InputError
from core.settings import ENV_PREFIX, Settings, get_settings

CORPUS = Path(__file__).parent / "data" / "bad"
MANIFEST = CORPUS / "expected.toml"
CASES: list[dict] = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["cases"]
REQUIRED_KEYS = {"id", "file", "generated", "outcome", "text_col", "label_col", "message"}
OPTIONAL_KEYS = {"ordinal_order", "normalise_labels", "target_col", "split_col", "encoding", "name", "settings",
                 "expect_texts", "expect_classes", "expect_source"}


def _load_generator():
    spec = importlib.util.spec_from_file_location("bad_corpus_generate", CORPUS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bad_generated")
    _load_generator().generate(out)
    return out


def _case_settings(case: dict, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with only this case's overrides set in the environment."""
    for f in fields(Settings):
        monkeypatch.delenv(ENV_PREFIX + f.name.upper(), raising=False)
    for key, value in case.get("settings", {}).items():
        monkeypatch.setenv(key, str(value))
    return get_settings()


def _choice(case: dict) -> ColumnChoice:
    order = case.get("ordinal_order")
    return ColumnChoice(
        text=case["text_col"], label=case["label_col"], ordinal_order=tuple(order) if order else None,
        target=case.get("target_col"), split=case.get("split_col"),
        normalise_labels=case.get("normalise_labels", False),
    )


def _run(case: dict, path: Path, mode: str, settings: Settings) -> LabeledTexts:
    source = path.read_bytes() if mode == "upload" else path
    name = case.get("name", path.name if mode == "upload" else None)
    table = read_table(source, name=name, encoding=case.get("encoding"), settings=settings)
    return to_labeled_texts(table, _choice(case), settings=settings)


def _check_loaded(case: dict, data: LabeledTexts) -> None:
    for text in case.get("expect_texts", []):
        assert text in data.texts, f"{text!r} not loaded verbatim"
    if "expect_classes" in case:
        assert data.classes == tuple(case["expect_classes"])
    if "expect_source" in case:
        assert data.name == case["expect_source"]
    for warning in data.warnings:
        assert "Traceback" not in warning


@pytest.mark.parametrize("mode", ["path", "upload"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_case(case: dict, mode: str, generated_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _case_settings(case, monkeypatch)
    path = (generated_dir if case["generated"] else CORPUS) / case["file"]
    expected = case["message"].lower()
    if case["outcome"] == "refused":
        with pytest.raises(InputError) as caught:
            _run(case, path, mode, settings)
        message = str(caught.value)
        assert expected in message.lower()
        assert "Traceback" not in message
        assert caught.value.source and message.startswith(f"{caught.value.source}: ")
        return
    data = _run(case, path, mode, settings)
    _check_loaded(case, data)
    if case["outcome"] == "accepted":
        assert data.warnings == ()
    else:
        assert any(expected in w.lower() for w in data.warnings), data.warnings


def test_manifest_cases_have_known_keys_and_outcomes() -> None:
    for case in CASES:
        assert REQUIRED_KEYS <= case.keys(), case["id"]
        assert case.keys() <= REQUIRED_KEYS | OPTIONAL_KEYS, case["id"]
        assert case["outcome"] in {"accepted", "warning", "refused"}, case["id"]
        assert case["outcome"] == "accepted" or case["message"], case["id"]


def test_manifest_case_ids_are_unique() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))


def test_every_committed_corpus_file_is_in_the_manifest() -> None:
    committed = {p.name for p in CORPUS.iterdir() if p.is_file()} - {"expected.toml", "generate.py"}
    listed = {c["file"] for c in CASES if not c["generated"]}
    assert committed == listed


def test_every_generated_file_is_in_the_manifest_and_written(generated_dir: Path) -> None:
    listed = {c["file"] for c in CASES if c["generated"]}
    assert listed == set(_load_generator().GENERATORS)
    assert all((generated_dir / name).is_file() for name in listed)


def test_generated_files_are_not_committed() -> None:
    generated = {c["file"] for c in CASES if c["generated"]}
    assert not any((CORPUS / name).exists() for name in generated)


def test_corpus_has_at_least_32_files() -> None:
    assert len({c["file"] for c in CASES}) >= 32
