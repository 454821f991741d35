"""Screening services (writes), one module per area: `records` (credit-record imports and the match review),
`scorecards` (expert and trained scorecards), `whitelists` (criteria, screening, versions, applications, approval),
`banking` (subscriptions, credit decisions, park intended credit lines and their allocations)."""
