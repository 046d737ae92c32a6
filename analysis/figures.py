"""Plotly figures of a report, as plain plotly dicts (``{"data": [...], "layout": {...}}``). Pure: no Django.

Built from the report dict, so the web page and the HTML export draw the same figures; the page turns
each dict into HTML with ``core.plots.figure_html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

COLORS = {"win": "#1d4ed8", "tie": "#a8a29e", "both_bad": "#f59e0b", "loss": "#b91c1c"}
LABEL_HEADROOM = 110  # the preference axis runs to 110 so that a label above a 100 % whisker fits
SETTING_LABELS = {
    "zero_shot": "zero-shot",
    "zero_shot_cot": "zero-shot + CoT trigger",
    "few_shot": "few-shot",
}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 80},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _group_axis(fig: go.Figure) -> go.Figure:
    """Category and setting names side by side: slanted at a fixed angle, with room made below.

    Plotly picks no angle or 30 degrees by itself and then lets long names run into each other;
    at 45 degrees adjacent names clear each other whenever the bars are a line height apart.
    """
    fig.update_xaxes(tickangle=-45, automargin=True, tickfont={"size": 12})
    fig.update_layout(margin={"b": 40}, legend={"y": -0.45}, height=460)
    return fig


def _groups(report: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(label, block, colour) per bar: Overall, then categories, then settings.

    A lone category or setting holds exactly the ratings Overall holds: its bar would repeat
    Overall's, so it is left out.
    """
    rows = [("Overall", report["overall"], "#1c1917")]
    if len(report["by_category"]) > 1:
        rows += [(f"{name}", block, "#1d4ed8") for name, block in report["by_category"].items()]
    if len(report["by_setting"]) > 1:
        rows += [
            (SETTING_LABELS.get(name, name), block, "#15803d") for name, block in report["by_setting"].items()
        ]
    return rows


def preference_figure(report: dict[str, Any]) -> go.Figure:
    """Preference for the candidate per category and setting, with 95 % interval bars.

    In the spirit of the Flan-PaLM usability figure: one bar per group, the 50 % line marks no preference.
    Each bar's percentage sits just above its upper whisker, where no whisker can cross it.
    """
    groups = [
        (label, block, color)
        for label, block, color in _groups(report)
        if block["preference_rate"] is not None
    ]
    labels = [label for label, _, _ in groups]
    rates = [100 * block["preference_rate"] for _, block, _ in groups]
    # `is None`, not `or`: a bound of exactly 0 is a bound, not a missing one.
    highs = [
        100 * (block["preference_rate"] if block["ci_high"] is None else block["ci_high"])
        for _, block, _ in groups
    ]
    lows = [
        100 * (block["preference_rate"] if block["ci_low"] is None else block["ci_low"])
        for _, block, _ in groups
    ]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=rates,
            marker_color=[color for _, _, color in groups],
            error_y={
                "type": "data",
                "array": [high - rate for high, rate in zip(highs, rates, strict=True)],
                "arrayminus": [rate - low for rate, low in zip(rates, lows, strict=True)],
                "visible": True,
            },
            customdata=[[block["n"], block["decisive"]] for _, block, _ in groups],
            hovertemplate="%{x}: %{y:.1f}%<br>n=%{customdata[0]}, decisive=%{customdata[1]}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=highs,
            mode="text",
            text=[f"{rate:.0f}%" for rate in rates],
            textposition="top center",
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.add_hline(y=50, line_dash="dash", line_color="#57534e")
    # Room above 100 for the label of a bar whose interval reaches it; the axis still reads 0-100.
    fig.update_yaxes(
        title="% preferring " + report["candidate"], range=[0, LABEL_HEADROOM], tickvals=[0, 25, 50, 75, 100]
    )
    return _group_axis(
        _layout(fig, f"{report['candidate']} vs {report['baseline']}: preference (decisive votes, 95% CI)")
    )


def outcomes_figure(report: dict[str, Any]) -> go.Figure:
    """Win / tie / both-bad / loss shares per group, stacked to 100 %."""
    groups = [(label, block) for label, block, _ in _groups(report) if block["n"]]
    labels = [label for label, _ in groups]
    fig = go.Figure()
    for key, name in (("wins", "win"), ("ties", "tie"), ("both_bad", "both_bad"), ("losses", "loss")):
        fig.add_bar(
            name=name.replace("_", " "),
            x=labels,
            y=[100 * block[key] / block["n"] for _, block in groups],
            marker_color=COLORS[name],
            customdata=[block[key] for _, block in groups],
            hovertemplate="%{x}: %{y:.1f}% (%{customdata})<extra>" + name + "</extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="% of ratings", range=[0, 100])
    return _group_axis(_layout(fig, f"Outcomes for {report['candidate']} against {report['baseline']}"))


def raters_figure(report: dict[str, Any]) -> go.Figure:
    raters = report["raters"]
    names = [row["rater"] for row in raters]
    fig = go.Figure()
    fig.add_bar(
        name="agreement with the majority of the others",
        x=names,
        y=[
            None if row["agreement_with_majority"] is None else 100 * row["agreement_with_majority"]
            for row in raters
        ],
        marker_color="#1d4ed8",
    )
    fig.add_bar(
        name="gold accuracy",
        x=names,
        y=[None if row["gold_accuracy"] is None else 100 * row["gold_accuracy"] for row in raters],
        marker_color="#15803d",
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="%", range=[0, 100])
    return _layout(fig, "Agreement and gold accuracy per rater")


def _raters_have_figures(report: dict[str, Any]) -> bool:
    """An empty chart says less than none: draw the raters' one only with a bar to draw."""
    return any(
        row["agreement_with_majority"] is not None or row["gold_accuracy"] is not None
        for row in report["raters"]
    )


def bradley_terry_figure(report: dict[str, Any]) -> go.Figure | None:
    scores = [row for row in report["systems"] if row.get("elo") is not None]
    if not scores:
        return None
    scores = sorted(scores, key=lambda row: row["elo"])
    fig = go.Figure(
        go.Scatter(
            x=[row["elo"] for row in scores],
            y=[row["name"] for row in scores],
            mode="markers",
            marker={"size": 10, "color": "#1d4ed8"},
            error_x={
                "type": "data",
                "array": [row["elo_ci_high"] - row["elo"] for row in scores],
                "arrayminus": [row["elo"] - row["elo_ci_low"] for row in scores],
            },
            hovertemplate="%{y}: %{x:.0f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="Bradley-Terry strength (Elo scale, 95% bootstrap CI)")
    return _layout(fig, "Ranking of systems", height=max(300, 60 + 40 * len(scores)))


def seconds_figure(seconds: Sequence[float]) -> go.Figure:
    fig = go.Figure(go.Histogram(x=list(seconds), nbinsx=40, marker_color="#57534e"))
    fig.update_xaxes(title="seconds per item")
    fig.update_yaxes(title="ratings")
    return _layout(fig, "Time per item")


def report_figures(report: dict[str, Any], *, seconds: Sequence[float]) -> list[tuple[str, dict[str, Any]]]:
    """(anchor, plotly dict) pairs in the order a reader wants them."""
    figures: list[tuple[str, go.Figure]] = []
    if report["overall"]["n"]:
        figures.append(("preference", preference_figure(report)))
        figures.append(("outcomes", outcomes_figure(report)))
    bt = bradley_terry_figure(report)
    if bt is not None:
        figures.append(("ranking", bt))
    if _raters_have_figures(report):
        figures.append(("raters", raters_figure(report)))
    if seconds:
        figures.append(("seconds", seconds_figure(seconds)))
    return [(anchor, figure.to_plotly_json()) for anchor, figure in figures]
