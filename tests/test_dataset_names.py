"""Datasets told apart (``core.data.dataset_names``), renamed (``Store.rename_dataset``), and experiments reached from
any page whichever dataset is current (``pages.common.experiment_picker``)."""

from __future__ import annotations

import pytest

from core.data.dataset import ColumnChoice
from core.data.dataset_names import dataset_labels, differences
from core.errors import InputError
from core.jobs.store import Store
from tests.apptest_pages import through_app
from tests.conftest import labeled


def _two_uploads_of_one_file(store: Store) -> tuple[str, str]:
    """The same file twice, with another label column and one of them ordinal."""
    a = store.add_dataset(labeled({"low": 20, "mid": 30, "high": 50}, ordinal=True, seed=1), name="semeval.csv",
                          meta={"choice": ColumnChoice("tweet", "intensity", ordinal_order=("low", "mid", "high")).__dict__})
    b = store.add_dataset(labeled({"sad": 40, "glad": 60}, seed=2), name="semeval.csv",
                          meta={"choice": ColumnChoice("tweet", "emotion").__dict__})
    return a, b


def test_two_datasets_from_one_file_are_labelled_apart_and_their_differences_said(store):
    a, b = _two_uploads_of_one_file(store)
    labels = dataset_labels(store.datasets())
    assert labels[a] != labels[b]
    assert "label column: intensity" in labels[a] and "label column: emotion" in labels[b]
    said = differences(store.dataset_info(a), store.dataset_info(b))
    assert "label column intensity vs emotion" in said
    assert "ordinal order low < mid < high vs none" in said and "100 vs 100 rows" not in said
    assert "ordinal vs not ordinal" in said


def test_a_dataset_can_be_renamed_and_a_bad_name_is_refused(store):
    a, _ = _two_uploads_of_one_file(store)
    assert store.rename_dataset(a, "  semeval   intensity ") == "semeval intensity"
    assert store.dataset_info(a)["name"] == "semeval intensity"
    with pytest.raises(InputError, match="needs a name"):
        store.rename_dataset(a, "   ")
    with pytest.raises(InputError, match="at most 200 characters"):
        store.rename_dataset(a, "x" * 201)
    with pytest.raises(InputError, match="not in this workspace"):
        store.rename_dataset("nope", "fine")


def test_compare_reaches_an_experiment_on_another_dataset_than_the_newest(filled_copy):
    """A new tab opens on the newest dataset; with no experiment on it, Compare used to say "No experiments yet"
    although the older dataset had one."""
    store = Store(filled_copy["root"])
    store.add_dataset(labeled({"x": 20, "y": 30}, seed=5), name="newer upload")
    at = through_app("pages/compare.py")
    assert not at.exception
    assert not any("No experiments yet" in i.value for i in at.info)
    picker = next(s for s in at.selectbox if s.label == "Experiment")
    assert picker.value == filled_copy["experiment_id"]
    assert "tiny reviews" in picker.format_func(picker.value) and "tiny comparison" in picker.format_func(picker.value)
    assert at.query_params["dataset"] in (filled_copy["dataset_id"], [filled_copy["dataset_id"]])


def test_renaming_on_the_data_page_shows_the_new_name_in_the_picker(filled_copy):
    at = through_app("pages/data.py")
    at.radio[0].set_value("Stored dataset").run()
    name = next(t for t in at.text_input if t.label == "Name")
    name.input("tiny reviews, renamed")  # a form: the value and the submit go in one run
    next(b for b in at.button if b.label == "Rename").click().run()
    assert not at.exception
    assert Store(filled_copy["root"]).dataset_info(filled_copy["dataset_id"])["name"] == "tiny reviews, renamed"
    dataset = next(s for s in at.selectbox if s.label == "Dataset")
    assert dataset.format_func(dataset.value).startswith("tiny reviews, renamed (")
