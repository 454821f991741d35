"""The proceeds waterfall (价款分配) of a disposal, in fen.

Order: disposal costs (处置费用) → the bank's principal (本金) → its interest (利息) → any surplus (余额) back to the
pledgor. The risk-compensation fund is not a creditor of the proceeds: it is paid back through the claim's clearing
(清算) out of what the bank received, so `fund_return_fen` is reported beside the steps, not deducted from them.
Every fen of the gross is placed exactly once: the steps add up to the gross.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Steps:
    costs_fen: int
    principal_fen: int
    interest_fen: int
    surplus_fen: int

    @property
    def total_fen(self) -> int:
        return self.costs_fen + self.principal_fen + self.interest_fen + self.surplus_fen

    @property
    def bank_fen(self) -> int:
        return self.principal_fen + self.interest_fen

    def as_dict(self) -> dict[str, int]:
        return {
            "costs": self.costs_fen,
            "bank_principal": self.principal_fen,
            "bank_interest": self.interest_fen,
            "surplus": self.surplus_fen,
        }


def distribute(*, gross_fen: int, costs_fen: int, principal_due_fen: int, interest_due_fen: int) -> Steps:
    """Place `gross_fen` in waterfall order; each creditor takes at most what it is owed."""
    for name, value in (
        ("gross_fen", gross_fen),
        ("costs_fen", costs_fen),
        ("principal_due_fen", principal_due_fen),
        ("interest_due_fen", interest_due_fen),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative whole number of fen (got {value!r})")
    left = gross_fen
    costs = min(costs_fen, left)
    left -= costs
    principal = min(principal_due_fen, left)
    left -= principal
    interest = min(interest_due_fen, left)
    left -= interest
    return Steps(costs_fen=costs, principal_fen=principal, interest_fen=interest, surplus_fen=left)
