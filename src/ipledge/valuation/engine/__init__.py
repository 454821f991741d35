"""Pure valuation engine (no Django): indicator score, money value range and pledge rate of IP rights.

See docs/valuation-engine.md for the frame contract. The core entry points are re-exported here; the submodules
(`tree`, `cohort`, `scoring`, `approaches`, `pledge`, `pipeline`, `reference`, …) hold the rest.
"""

from .approaches import Assumptions, load_assumptions
from .cohort import CohortStats, apply_cohort_stats, fit_cohort_stats, normalise_within_cohort
from .pipeline import (
    RIGHT_INPUT_SCHEMA,
    fit_rights_cohort_stats,
    indicator_values,
    output_columns,
    rights_frame,
    value_rights,
)
from .pledge import PledgePolicy, default_policy, policy_from_dict
from .reference import comparable_index, value_right_row
from .tree import GRADES, Indicator, Scenario, load_scenario

__all__ = [
    "GRADES",
    "RIGHT_INPUT_SCHEMA",
    "Assumptions",
    "CohortStats",
    "Indicator",
    "PledgePolicy",
    "Scenario",
    "apply_cohort_stats",
    "comparable_index",
    "default_policy",
    "fit_cohort_stats",
    "fit_rights_cohort_stats",
    "indicator_values",
    "load_assumptions",
    "load_scenario",
    "normalise_within_cohort",
    "output_columns",
    "policy_from_dict",
    "rights_frame",
    "value_right_row",
    "value_rights",
]
