"""How a table cell reads as text, the same way for every format and rule.

Cells are kept verbatim (formulas, HTML, right-to-left text and emoji are
data). Only empty cells and the spellings tools write for a missing value
(``MISSING_SPELLINGS``) count as missing; "NA" and "None" stay values, as
both are plausible class names."""

from __future__ import annotations

import numpy as np
import pandas as pd

MISSING_SPELLINGS = ("", "nan", "NaN", "NULL", "null", "#N/A", "N/A", "n/a")


def is_missing(value: object) -> bool:
    """True for None/NaN/NaT cells (nested values are never missing)."""
    if isinstance(value, (list, tuple, dict, set, np.ndarray)):
        return False
    return bool(pd.isna(value))


def cell_text(value: object) -> str:
    """A cell as text: whole numbers stored as floats (1.0) lose the '.0'."""
    if isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (np.integer, np.floating)):
        return str(value.item())
    return str(value)


def texts_of(column: pd.Series) -> pd.Series:
    """Cells as verbatim strings (object dtype); missing cells stay NaN."""
    if isinstance(column.dtype, pd.StringDtype):
        return column.astype(object)
    return column.astype(object).map(lambda v: np.nan if is_missing(v) else cell_text(v))
