"""The Data page in a real browser: the built-in sample, a CSV through the file
chooser, and a refused CSV. The app server and workspace are those every
browser test shares (see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "clothing_reviews_sample.csv"
BAD = ROOT / "tests" / "data" / "bad"


def bar_texts(ui) -> list[str]:
    """The bar labels of the class-distribution chart (the page's first plotly figure)."""
    chart = ui.main.locator(".js-plotly-plot").first
    expect(chart.locator(".gtitle")).to_contain_text("Class distribution")
    return [t.text_content() for t in chart.locator(".bartext").all()]


def select(ui, label: str, option: str) -> None:
    box = ui.page.get_by_role("combobox", name=label)
    box.click()
    box.fill(option)  # filters the list, so the option is on screen
    ui.page.get_by_role("option", name=option, exact=True).click()
    ui.wait()
    expect(ui.page.get_by_role("combobox", name=label)).to_have_value(option)


def upload(ui, path: Path) -> None:
    ui.page.get_by_role("radiogroup").get_by_text("Upload a file", exact=True).click()
    ui.wait()
    ui.main.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
    ui.wait()
    expect(ui.main.locator("[data-testid='stFileChipName']")).to_have_text(path.name)


def test_builtin_sample_shows_its_class_distribution(ui, app_url):
    ui.open(app_url)
    ui.page.get_by_role("radiogroup").get_by_text("Built-in sample", exact=True).click()
    ui.wait()
    ui.page.get_by_role("button", name="Load the sample").click()
    ui.wait()

    expect(ui.main.get_by_role("heading", name="Clothing reviews sample (stars)")).to_be_visible()
    counts = pd.read_csv(SAMPLE)["stars"].value_counts().sort_index()
    shares = counts / counts.sum()
    assert bar_texts(ui) == [f"{n:,} ({s:.1%})" for n, s in zip(counts, shares)]
    ratio = f"{counts.max() / counts.min():.1f}"
    expect(ui.main.locator("[data-testid='stMetric']").filter(has_text="Imbalance ratio")).to_contain_text(ratio)
    assert "dataset=" in ui.page.url  # the current dataset lives in the URL
    ui.assert_no_traceback()
    ui.screenshot("data")


def test_uploaded_csv_with_chosen_columns_becomes_the_dataset(ui, app_url, tmp_path):
    rows = [(i, f"comment number {i} about the {'delivery' if i % 5 else 'price'}", "price" if i % 5 == 0 else
             "delivery" if i % 5 in (1, 2, 3) else "quality") for i in range(60)]
    path = tmp_path / "support tickets.csv"
    pd.DataFrame(rows, columns=["ticket", "body", "topic"]).to_csv(path, index=False)

    ui.open(app_url)
    upload(ui, path)
    select(ui, "Text column", "body")
    select(ui, "Label column", "topic")
    ui.page.get_by_role("button", name="Use this dataset").click()
    ui.wait()

    expect(ui.main.get_by_role("heading", name="support tickets.csv")).to_be_visible()
    # 36 delivery, 12 price, 12 quality; bars in class order (sorted labels)
    assert bar_texts(ui) == ["36 (60.0%)", "12 (20.0%)", "12 (20.0%)"]
    expect(ui.main.locator("[data-testid='stMetric']").filter(has_text="Imbalance ratio")).to_contain_text("3.0")
    ui.assert_no_traceback()


def test_csv_with_one_class_is_refused_with_the_reason(ui, app_url):
    ui.open(app_url)
    before = ui.main.get_by_role("heading", level=3).all_inner_texts()
    upload(ui, BAD / "one_class.csv")
    expect(ui.page.get_by_role("combobox", name="Label column")).to_have_value("label")
    ui.page.get_by_role("button", name="Use this dataset").click()
    ui.wait()

    ui.assert_no_traceback()  # first: an exception box also holds an error alert
    error = ui.main.locator("[data-testid='stAlertContentError']")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("one_class.csv: column 'label' has only one class ('spam')")
    assert ui.main.get_by_role("heading", level=3).all_inner_texts() == before  # still on the previous dataset
    ui.assert_no_traceback()


def test_unreadable_csv_is_refused_before_the_column_form(ui, app_url):
    ui.open(app_url)
    upload(ui, BAD / "header_only.csv")
    ui.assert_no_traceback()
    expect(ui.main.locator("[data-testid='stAlertContentError']")).to_contain_text("no data rows")
    expect(ui.page.get_by_role("button", name="Use this dataset")).to_have_count(0)
    ui.assert_no_traceback()
