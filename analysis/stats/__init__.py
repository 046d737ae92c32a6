"""The statistics behind the reports: plain numpy / scipy, no Django.

Every public function takes plain Python or numpy data and returns JSON-serialisable dicts in which an
undefined quantity is ``None`` (never NaN), so a report can be written with ``json.dumps`` as is.

Vocabulary used throughout:
- an *outcome* is one rating seen from the candidate's side: ``"win"``, ``"loss"``, ``"tie"`` or
  ``"both_bad"``;
- a *unit* is what the bootstrap resamples: the prompt, because the ratings of one prompt share the
  prompt's difficulty and are not independent.

Modules: ``proportion`` (one proportion's interval and test), ``preference`` (candidate against
baseline), ``agreement`` (raters with each other, position bias, per-rater summaries), ``rankings``
(Bradley-Terry), ``planning`` (sample sizes). The names below are re-exported for callers that read
``stats.NAME``.
"""

from analysis.stats.agreement import (
    agreement,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha_nominal,
    position_bias,
    position_bias_counts,
    prevalence_note,
    rater_summaries,
)
from analysis.stats.planning import decisive_votes_needed, power_table
from analysis.stats.preference import (
    bootstrap_unit_totals,
    preference_block,
    preference_by_group,
    preference_counts,
)
from analysis.stats.proportion import (
    DEFAULT_BOOTSTRAP_ROUNDS,
    OUTCOMES,
    Z95,
    binomial_p_value,
    finite_or_none,
    wilson_interval,
)
from analysis.stats.rankings import (
    BT_RIDGE,
    ELO_BASE,
    ELO_SCALE,
    bradley_terry,
    bradley_terry_fit,
    bradley_terry_negloglik,
    pair_index,
    wins_from_cells,
)

__all__ = [
    "BT_RIDGE",
    "DEFAULT_BOOTSTRAP_ROUNDS",
    "ELO_BASE",
    "ELO_SCALE",
    "OUTCOMES",
    "Z95",
    "agreement",
    "binomial_p_value",
    "bootstrap_unit_totals",
    "bradley_terry",
    "bradley_terry_fit",
    "bradley_terry_negloglik",
    "cohen_kappa",
    "decisive_votes_needed",
    "finite_or_none",
    "fleiss_kappa",
    "gwet_ac1",
    "krippendorff_alpha_nominal",
    "pair_index",
    "position_bias",
    "position_bias_counts",
    "power_table",
    "preference_block",
    "preference_by_group",
    "preference_counts",
    "prevalence_note",
    "rater_summaries",
    "wilson_interval",
    "wins_from_cells",
]
