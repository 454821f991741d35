"""A partner's client for the ipledge API, using only the Python standard library (urllib).

It shows the three calls a bank makes most: file a pledge registration (质押登记申请), read a park's credit
whitelist (授信白名单) and push a repayment (还款). See docs/partner-client.md for authentication, pagination,
errors, idempotency and rate limits.

    IPLEDGE_URL=https://ipledge.example.cn IPLEDGE_API_KEY=ipk_... python examples/partner_client.py whitelist 3
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any


class ApiFailure(Exception):
    """An error answer: the HTTP status and the error items (`field`, `rule`, `message`, `message_en`)."""

    def __init__(self, status: int, errors: list[dict[str, Any]], request_id: str = "") -> None:
        self.status = status
        self.errors = errors
        self.request_id = request_id
        detail = "; ".join(f"{e.get('field') or '-'}: {e.get('rule')} ({e.get('message_en')})" for e in errors)
        super().__init__(f"HTTP {status}: {detail} [request {request_id}]")


class PartnerClient:
    """Calls /api/v1 with an API key, retrying once after a 429 (rate limit) as `Retry-After` asks."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.api_key = api_key
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"X-API-Key": self.api_key, "Accept": "application/json", "Accept-Language": "en"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        for attempt in range(2):
            request = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - our own URL
                    payload = response.read()
                    return json.loads(payload) if payload else None
            except urllib.error.HTTPError as exc:
                if exc.code == 429 and attempt == 0:
                    time.sleep(min(int(exc.headers.get("Retry-After", "1")), 60))
                    continue
                try:
                    answer = json.loads(exc.read() or b"{}")
                except ValueError:
                    answer = {}
                raise ApiFailure(exc.code, answer.get("errors", []), answer.get("request_id", "")) from exc
        raise AssertionError("unreachable")

    def pages(self, path: str, query: dict[str, Any] | None = None, page_size: int = 100) -> Iterator[Any]:
        """Every item of a paginated list (`items`, `count`, `page`, `pages`)."""
        page = 1
        while True:
            answer = self.call("GET", path, query={**(query or {}), "page": page, "page_size": page_size})
            yield from answer["items"]
            if page >= answer["pages"]:
                return
            page += 1


# ---------------------------------------------------------------------------------------------- the three calls


def file_pledge(
    client: PartnerClient,
    *,
    pledgor_uscc: str,
    pledgee_id: int,
    claim_amount: str,
    performance_start: str,
    performance_end: str,
    rights: list[tuple[str, str]],
    contract_no: str = "",
    guarantee_scope: str = "主债权及利息、违约金、损害赔偿金和实现质权的费用",
) -> dict[str, Any]:
    """File a pledge registration (POST /pledge-filings); the pledgor then confirms it in the platform.
    `rights`: (kind, number) pairs, kind one of patent, trademark, copyright, ic_layout_design."""
    body = {
        "pledgor_uscc": pledgor_uscc,
        "pledgee_id": pledgee_id,
        "claim_amount": claim_amount,  # yuan as a decimal string: money is never a float
        "performance_start": performance_start,
        "performance_end": performance_end,
        "guarantee_scope": guarantee_scope,
        "contract_no": contract_no,
        "items": [{"kind": kind, "number": number} for kind, number in rights],
    }
    return client.call("POST", "/pledge-filings", body)  # type: ignore[no-any-return]


def read_whitelist(client: PartnerClient, *, park_id: int, min_score: float | None = None) -> list[dict[str, Any]]:
    """A park's whitelist as the bank receives it: the included entries of its current approved version
    (GET /screening/bank/entries, every page)."""
    return list(client.pages("/screening/bank/entries", {"park_id": park_id, "min_score": min_score}))


def push_repayment(
    client: PartnerClient, *, loan_id: int, amount: str, value_date: str, idempotency_key: str
) -> dict[str, Any]:
    """Post a repayment (POST /loans/{id}/repay). Sending the same Idempotency-Key again returns the first
    transaction instead of booking a second one, so a timed-out call can simply be retried."""
    body = {"amount": amount, "value_date": value_date}
    return client.call(  # type: ignore[no-any-return]
        "POST", f"/loans/{loan_id}/repay", body, idempotency_key=idempotency_key
    )


def main(argv: list[str]) -> int:
    client = PartnerClient(os.environ["IPLEDGE_URL"], os.environ["IPLEDGE_API_KEY"])
    try:
        if argv[:1] == ["whitelist"]:
            for entry in read_whitelist(client, park_id=int(argv[1])):
                print(entry["enterprise"]["uscc"], entry["enterprise"]["name"], entry["score"])
        elif argv[:1] == ["repay"]:
            loan_id, amount, value_date, key = argv[1:5]
            print(
                push_repayment(client, loan_id=int(loan_id), amount=amount, value_date=value_date, idempotency_key=key)
            )
        else:
            print("usage: partner_client.py whitelist PARK_ID | repay LOAN_ID AMOUNT YYYY-MM-DD IDEMPOTENCY_KEY")
            return 2
    except ApiFailure as failure:
        for error in failure.errors:
            print(f"{error.get('field')}: {error.get('rule')}: {error.get('message_en')}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
