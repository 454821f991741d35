"""Pure computation engine of the risk-compensation fund (风险补偿基金); no Django.

* `sharing`: loss-sharing rules (fixed or tiered by loan balance), their validation and the split of a loss in fen;
* `clearing`: the advance payment (先行按比例拨付) and the clearing (清算) after disposal, with true-up transfers;
* `stress`: the Monte Carlo adequacy stress test of a fund's pool.
"""

from .clearing import Clearing, Transfer, advance, clear
from .sharing import (
    PAYER_ROLES,
    ROLES,
    Caps,
    FloatRejectedError,
    RuleProblem,
    SharingRule,
    Split,
    Tier,
    rule_from_data,
    rule_to_data,
    split_loss,
    tier_for,
    validate_rule,
)
from .stress import HorizonResult, StressAssumptions, StressResult, default_probability, load_assumptions, simulate

__all__ = [
    "PAYER_ROLES",
    "ROLES",
    "Caps",
    "Clearing",
    "FloatRejectedError",
    "HorizonResult",
    "RuleProblem",
    "SharingRule",
    "Split",
    "StressAssumptions",
    "StressResult",
    "Tier",
    "Transfer",
    "advance",
    "clear",
    "default_probability",
    "load_assumptions",
    "rule_from_data",
    "rule_to_data",
    "simulate",
    "split_loss",
    "tier_for",
    "validate_rule",
]
