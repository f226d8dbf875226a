"""Plotly figure builders shared by the pages, the HTML report and the benchmark.

Labels are passed to plotly as data (never as HTML), and every figure's text
goes through ``plain`` so user-supplied class names render as text."""

from __future__ import annotations

import html
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.data.profile import Profile

PALETTE = px.colors.qualitative.Safe


def plain(text: object) -> str:
    """Escape a user-supplied string for plotly, which renders a subset of HTML in labels."""
    return html.escape(str(text), quote=False)


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    # Legend under the plot, so it never covers the title.
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10), template="plotly_white",
                      legend=dict(orientation="h", yanchor="top", y=-0.18, x=0))
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
                      showscale: bool = True) -> go.Figure:
    cm = np.asarray(cm, dtype=float)
    z = cm / np.clip(cm.sum(axis=1, keepdims=True), 1, None) if normalise else cm
    names = [plain(c) for c in classes]
    text = [[f"{v:.2f}" if normalise else f"{int(v)}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, text=text, texttemplate="%{text}", colorscale="Blues",
                               zmin=0, zmax=zmax, showscale=showscale,
                               hovertemplate="true %{y} → predicted %{x}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="true", type="category")
    fig.update_xaxes(title="predicted", type="category")
    return _layout(fig, plain(title), height=360)


def curves(points: dict[str, tuple[np.ndarray, np.ndarray]], *, kind: str, title: str) -> go.Figure:
    """PR (kind='pr'), ROC ('roc') or reliability ('calibration') curves, one line per series."""
    fig = go.Figure()
    for i, (name, (x, y)) in enumerate(points.items()):
        fig.add_scatter(x=x, y=y, mode="lines+markers" if kind == "calibration" else "lines", name=plain(name),
                        line=dict(color=PALETTE[i % len(PALETTE)]))
    axes = {"pr": ("recall", "precision"), "roc": ("false positive rate", "true positive rate"),
            "calibration": ("mean predicted probability", "observed frequency")}[kind]
    if kind in {"roc", "calibration"}:
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"), name="chance",
                        showlegend=False)
    fig.update_xaxes(title=axes[0], range=[0, 1])
    fig.update_yaxes(title=axes[1], range=[0, 1.02])
    return _layout(fig, plain(title))


def learning_curves(histories: dict[str, list[dict]]) -> go.Figure:
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss (solid: train, dotted: validation)",
                                                        "validation macro-F1"))
    for i, (name, history) in enumerate(histories.items()):
        if not history:
            continue
        frame = pd.DataFrame(history)
        frame["step"] = np.arange(1, len(frame) + 1)
        colour = PALETTE[i % len(PALETTE)]
        fig.add_scatter(x=frame["step"], y=frame.get("loss"), name=plain(name), line=dict(color=colour), row=1, col=1)
        if "val_loss" in frame:
            fig.add_scatter(x=frame["step"], y=frame["val_loss"], name=plain(name), showlegend=False,
                            line=dict(color=colour, dash="dot"), row=1, col=1)
        if "val_macro_f1" in frame:
            fig.add_scatter(x=frame["step"], y=frame["val_macro_f1"], name=plain(name), showlegend=False,
                            line=dict(color=colour), row=1, col=2)
    fig.update_xaxes(title="epoch")
    return _layout(fig, "Learning curves", height=360)


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
