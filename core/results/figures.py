"""Plotly figure builders shared by the pages, the HTML report and the benchmark.

Labels are passed to plotly as data (never as HTML), and every figure's text
goes through ``plain`` so user-supplied class names render as text."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.data.profile import Profile

if TYPE_CHECKING:
    from core.results.compare import Curve
    from core.results.sweeps import SweepView

PALETTE = px.colors.qualitative.Safe


def plain(text: object) -> str:
    """Escape a user-supplied string for plotly, which renders a subset of HTML in labels."""
    return html.escape(str(text), quote=False)


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    # Legend at the foot of the whole figure (container coordinates): plotly then keeps that strip for it and
    # places the axis titles above it, so the legend covers neither the title nor an axis title.
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10), template="plotly_white",
                      legend=dict(orientation="h", xref="container", yref="container", x=0, xanchor="left", y=0,
                                  yanchor="bottom"))
    return fig


def class_distribution(profile: Profile, *, log_scale: bool = False) -> go.Figure:
    names = [plain(c) for c in profile.classes]
    text = [f"{n:,} ({s:.1%})" for n, s in zip(profile.class_counts, profile.class_shares)]
    fig = go.Figure(go.Bar(x=names, y=list(profile.class_counts), text=text, textposition="outside",
                           marker_color=PALETTE[0], hovertemplate="%{x}: %{y:,} rows<extra></extra>"))
    fig.update_yaxes(type="log" if log_scale else "linear", title="rows")
    fig.update_xaxes(type="category", title="class")
    return _layout(fig, f"Class distribution — imbalance ratio {profile.imbalance_ratio:.1f}")


def class_colours(n: int) -> list[str]:
    """``n`` colours, one per class: plotly's colour-blind-safe qualitative palette while its 11 colours
    last, else its 24-colour one, so up to 24 classes never share a colour."""
    palette = PALETTE if n <= len(PALETTE) else px.colors.qualitative.Dark24
    return [palette[i % len(palette)] for i in range(n)]


def length_histogram(profile: Profile, y: np.ndarray, *, max_classes: int = 12, bins: int = 40) -> go.Figure:
    """Share of each class's texts per token-length bin, binned here: shipping
    every row's length to the browser (a plotly histogram) made the Data page's
    figure grow with the dataset (100k numbers for a 100k-row upload)."""
    lengths = np.asarray(profile.token_lengths)
    y = np.asarray(y)
    cap = int(np.percentile(lengths, 99)) + 1 if len(lengths) else 1
    edges = np.histogram_bin_edges(lengths[lengths <= cap], bins=bins, range=(0, cap))
    centres, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    counts = np.bincount(y, minlength=len(profile.classes)) if len(y) else np.zeros(len(profile.classes), int)
    # the largest classes, drawn and listed in class order (low to high for ordinal labels)
    shown = sorted(c for c in np.argsort(-counts, kind="stable")[:max_classes] if counts[c])
    fig = go.Figure()
    for c, colour in zip(shown, class_colours(len(shown))):
        share = 100.0 * np.histogram(lengths[(y == c) & (lengths <= cap)], bins=edges)[0] / counts[c]
        name = plain(profile.classes[c])
        fig.add_bar(x=centres, y=share, width=widths, name=name, opacity=0.55, marker_color=colour,
                    customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                    hovertemplate="%{fullData.name}<br>%{customdata[0]:.0f}–%{customdata[1]:.0f} tokens: "
                                  "%{y:.1f}%<extra></extra>")
    fig.update_layout(barmode="overlay", legend_title_text="class")
    fig.update_xaxes(title="tokens per text (up to the 99th percentile)")
    fig.update_yaxes(title="% of the class")
    return _layout(fig, "Text length per class")


def bar_with_errors(table: pd.DataFrame, *, metric: str, classes: Sequence[str]) -> go.Figure:
    """Grouped bars: one group per class, one bar per recipe, error bars = std over seeds."""
    fig = go.Figure()
    for i, (recipe, part) in enumerate(table.groupby("recipe", sort=False)):
        part = part.set_index("class").reindex(list(classes))
        fig.add_bar(name=plain(recipe), x=[plain(c) for c in classes], y=part["mean"],
                    error_y=dict(type="data", array=part["std"].fillna(0)), marker_color=PALETTE[i % len(PALETTE)])
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1.05], title=metric)
    fig.update_xaxes(type="category")
    return _layout(fig, f"Per-class {metric} (mean ± std over seeds)")


def confusion_heatmap(cm: np.ndarray, classes: Sequence[str], *, title: str, normalise: bool, zmax: float | None = None,
                      showscale: bool = True, rows: Sequence[int] | None = None) -> go.Figure:
    """A confusion matrix (rows true, columns predicted), row-normalised or
    counts. ``rows`` keeps only those true classes (every predicted class
    stays, so a normalised row still sums to 1).

    Plotly reports no selected points for a heatmap, so every cell also has a
    marker of an invisible scatter trace at its centre, which a click selects
    (its customdata: the cell's (true, predicted) class indices into
    ``classes``; the selected marker shows as an outline). The markers carry
    the hover text, and hover picks the nearest one anywhere in the plot."""
    cm = np.asarray(cm, dtype=float)
    z = cm / np.clip(cm.sum(axis=1, keepdims=True), 1, None) if normalise else cm
    shown = list(range(len(classes))) if rows is None else list(rows)
    z = z[shown]
    names = [plain(c) for c in classes]
    row_names = [names[i] for i in shown]
    text = [[f"{v:.2f}" if normalise else f"{int(v)}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=names, y=row_names, text=text, texttemplate="%{text}", colorscale="Blues",
                               zmin=0, zmax=zmax, showscale=showscale, hoverinfo="skip"))
    cells = [(t, p) for t in range(len(shown)) for p in range(len(names))]
    fig.add_scatter(x=[names[p] for _, p in cells], y=[row_names[t] for t, _ in cells],
                    customdata=[[shown[t], p] for t, p in cells], text=[text[t][p] for t, p in cells],
                    mode="markers", showlegend=False, name="cells",
                    marker=dict(symbol="square-open", size=28, color="#d62728", line=dict(width=3), opacity=0),
                    selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=0)),
                    hovertemplate="true %{y} → predicted %{x}: %{text}<extra></extra>")
    fig.update_yaxes(autorange="reversed", title="true", type="category")
    fig.update_xaxes(title="predicted", type="category")
    fig.update_layout(hoverdistance=-1)
    return _layout(fig, plain(title), height=360)


def curves(series: dict[str, Curve], *, kind: str, title: str) -> go.Figure:
    """PR (kind='pr'), ROC ('roc') or reliability ('calibration') curves, one
    line per series (``core.results.compare.Curve``), each named with its
    average precision, ROC AUC or Brier score."""
    fig = go.Figure()
    for i, (name, curve) in enumerate(series.items()):
        fig.add_scatter(x=curve.x, y=curve.y, mode="lines+markers" if kind == "calibration" else "lines",
                        name=plain(f"{name} ({curve.summary_name} {curve.summary:.3f})"),
                        line=dict(color=PALETTE[i % len(PALETTE)]))
    axes = {"pr": ("recall", "precision"), "roc": ("false positive rate", "true positive rate"),
            "calibration": ("mean predicted probability", "observed frequency")}[kind]
    if kind in {"roc", "calibration"}:
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"), name="chance",
                        showlegend=False)
    fig.update_xaxes(title=axes[0], range=[0, 1])
    fig.update_yaxes(title=axes[1], range=[0, 1.02])
    return _layout(fig, plain(title))


LEARNING_SERIES = (("loss", 1, None), ("val_loss", 1, "dot"), ("val_macro_f1", 2, None))  # column, panel, dash


def _epoch_summary(histories: dict[int, list[dict]]) -> pd.DataFrame:
    """Per epoch (counted through the whole fit) and history column: mean,
    lowest and highest over the seeds that trained that epoch, and their
    count (early stopping ends seeds at different epochs)."""
    frames = []
    for seed, history in histories.items():
        frame = pd.DataFrame(history)
        frames.append(frame.assign(seed=seed, step=np.arange(1, len(frame) + 1)))
    long = pd.concat(frames, ignore_index=True)
    columns = [c for c, _, _ in LEARNING_SERIES if c in long]
    if not columns:
        return pd.DataFrame()
    values = long[columns].apply(pd.to_numeric, errors="coerce")  # a missing value reads as NaN, not as text
    return values.groupby(long["step"]).agg(["mean", "min", "max", "count"])


def learning_curves(histories: dict[str, dict[int, list[dict]]]) -> go.Figure:
    """Training loss, validation loss and validation macro-F1 per epoch, one
    colour per recipe: the mean over its seeds, and a band from the lowest to
    the highest seed when it has more than one (``histories``: recipe -> seed
    -> history, as ``core.results.compare.histories`` returns)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss (solid: train, dotted: validation)",
                                                        "validation macro-F1"))
    most_epochs = 1
    for i, (recipe, per_seed) in enumerate(histories.items()):
        per_seed = {s: h for s, h in per_seed.items() if h}
        if not per_seed:
            continue
        summary = _epoch_summary(per_seed)
        if summary.empty:
            continue
        most_epochs = max(most_epochs, int(summary.index.max()))
        n = len(per_seed)
        name = plain(f"{recipe} ({'1 seed' if n == 1 else f'mean of {n} seeds, band: lowest to highest'})")
        colour = PALETTE[i % len(PALETTE)]
        first = True
        for column, panel, dash in LEARNING_SERIES:
            if column not in summary.columns.get_level_values(0):
                continue
            part = summary[column].dropna(subset=["mean"])
            steps = part.index.to_numpy()
            if n > 1:
                fig.add_scatter(x=np.concatenate([steps, steps[::-1]]),
                                y=np.concatenate([part["max"].to_numpy(), part["min"].to_numpy()[::-1]]),
                                fill="toself", fillcolor=colour, opacity=0.15, line=dict(width=0), mode="lines",
                                legendgroup=name, showlegend=False, hoverinfo="skip", row=1, col=panel)
            fig.add_scatter(x=steps, y=part["mean"], name=name, legendgroup=name, showlegend=first,
                            line=dict(color=colour, dash=dash), customdata=part["count"],
                            hovertemplate=f"{plain(column)} at epoch %{{x}}: %{{y:.3f}} "
                                          "(mean of %{customdata} seeds)<extra></extra>", row=1, col=panel)
            first = False
    # Whole epochs only, about ten labels at most.
    fig.update_xaxes(title="epoch", tickmode="linear", tick0=0, dtick=max(1, math.ceil(most_epochs / 10)))
    return _layout(fig, "Learning curves", height=380)


def _sweep_axis(view: "SweepView") -> tuple[list, str]:
    """The x values of a sweep's points and the axis type: the swept value itself for one numeric parameter
    (logarithmic when the values span a factor of 10 or more, as learning rates do), else one category per point
    naming every swept value."""
    from core.results.sweeps import value_column

    if len(view.parameters) == 1:
        values = view.table[value_column(view.parameters[0])].tolist()
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            positive = all(v > 0 for v in values)
            return values, "log" if positive and max(values) >= 10 * min(values) else "linear"
    labels = [" · ".join(f"{p}={_sweep_value(row[value_column(p)])}" for p in view.parameters)
              for row in view.table.to_dict("records")]
    return [plain(label) for label in labels], "category"


def _sweep_value(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def sweep_plot(view: "SweepView", *, baseline: float | None = None) -> go.Figure:
    """A sweep's test score (mean and 95% interval over seeds; no bar under 3 seeds) against the swept value(s),
    its validation macro-F1 beside it, the best point on test (★) and the point validation chooses (◆) marked,
    and the baseline's mean as a dashed line."""
    from core.results.sweeps import BEST_MARK, CHOSEN_MARK
    from core.runs.evaluate import metric_label

    table = view.table
    x, axis = _sweep_axis(view)
    label = metric_label(view.metric)
    fig = go.Figure()
    fig.add_scatter(x=x, y=table["mean"], mode="lines+markers", name=plain(f"test {label} (mean, 95% interval)"),
                    line=dict(color=PALETTE[0]), customdata=table["recipe"].map(plain),
                    error_y=dict(type="data", symmetric=False, array=(table["ci_high"] - table["mean"]).tolist(),
                                 arrayminus=(table["mean"] - table["ci_low"]).tolist()),
                    hovertemplate="%{customdata}: %{y:.3f}<extra></extra>")
    same_axis = view.metric == "macro_f1"  # validation macro-F1 shares the axis only with test macro-F1
    fig.add_scatter(x=x, y=table["validation"], mode="lines+markers", name="validation macro-F1 (mean)",
                    line=dict(color=PALETTE[1], dash="dash"), yaxis="y" if same_axis else "y2",
                    customdata=table["recipe"].map(plain), hovertemplate="%{customdata}: %{y:.3f}<extra></extra>")
    for column, symbol, name in (("best", "star", f"{BEST_MARK} best on test (optimistic)"),
                                 ("chosen", "diamond-open", f"{CHOSEN_MARK} chosen by validation")):
        at = table.index[table[column]].tolist()
        if at:
            fig.add_scatter(x=[x[at[0]]], y=[table.loc[at[0], "mean"]], mode="markers", name=name,
                            marker=dict(symbol=symbol, size=16, color="#000000" if column == "best" else PALETTE[2],
                                        line=dict(width=2, color=PALETTE[2])), hoverinfo="skip")
    if baseline is not None and math.isfinite(baseline):
        fig.add_hline(y=baseline, line=dict(dash="dot", color="grey"), annotation_text="baseline",
                      annotation_position="bottom right")
    fig.update_xaxes(title=plain(" × ".join(view.parameters)), type=axis)
    fig.update_yaxes(title=plain(f"test {label}"))
    if not same_axis:
        fig.update_layout(yaxis2=dict(title="validation macro-F1", overlaying="y", side="right", showgrid=False))
    return _layout(fig, plain(f"Sweep {view.source}"), height=400)


def dendrogram(linkage: np.ndarray, classes: Sequence[str]) -> go.Figure:
    """Merge tree of the classes (height = 1 − symmetric confusion)."""
    from scipy.cluster.hierarchy import dendrogram as scipy_dendrogram

    tree = scipy_dendrogram(linkage, no_plot=True, labels=[plain(c) for c in classes])
    fig = go.Figure()
    for xs, ys in zip(tree["icoord"], tree["dcoord"]):
        fig.add_scatter(x=xs, y=ys, mode="lines", line=dict(color=PALETTE[1]), showlegend=False, hoverinfo="skip")
    ticks = [5 + 10 * i for i in range(len(tree["ivl"]))]
    # Padded by half a leaf each side: plotly drops tick labels on the range's ends.
    fig.update_xaxes(tickvals=ticks, ticktext=tree["ivl"], title="class", range=[0, 10 * len(tree["ivl"])])
    fig.update_yaxes(title="1 − symmetric confusion (lower = more confused)")
    return _layout(fig, "Which classes the model confuses")


def confusion_similarity(similarity: np.ndarray, classes: Sequence[str]) -> go.Figure:
    """Heatmap of the symmetric confusion S = (R + Rᵀ)/2 (R row-normalised):
    how often two classes are taken for each other, 0 on the diagonal."""
    s = np.asarray(similarity, dtype=float)
    names = [plain(c) for c in classes]
    text = [[f"{v:.2f}" for v in row] for row in s]
    fig = go.Figure(go.Heatmap(z=s, x=names, y=names, text=text, texttemplate="%{text}", colorscale="Oranges",
                               zmin=0, hovertemplate="%{y} ↔ %{x}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return _layout(fig, "Symmetric confusion (higher = more often confused)", height=360)


def merge_effect_bars(table: pd.DataFrame, *, sources: Sequence[str] = ("unmerged", "predicted", "measured")) -> go.Figure:
    """Grouped bars per metric row of ``core.results.merge_effects.effect_table``: the
    unmerged model, the predicted merge and (when trained) the measured one."""
    labels = [plain(f"{m} · {c}" if c else m) for m, c in zip(table["metric"], table["class"])]
    fig = go.Figure()
    for i, source in enumerate(s for s in sources if s in table):
        fig.add_bar(name=source, x=labels, y=table[source], marker_color=PALETTE[i % len(PALETTE)],
                    hovertemplate="%{x}: %{y:.3f}<extra>" + source + "</extra>")
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1.05], title="mean over seeds")
    fig.update_xaxes(type="category")
    return _layout(fig, "Merged label set: unmerged model vs predicted vs measured")


def prediction_bars(answers: Sequence[dict], index: int) -> go.Figure:
    """Class probabilities of one text, one bar group per class and one bar per
    recipe (``answers`` as returned by ``core.jobs.predict_service.prediction_result``)."""
    fig = go.Figure()
    for i, answer in enumerate(answers):
        fig.add_bar(name=plain(answer["recipe"]), x=[plain(c) for c in answer["classes"]], y=answer["proba"][index],
                    marker_color=PALETTE[i % len(PALETTE)], hovertemplate="%{x}: %{y:.3f}<extra></extra>")
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1.0], title="probability")
    fig.update_xaxes(type="category", title="class")
    return _layout(fig, "Class probabilities per recipe")
