"""Pure computation of pledge registration (no Django imports): the examination rules and working days."""

from ipledge.registration.engine.examination import (
    RULES,
    FilingFacts,
    Finding,
    ItemFacts,
    OwnerFacts,
    RightFacts,
    RuleInfo,
    blocking,
    examine,
)
from ipledge.registration.engine.workdays import WorkingCalendar

__all__ = [
    "RULES",
    "FilingFacts",
    "Finding",
    "ItemFacts",
    "OwnerFacts",
    "RightFacts",
    "RuleInfo",
    "WorkingCalendar",
    "blocking",
    "examine",
]
