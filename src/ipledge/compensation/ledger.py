"""The fund's double-entry book (复式记账): accounts, balanced postings in fen, reversals and balances.

Sign convention: a line's amount is positive for a debit and negative for a credit, so every entry's lines add
up to zero and an account's balance is the sum of its lines. The chart (`AccountKind`):

- cash (基金专户存款, the fund's own): debited by contributions and money returned, credited by payouts;
- capital (出资, per sponsor): credited by contributions;
- settlement (往来结算, per bank / insurer / guarantor / valuer): debited when the party receives, credited when
  it pays;
- exposure (待清算代偿敞口, per bank): the loss awaiting clearing: debited when a claim is approved, credited by
  recoveries and by clearing;
- loan_book (银行贷款本金, per bank): the principal moved out of the bank's book into the shared exposure;
- loss (最终损失分担, per party and the fund): what each party finally bears, debited at clearing.

A cleared claim leaves its exposure at zero, each payer's settlement equal to minus its final share and the
fund's cash lower by exactly the fund's final share (`claim_positions` shows it; the tests prove it).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Sum

from ipledge.core.audit import record_event
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money

from .choices import AccountKind, EntryKind, PartyRole
from .models import Claim, Fund, JournalEntry, JournalLine, LedgerAccount


class LedgerError(ValueError):
    """A posting that would break double entry (unbalanced, empty, zero line, another fund's account)."""


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    fen: int  # positive debit, negative credit


def account(fund: Fund, kind: str, role: str, party: Organisation | None = None) -> LedgerAccount:
    """The fund's account of this kind for a party (None: the fund's own), opened on first use."""
    found, _ = LedgerAccount.objects.get_or_create(
        fund=fund, kind=kind, role=role, party=party if role != PartyRole.FUND else None
    )
    return found


def paying_account(fund: Fund, role: str, party: Organisation | None) -> LedgerAccount:
    """Where money leaves from: the fund's cash, a sponsor's capital, or a party's settlement account."""
    if role == PartyRole.FUND:
        return account(fund, AccountKind.CASH, PartyRole.FUND)
    if role == PartyRole.SPONSOR:
        return account(fund, AccountKind.CAPITAL, PartyRole.SPONSOR, party)
    return account(fund, AccountKind.SETTLEMENT, role, party)


def receiving_account(fund: Fund, role: str, party: Organisation | None) -> LedgerAccount:
    if role == PartyRole.FUND:
        return account(fund, AccountKind.CASH, PartyRole.FUND)
    return account(fund, AccountKind.SETTLEMENT, role, party)


def post(
    *,
    fund: Fund,
    kind: str,
    legs: Sequence[Leg],
    value_date: datetime.date,
    memo: str,
    acting_user: User | None,
    claim: Claim | None = None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """Write one balanced entry (call inside the service's transaction); refuses anything that does not balance."""
    merged: dict[int, int] = defaultdict(int)
    accounts: dict[int, LedgerAccount] = {}
    for leg in legs:
        if leg.account.fund_id != fund.pk:
            raise LedgerError("an entry may only touch its own fund's accounts")
        merged[leg.account.pk] += leg.fen
        accounts[leg.account.pk] = leg.account
    lines = [(accounts[pk], fen) for pk, fen in merged.items() if fen != 0]
    if len(lines) < 2:
        raise LedgerError("an entry needs at least one debit and one credit")
    if sum(fen for _, fen in lines) != 0:
        raise LedgerError(f"entry does not balance: debits and credits differ by {sum(f for _, f in lines)} fen")
    entry = JournalEntry.objects.create(
        fund=fund,
        claim=claim,
        kind=kind,
        value_date=value_date,
        memo=memo[:255],
        reverses=reverses,
        posted_by=acting_user if acting_user is not None and acting_user.pk else None,
    )
    JournalLine.objects.bulk_create(
        [JournalLine(entry=entry, account=acct, amount=Money.from_fen(fen)) for acct, fen in lines]  # type: ignore[misc]
    )
    record_event(
        acting_user=acting_user,
        action="journal_entry.post",
        instance=entry,
        new={"kind": kind, "value_date": value_date, "memo": memo, "claim": claim, "reverses": reverses},
        extra={"lines": [{"account": acct.pk, "fen": fen} for acct, fen in lines]},
    )
    return entry


def reverse(*, entry: JournalEntry, value_date: datetime.date, reason: str, acting_user: User | None) -> JournalEntry:
    """Post the mirror image of an entry; the original stays, linked to its reversal."""
    legs = [Leg(line.account, -line.amount.fen) for line in entry.lines.select_related("account")]
    return post(
        fund=entry.fund,
        kind=EntryKind.REVERSAL,
        legs=legs,
        value_date=value_date,
        memo=f"冲正 #{entry.pk}：{reason}",
        acting_user=acting_user,
        claim=entry.claim,
        reverses=entry,
    )


def as_fen(value: Money | int | None) -> int:
    """An aggregate over a money column comes back as Money (or None over no rows)."""
    if value is None:
        return 0
    return value.fen if isinstance(value, Money) else int(value)


def balance_fen(acct: LedgerAccount, *, claim: Claim | None = None) -> int:
    lines = JournalLine.objects.filter(account=acct)
    if claim is not None:
        lines = lines.filter(entry__claim=claim)
    return as_fen(lines.aggregate(total=Sum("amount"))["total"])


def cash_fen(fund: Fund) -> int:
    """The fund's bank balance (基金专户余额) in fen (a read: no account is opened for it)."""
    lines = JournalLine.objects.filter(account__fund=fund, account__kind=AccountKind.CASH, account__role=PartyRole.FUND)
    return as_fen(lines.aggregate(total=Sum("amount"))["total"])


def fund_cash_on_claim_fen(claim: Claim) -> int:
    """The net movement of the fund's cash on one claim (negative: paid out)."""
    lines = JournalLine.objects.filter(entry__claim=claim, account__kind=AccountKind.CASH, account__role=PartyRole.FUND)
    return as_fen(lines.aggregate(total=Sum("amount"))["total"])


def claim_positions(claim: Claim) -> dict[tuple[str, str, int | None], int]:
    """Net fen per (account kind, role, party id) over one claim's entries: what the claim has moved so far."""
    rows = (
        JournalLine.objects.filter(entry__claim=claim)
        .values_list("account__kind", "account__role", "account__party_id")
        .annotate(total=Sum("amount"))
    )
    positions = {(kind, role, party): as_fen(total) for kind, role, party, total in rows}
    return {key: fen for key, fen in positions.items() if fen != 0}
