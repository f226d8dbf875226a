"""The built-in sample (``data/clothing_reviews_sample.csv``: 4,000 clothing
reviews, 1–5 stars, CC0), which a new workspace opens on."""

from __future__ import annotations

from core.data.dataset import ColumnChoice, LabeledTexts
from core.data.readers import read_table
from core.data.validation import to_labeled_texts
from core.errors import InputError
from core.settings import DATA_DIR, Settings, refuse_when_read_only

SAMPLE_PATH = DATA_DIR / "clothing_reviews_sample.csv"
SAMPLE_NAME = "Clothing reviews sample (stars)"
SAMPLE_CHOICE = ColumnChoice(text="text", label="stars", ordinal_order=("1", "2", "3", "4", "5"))


def load_sample(settings: Settings) -> LabeledTexts:
    """The sample, validated under this installation's caps; an ``InputError``
    saying why when the caps (IMBALANCE_LAB_MAX_ROWS, …) are set below its size."""
    try:
        table = read_table(SAMPLE_PATH.read_bytes(), name=SAMPLE_PATH.name, settings=settings)
        return to_labeled_texts(table, SAMPLE_CHOICE, settings=settings)
    except InputError as exc:
        raise InputError(f"The built-in sample cannot be loaded under this installation's limits — {exc} You can "
                         "still upload a file within the limits.") from None


def add_sample(store, settings: Settings) -> str:
    """Store the sample in ``store`` (a ``core.jobs.store.Store``) and return its dataset id."""
    refuse_when_read_only("loading the built-in sample")
    return store.add_dataset(load_sample(settings), name=SAMPLE_NAME, meta={"choice": SAMPLE_CHOICE.__dict__})
