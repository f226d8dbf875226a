"""The report's figures, saved as self-contained HTML (plotly.js inlined) under
``out/benchmarks/``: throughput of the naive pipeline against the lab, and the
quality heatmap (mean macro-F1 per dataset × recipe)."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from core.results.figures import PALETTE, plain

THROUGHPUT = "throughput.html"
QUALITY = "quality.html"


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(title=title, height=height, template="plotly_white", margin=dict(l=10, r=10, t=90, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0))
    return fig


def throughput_bars(throughput: dict) -> go.Figure | None:
    sms = throughput.get("sms") or {}
    lines = [(f"clothing stars ({throughput.get('rows', 0):,} rows)", throughput), (f"SMS spam ({sms.get('rows', 0):,} rows)", sms)]
    lines = [(name, t) for name, t in lines if t.get("naive_samples_per_s") and t.get("lab_samples_per_s")]
    if not lines:
        return None
    fig = go.Figure()
    for i, (label, key) in enumerate((("naive tutorial pipeline", "naive_samples_per_s"),
                                      ("Imbalance Lab (job runner)", "lab_samples_per_s"))):
        values = [t[key] for _, t in lines]
        fig.add_bar(name=label, x=[name for name, _ in lines], y=values, marker_color=PALETTE[i],
                    text=[f"{v:,.0f}/s" for v in values], textposition="outside")
    for j, (name, t) in enumerate(lines):
        fig.add_annotation(x=name, y=max(t["naive_samples_per_s"], t["lab_samples_per_s"]) * 1.15,
                           text=f"×{t['lab_samples_per_s'] / t['naive_samples_per_s']:.2f}", showarrow=False)
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="training samples per second")
    return _layout(fig, "Training throughput: naive pipeline vs Imbalance Lab")


def quality_heatmap(quality: dict, recipes: list[str]) -> go.Figure | None:
    names = [k for k, v in quality.items() if isinstance(v, dict) and "best_recipe" in v and not v.get("case")]
    if not names:
        return None
    z = [[(quality[d].get(r) or {}).get("macro_f1_mean") for r in recipes] for d in names]
    text = [[("—" if v is None else f"{v:.3f}") + (" ★" if quality[d].get("best_recipe") == r else "")
             for v, r in zip(row, recipes)] for row, d in zip(z, names)]
    fig = go.Figure(go.Heatmap(z=z, x=[plain(r) for r in recipes], y=names, text=text, texttemplate="%{text}",
                               colorscale="Blues", zmin=0, zmax=1,
                               hovertemplate="%{y} · %{x}: macro-F1 %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-30)
    return _layout(fig, "Mean macro-F1 over seeds (★ best LSTM recipe)", height=120 + 60 * len(names))


def write_figures(out: Path, results: dict, recipes: list[str]) -> dict[str, str]:
    """Write whichever figures the results allow; returns name -> path relative to ``out``."""
    written = {}
    folder = out / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    for name, fig in ((THROUGHPUT, throughput_bars(results.get("throughput") or {})),
                      (QUALITY, quality_heatmap(results.get("quality") or {}, recipes))):
        if fig is not None:
            fig.write_html(folder / name, include_plotlyjs=True, full_html=True)
            written[name] = f"benchmarks/{name}"
    return written
