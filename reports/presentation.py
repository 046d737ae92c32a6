"""A report dict as display rows for templates/reports/_report_body.html: the web page and the html export.

Strings and small dicts, so the templates stay free of logic; every number comes from the report dict
itself (analysis.report), never from a second computation.
"""

from __future__ import annotations

from typing import Any

from analysis.columns import RatingColumns, Ratings
from analysis.figures import report_figures
from analysis.style_control import conclusion_change
from analysis.style_figures import FEATURE_LABELS, style_figures
from core.plots import figure_html

# plotly's own logo off and a width that follows the page, for every figure of a report.
FIGURE_CONFIG = {"displaylogo": False, "responsive": True}
REFERENCES = (
    "Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22(158).",
    "Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the case of "
    "the binomial. Biometrika 26(4). (Exact binomial test.)",
    "Efron, B. (1979). Bootstrap methods: another look at the jackknife. Annals of Statistics 7(1).",
    "Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin 76(5).",
    "Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological Measurement 20(1).",
    "Krippendorff, K. (2004/2011). Content Analysis: An Introduction to Its Methodology; Computing Krippendorff's "
    "Alpha-Reliability.",
    "Bradley, R. A. & Terry, M. E. (1952). Rank analysis of incomplete block designs: I. The method of paired "
    "comparisons. Biometrika 39(3/4).",
    "Chung, H. W. et al. (2022). Scaling Instruction-Finetuned Language Models. (The usability evaluation.)",
    "Angelopoulos, A. N., Bates, S., Fannjiang, C., Jordan, M. I. & Zrnic, T. (2023). Prediction-powered "
    "inference. Science 382(6671).",
    "Angelopoulos, A. N., Duchi, J. C. & Zrnic, T. (2023). PPI++: Efficient prediction-powered inference. "
    "arXiv:2311.01453.",
    "Li, T., Angelopoulos, A. N., Chiang, W.-L. et al. (2024). Does style matter? Disentangling style and "
    "substance in Chatbot Arena. LMSYS blog. (Style control; FastChat's rating_systems.py.)",
    "Andrews, D. W. K. (2002). Higher-order improvements of a computationally attractive k-step bootstrap for "
    "extremum estimators. Econometrica 70(1).",
)


NO_INTERVAL = "no interval (no decisive votes)"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(low: float | None, high: float | None) -> str:
    return NO_INTERVAL if low is None else f"{_pct(low)} to {_pct(high)}"


def _groups(report: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(group, kind, preference block): overall, then each category, each setting and, for
    conversations (a turn past the first), each turn."""
    rows = [("Overall", "", report["overall"])]
    rows += [(name, "category", block) for name, block in report["by_category"].items()]
    rows += [(name, "setting", block) for name, block in report["by_setting"].items()]
    by_turn = report.get("by_turn", {})
    if any(name != "1" for name in by_turn):
        rows += [(f"Turn {name}", "turn", block) for name, block in by_turn.items()]
    return rows


def preference_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Display rows for the preference table (strings, so templates stay logic-free)."""
    return [
        {
            "group": name,
            "kind": kind,
            "n": block["n"],
            "wins": block["wins"],
            "losses": block["losses"],
            "ties": block["ties"],
            "both_bad": block["both_bad"],
            "rate": _pct(block["preference_rate"]),
            "ci": _interval(block["ci_low"], block["ci_high"]),
            # A method beside "no interval" would read as if one had been computed.
            "ci_method": block["ci_method"].replace("_", " ") if block["ci_low"] is not None else "",
            "rate_ties_half": _pct(block["preference_rate_ties_half"]),
            "p_value": _p(block["p_value"]),
            **_styled(block),
        }
        for name, kind, block in _groups(report)
    ]


def _styled(block: dict[str, Any]) -> dict[str, str]:
    """The block's style-controlled rate as display strings (empty when the report has none at all)."""
    controlled = block.get("style_controlled")
    if controlled:
        return {
            "styled": _pct(controlled["rate"]),
            "styled_ci": _interval(controlled["ci_low"], controlled["ci_high"]),
        }
    return {"styled": "-", "styled_ci": block.get("style_controlled_refused", "")}


def style_context(report: dict[str, Any]) -> dict[str, Any] | None:
    """The style-control section: coefficients, style-controlled strengths and what changes."""
    block = report.get("style_control")
    if block is None:
        return {"refused": report.get("style_control_refused", "")} if "style_control" in report else None
    return {
        "refused": "",
        "n": block["n"],
        "coefficient_rows": [
            {
                "feature": FEATURE_LABELS.get(name, name),
                "value": _num(block["coefficients"][name], 2),
                "ci": f"{_num(block['coefficient_ci'][name][0], 2)} to {_num(block['coefficient_ci'][name][1], 2)}",
            }
            for name in block["features"]
        ],
        "system_rows": [
            {
                **row,
                "score_text": _num(row["score"], 2),
                "ci": f"{_num(row['ci_low'], 2)} to {_num(row['ci_high'], 2)}",
            }
            for row in block["systems"]
        ],
        "overall": _styled(report["overall"]),
        "change": conclusion_change(report["overall"]),
    }


def report_context(*, report: dict[str, Any], records: Ratings, title: str) -> dict[str, Any]:
    """What templates/reports/_report_body.html needs; shared by the web page and the html export."""
    agreement = report["agreement"]
    bias = report["position_bias"]
    return {
        "title": title,
        "report": report,
        "preference_rows": preference_rows(report),
        "pair_rows": [
            {
                **row,
                "rate": _pct(row["preference_rate"]),
                "ci": f"{_pct(row['ci_low'])} to {_pct(row['ci_high'])}",
                "p": _p(row["p_value"]),
            }
            for row in report.get("by_pair", [])
        ],
        "systems_rows": [
            {
                **row,
                "elo_text": _num(row.get("elo"), 0),
                "elo_ci": f"{_num(row.get('elo_ci_low'), 0)} to {_num(row.get('elo_ci_high'), 0)}",
            }
            for row in report["systems"]
        ],
        "bt": report.get("bradley_terry"),
        "agreement_text": {
            "percent": _pct(agreement["percent_agreement"]),
            "fleiss": _num(agreement["fleiss_kappa"], 3),
            "alpha": _num(agreement["krippendorff_alpha"], 3),
        },
        "cohen_rows": [
            {**row, "kappa_text": _num(row["kappa"], 3), "pa": _pct(row["percent_agreement"])}
            for row in agreement["cohen_kappa"]
        ],
        "bias_text": {
            "rate": _pct(bias["left_rate"]),
            "p": _p(bias["p_value"]),
            "ci": f"{_pct(bias['ci_low'])} to {_pct(bias['ci_high'])}",
        },
        "rater_rows": [
            {
                **row,
                "median": _num(row["median_seconds"], 1),
                "majority": _pct(row["agreement_with_majority"]),
                "gold": _pct(row["gold_accuracy"]),
            }
            for row in report["raters"]
        ],
        "power_rows": report["power"]["rows"],
        "figures": [
            (anchor, figure_html(fig, config=FIGURE_CONFIG))
            for anchor, fig in [
                *report_figures(report, seconds=_seconds(records)),
                *style_figures(report),
            ]
        ],
        "style": style_context(report),
        "judge": judge_context(report),
        "references": REFERENCES,
    }


def ppi_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The prediction-powered rate beside the humans-only one, for every group that has a ``ppi`` key."""
    out = []
    for name, kind, block in _groups(report):
        if "ppi" not in block:
            continue
        ppi = block["ppi"]
        row: dict[str, Any] = {"group": name, "kind": kind, "refused": block.get("ppi_refused", "")}
        if ppi is not None:
            decisive = ppi.get("decisive")
            row.update(
                estimate=_pct(ppi["estimate"]),
                ci=_interval(ppi["ci_low"], ppi["ci_high"]),
                human=_pct(ppi["human_only_estimate"]),
                human_ci=_interval(ppi["human_only_ci_low"], ppi["human_only_ci_high"]),
                effective_n=_num(ppi["effective_n"], 0),
                n_human=ppi["n_human"],
                n_judge_only=ppi["n_judge_only"],
                lam=_num(ppi["lambda"], 2),
                decisive=(
                    f"{_pct(decisive['estimate'])} ({_interval(decisive['ci_low'], decisive['ci_high'])})"
                    if decisive
                    else "-"
                ),
            )
        out.append(row)
    return out


def judge_context(report: dict[str, Any]) -> dict[str, Any] | None:
    """The judge section: agreement with the humans and the judge-only rate; None without a judge run."""
    judge = report.get("judge")
    if judge is None:
        return None
    only = judge["judge_only"]
    return {
        "name": judge["name"],
        "items": judge["items"],
        "rated_items": judge["rated_items"],
        "ratings": judge["ratings"],
        "agreement": _pct(judge["percent_agreement"]),
        "kappa": _num(judge["cohen_kappa"], 3),
        "ac1": _num(judge.get("gwet_ac1"), 3),
        "prevalence_note": judge.get("prevalence_note"),
        "chosen": judge.get("chosen", False),
        "active": ((report["overall"].get("ppi") or {}).get("design") == "active"),
        "excluded_reason": (report["overall"].get("ppi") or {}).get("excluded_reason", ""),
        "human_agreement": _pct(judge["human_percent_agreement"]),
        "human_items": judge["human_items"],
        "consistency": _pct(judge["position_consistency"]),
        "only_items": only["items"],
        "only_rate": _pct(only["preference_rate"]),
        "only_rate_ties_half": _pct(only["preference_rate_ties_half"]),
        "groups": [
            {
                "group": group,
                "kind": kind,
                "ratings": figures["ratings"],
                "agreement": _pct(figures["percent_agreement"]),
                "kappa": _num(figures["cohen_kappa"], 3),
            }
            for kind in ("category", "setting")
            for group, figures in judge[f"by_{kind}"].items()
        ],
        "ppi_rows": ppi_rows(report),
    }


def _seconds(records: Ratings) -> list[float]:
    """Every rating's seconds, in order (the time figure's data)."""
    if isinstance(records, RatingColumns):
        return records.seconds.tolist()
    return [r.seconds for r in records]
