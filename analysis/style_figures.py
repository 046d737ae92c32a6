"""The style-control figures of a report, as plotly dicts: what moves raters, and wins by relative length.

Pure: drawn from the report's ``style_control`` and ``length_ratio`` blocks, like analysis.figures.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

FEATURE_LABELS = {
    "length": "Longer answer",
    "headers": "More headers",
    "lists": "More list items",
    "bold": "More bold text",
}


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        template="plotly_white",
        height=height,
        margin={"l": 130, "r": 20, "t": 60, "b": 60},
        showlegend=False,
    )
    return fig


def coefficient_figure(block: dict[str, Any]) -> go.Figure:
    """Each style coefficient with its 95 % interval: the change in log-odds per standard deviation."""
    names = [name for name in block["features"] if block["coefficients"][name] is not None]
    values = [block["coefficients"][name] for name in names]
    ci = [block["coefficient_ci"][name] for name in names]
    fig = go.Figure(
        go.Scatter(
            x=values,
            y=[FEATURE_LABELS.get(name, name) for name in names],
            mode="markers",
            marker={"size": 11, "color": "#1d4ed8"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [
                    high - v if high is not None else 0 for v, (_, high) in zip(values, ci, strict=True)
                ],
                "arrayminus": [
                    v - low if low is not None else 0 for v, (low, _) in zip(values, ci, strict=True)
                ],
                "color": "#57534e",
            },
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_dash="dot", line_color="#a8a29e")
    fig.update_xaxes(title="change in log-odds of being preferred, per standard deviation (95 % CI)")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "What moves raters: style coefficients", 320)


def _bin_label(low: float, high: float | None) -> str:
    if high is None:
        return f">= {low:g}x"
    if low == 0:
        return f"< {high:g}x"
    return f"{low:g}-{high:g}x"


def length_ratio_figure(block: dict[str, Any]) -> go.Figure:
    """The candidate's decisive win rate by its answer's length relative to the baseline's."""
    bins = [row for row in block["bins"] if row["rate"] is not None]
    rates = [100 * row["rate"] for row in bins]
    fig = go.Figure(
        go.Bar(
            x=[_bin_label(row["low"], row["high"]) for row in bins],
            y=rates,
            marker_color="#1d4ed8",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [100 * row["ci_high"] - r for row, r in zip(bins, rates, strict=True)],
                "arrayminus": [r - 100 * row["ci_low"] for row, r in zip(bins, rates, strict=True)],
                "color": "#57534e",
            },
            customdata=[row["decisive"] for row in bins],
            hovertemplate="%{x}: %{y:.1f}% of %{customdata} decisive votes<extra></extra>",
        )
    )
    fig.add_hline(y=50, line_dash="dot", line_color="#a8a29e")
    fig.update_yaxes(title=f"{block['candidate']} preferred (%)", range=[0, 105])
    fig.update_xaxes(title=f"length of {block['candidate']}'s answer / {block['baseline']}'s")
    return _layout(fig, "Wins by relative length (Wilson 95 % CI)", 360)


def style_figures(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(anchor, plotly dict) for the style section; none when the report has no style control."""
    figures: list[tuple[str, go.Figure]] = []
    if report.get("style_control"):
        figures.append(("style-coefficients", coefficient_figure(report["style_control"])))
    if report.get("length_ratio") and any(row["rate"] is not None for row in report["length_ratio"]["bins"]):
        figures.append(("length-ratio", length_ratio_figure(report["length_ratio"])))
    return [(anchor, figure.to_plotly_json()) for anchor, figure in figures]
