"""The 信易贷 exchange end to end: real HTTPS traffic with the bundled mock partner (a separate process on loopback
with a private CA made by trustme), retries with backoff, dead letters and requeue, a signature failure; our
receiving endpoint with duplicates, replays, stale and forged requests; pulling credit data and loan outcomes."""

from __future__ import annotations

import datetime
import json
import select
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trustme
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from ipledge.core.models import AuditEvent, User
from ipledge.core.synthetic import make_uscc
from ipledge.integration import signing
from ipledge.integration.choices import InboundStatus, MessageKind, OutboundStatus
from ipledge.integration.models import (
    ExchangePartner,
    InboundMessage,
    OutboundMessage,
    PartnerCreditReport,
    PartnerLoanOutcome,
)
from ipledge.integration.services.delivery import backoff_seconds, deliver_due, requeue
from ipledge.integration.services.inbound import pull

KEY_ID = "xyd-test"
SECRET = "mock-shared-secret-0123456789abcdef"
START_TIMEOUT = 15.0


class MockPartner:
    def __init__(self, proc: subprocess.Popen[str], port: int, ca_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.ca_path = ca_path
        self.base_url = f"https://127.0.0.1:{port}"

    def received(self) -> dict[str, Any]:
        context = ssl.create_default_context(cafile=str(self.ca_path))
        with urllib.request.urlopen(f"{self.base_url}/v1/_received", context=context, timeout=10) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exchange-tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    with open(files["cert"], "wb") as fh:
        for blob in cert.cert_chain_pems:
            fh.write(blob.bytes())
    return files


@pytest.fixture
def mock_partner(tls_files: dict[str, Path]) -> Iterator[Callable[..., MockPartner]]:
    """Start mock 信易贷 servers as subprocesses; every one is killed when the test ends, whatever happens."""
    procs: list[subprocess.Popen[str]] = []

    def start(*, fail_first: int = 0, usccs: tuple[str, ...] = ()) -> MockPartner:
        args = [
            sys.executable,
            "-m",
            "ipledge.integration.mock_server",
            "--port",
            "0",
            "--key-id",
            KEY_ID,
            "--secret",
            SECRET,
            "--cert",
            str(tls_files["cert"]),
            "--key",
            str(tls_files["key"]),
            "--fail-first",
            str(fail_first),
        ]
        for uscc in usccs:
            args += ["--uscc", uscc]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        if not ready:
            raise AssertionError("the mock server did not start in time")
        line = proc.stdout.readline()
        if not line:
            stderr = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"the mock server exited: {stderr}")
        return MockPartner(proc, int(json.loads(line)["port"]), tls_files["ca"])

    with override_settings(IPLEDGE_EXCHANGE_CA_BUNDLE=str(tls_files["ca"])):
        try:
            yield start
        finally:
            for proc in procs:
                proc.kill()
            for proc in procs:
                try:
                    proc.wait(timeout=10)
                finally:
                    for stream in (proc.stdout, proc.stderr):
                        if stream is not None:
                            stream.close()


def _partner(mock: MockPartner, *, secret: str = SECRET, max_attempts: int = 6) -> ExchangePartner:
    return ExchangePartner.objects.create(
        code="xyd-test",
        name="测试信易贷平台",
        base_url=mock.base_url,
        key_id=KEY_ID,
        secret=secret,
        region_code="110000",
        max_attempts=max_attempts,
    )


def _message(partner: ExchangePartner, now: datetime.datetime, n: int = 1) -> OutboundMessage:
    return OutboundMessage.objects.create(
        partner=partner,
        kind=MessageKind.PRODUCT,
        subject_key=f"product:{n}",
        payload={"code": f"P{n}", "name": "知识产权质押贷", "max_amount": "5000000.00"},
        payload_digest=f"{n:064d}",
        next_attempt_at=now,
    )


def _root() -> User:
    return User.objects.create_superuser("exchange-root", password="Root-pass-12345")


# --- pushing to the partner -----------------------------------------------------------------------------------


def test_delivery_round_trip(db: None, mock_partner: Callable[..., MockPartner]) -> None:
    mock = mock_partner()
    now = timezone.now()
    message = _message(_partner(mock), now)
    later = _message(message.partner, now + datetime.timedelta(hours=1), n=2)

    report = deliver_due(now=now)

    assert report.as_dict() == {"picked": 1, "delivered": 1, "retrying": 0, "dead": 0, "skipped": 0}
    message.refresh_from_db()
    assert message.status == OutboundStatus.DELIVERED
    assert (message.attempts, message.last_status_code, message.delivered_at) == (1, 200, now)
    received = mock.received()["messages"]
    assert received == [
        {
            "message_id": str(message.message_id),
            "kind": "product",
            "schema_version": 1,
            "payload": message.payload,
            "idempotency_key": str(message.message_id),
        }
    ]
    later.refresh_from_db()
    assert later.status == OutboundStatus.PENDING  # not due yet
    assert deliver_due(now=now).picked == 0  # delivered rows are not sent again


def test_delivery_for_one_partner_leaves_the_others_queue(db: None, mock_partner: Callable[..., MockPartner]) -> None:
    mock = mock_partner()
    now = timezone.now()
    mine = _message(_partner(mock), now)
    other_partner = ExchangePartner.objects.create(
        code="xyd-other", name="另一信易贷平台", base_url=mock.base_url, key_id="xyd-other", secret=SECRET
    )
    theirs = OutboundMessage.objects.create(
        partner=other_partner,
        kind=MessageKind.PRODUCT,
        subject_key="product:9",
        payload={"code": "P9"},
        payload_digest=f"{9:064d}",
        next_attempt_at=now,
    )

    report = deliver_due(now=now, partner=mine.partner)

    assert (report.picked, report.delivered) == (1, 1)
    theirs.refresh_from_db()
    assert theirs.status == OutboundStatus.PENDING and theirs.attempts == 0


def test_retry_with_backoff_then_delivered(db: None, mock_partner: Callable[..., MockPartner]) -> None:
    mock = mock_partner(fail_first=2)
    t0 = timezone.now()
    message = _message(_partner(mock), t0)

    assert deliver_due(now=t0).retrying == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_status_code) == (OutboundStatus.RETRYING, 1, 503)
    first_wait = (message.next_attempt_at - t0).total_seconds()
    assert first_wait == pytest.approx(backoff_seconds(message.message_id, 1))
    assert 54 <= first_wait <= 66
    assert "503" in message.last_error

    assert deliver_due(now=t0 + datetime.timedelta(seconds=30)).picked == 0  # not due yet

    t1 = t0 + datetime.timedelta(seconds=70)
    assert deliver_due(now=t1).retrying == 1
    message.refresh_from_db()
    assert message.attempts == 2
    assert 108 <= (message.next_attempt_at - t1).total_seconds() <= 132  # doubled

    t2 = t1 + datetime.timedelta(seconds=140)
    assert deliver_due(now=t2).delivered == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.delivered_at, message.last_error) == (
        OutboundStatus.DELIVERED,
        3,
        t2,
        "",
    )
    assert [r["status"] for r in mock.received()["requests"]] == [503, 503, 200]


def test_backoff_doubles_is_capped_and_jittered_per_message() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    for n in (1, 2, 3, 8):
        assert 0.9 * 60 * 2 ** (n - 1) <= backoff_seconds(a, n) <= 1.1 * 60 * 2 ** (n - 1)
    assert 0.9 * 6 * 3600 <= backoff_seconds(a, 15) <= 1.1 * 6 * 3600
    assert backoff_seconds(a, 1) == backoff_seconds(a, 1)  # deterministic
    assert backoff_seconds(a, 1) != backoff_seconds(b, 1)  # spread between messages


def test_dead_letter_after_max_attempts_then_requeue(world: Any, mock_partner: Callable[..., MockPartner]) -> None:
    mock = mock_partner(fail_first=2)
    t0 = timezone.now()
    message = _message(_partner(mock, max_attempts=2), t0)

    deliver_due(now=t0)
    report = deliver_due(now=t0 + datetime.timedelta(minutes=5))
    assert report.dead == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboundStatus.DEAD, 2)
    assert message.dead_at is not None and "after 2 attempts" in message.last_error
    event = AuditEvent.objects.get(action="outboundmessage.dead", object_id=str(message.pk))
    assert event.changes["extra"]["status_code"] == 503
    assert deliver_due(now=t0 + datetime.timedelta(days=1)).picked == 0  # the dead stay dead

    with pytest.raises(PermissionDenied):
        requeue(actor=world.user("ipo_bj", "admin"), message=message)
    root = _root()
    requeue(actor=root, message=message)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.dead_at, message.last_error) == (
        OutboundStatus.PENDING,
        0,
        None,
        "",
    )
    assert AuditEvent.objects.filter(action="outboundmessage.requeue", object_id=str(message.pk)).count() == 1

    assert deliver_due(now=timezone.now() + datetime.timedelta(seconds=1)).delivered == 1
    message.refresh_from_db()
    assert message.status == OutboundStatus.DELIVERED
    with pytest.raises(ValidationError) as err:
        requeue(actor=root, message=message)
    assert err.value.error_dict["status"][0].code == "not_dead"


def test_signature_failure_is_dead_at_once(db: None, mock_partner: Callable[..., MockPartner]) -> None:
    mock = mock_partner()
    now = timezone.now()
    message = _message(_partner(mock, secret="not-the-secret-the-partner-knows"), now)

    assert deliver_due(now=now).dead == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_status_code) == (OutboundStatus.DEAD, 1, 401)
    assert "bad_signature" in message.last_error
    assert mock.received()["messages"] == []
    assert mock.received()["requests"][0]["error"] == "bad_signature"


def test_unreachable_partner_is_retried(db: None, mock_partner: Callable[..., MockPartner]) -> None:
    mock = mock_partner()
    mock.proc.kill()
    mock.proc.wait(timeout=10)
    now = timezone.now()
    message = _message(_partner(mock), now)

    assert deliver_due(now=now).retrying == 1
    message.refresh_from_db()
    assert message.status == OutboundStatus.RETRYING
    assert message.last_status_code is None and "connection failed" in message.last_error


def test_cli_deliver_and_ping(db: None, mock_partner: Callable[..., MockPartner], capsys: Any) -> None:
    mock = mock_partner()
    message = _message(_partner(mock), timezone.now() - datetime.timedelta(seconds=1))

    call_command("exchange", "deliver", "--json")
    assert json.loads(capsys.readouterr().out)["deliver"]["delivered"] == 1
    message.refresh_from_db()
    assert message.status == OutboundStatus.DELIVERED

    call_command("exchange", "ping", "--json")
    assert json.loads(capsys.readouterr().out)["ping"]["xyd-test"]["ok"] is True


# --- pulling from the partner ---------------------------------------------------------------------------------


def test_pull_applies_credit_data_and_loan_outcomes_once(world: Any, mock_partner: Callable[..., MockPartner]) -> None:
    e1, e2 = world.enterprises["e1"], world.enterprises["e2"]
    stranger = make_uscc(region_code="110108", serial=9_999)
    mock = mock_partner(usccs=(e1.uscc, e2.uscc, stranger))
    partner = _partner(mock)
    root = _root()

    report = pull(partner=partner, actor=root)

    assert (report.fetched, report.applied, report.rejected, report.duplicates, report.invalid) == (6, 4, 2, 0, 0)
    assert report.errors == []
    partner.refresh_from_db()
    assert partner.pulled_until is not None
    assert PartnerCreditReport.objects.filter(partner=partner).count() == 2
    credit = PartnerCreditReport.objects.get(partner=partner, enterprise=e1)
    assert (credit.as_of, credit.tax_rating, credit.social_insurance_headcount) == (datetime.date(2026, 1, 5), "A", 20)
    outcome = PartnerLoanOutcome.objects.get(partner=partner, enterprise=e2)
    assert (outcome.outcome, outcome.is_ip_pledge, outcome.amount.amount) == ("granted", True, Decimal("600000.00"))
    rejected = InboundMessage.objects.filter(partner=partner, status=InboundStatus.REJECTED)
    assert {m.result["reason"] for m in rejected} == {"unknown_uscc"}
    assert AuditEvent.objects.filter(action="exchangepartner.pull").count() == 1

    # Nothing new since the last pull.
    assert pull(partner=partner).fetched == 0
    # Pulled again from the start: every message is recognised, nothing applied twice.
    ExchangePartner.objects.filter(pk=partner.pk).update(pulled_until=None)
    partner.refresh_from_db()
    again = pull(partner=partner)
    assert (again.fetched, again.applied, again.duplicates) == (6, 0, 6)
    assert PartnerCreditReport.objects.filter(partner=partner).count() == 2
    assert PartnerLoanOutcome.objects.filter(partner=partner).count() == 2
    assert InboundMessage.objects.filter(partner=partner).count() == 6


def test_failed_pull_keeps_the_watermark(db: None, mock_partner: Callable[..., MockPartner]) -> None:
    mock = mock_partner()
    partner = _partner(mock, secret="wrong-secret")
    report = pull(partner=partner)
    assert report.pulled_until is None and any("401" in e for e in report.errors)
    partner.refresh_from_db()
    assert partner.pulled_until is None


# --- our receiving endpoint -----------------------------------------------------------------------------------


def _local_partner() -> ExchangePartner:
    return ExchangePartner.objects.create(
        code="xyd-push", name="推送方", base_url="https://127.0.0.1:9", key_id="xyd-push-key", secret=SECRET
    )


def _signed_post(
    client: Client,
    body: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    key_id: str = "xyd-push-key",
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    path = reverse("exchange:messages")
    sent = headers or signing.sign_headers(
        key_id=key_id, secret=secret, method="POST", path=path, body=raw, timestamp=timestamp
    )
    response = client.post(path, data=raw, content_type="application/json", headers=sent)
    response.sent_headers = sent
    return response


def _credit(uscc: str, message_id: str = "push-1", **payload: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "kind": "credit_data",
        "schema_version": 1,
        "sent_at": "2026-03-01T08:00:00+08:00",
        "payload": {
            "uscc": uscc,
            "as_of": "2026-02-28",
            "tax_rating": "B",
            "social_insurance_headcount": 35,
            "tax_arrears": False,
            "utility_arrears": True,
            **payload,
        },
    }


def _response_verified(response: Any) -> bool:
    return (
        signing.verify(
            method=signing.response_method(response.status_code),
            path=reverse("exchange:messages"),
            headers=response.headers,
            body=response.content,
            secret_for=lambda key: SECRET if key == "xyd-push-key" else None,
            expected_nonce=response.sent_headers[signing.HEADER_NONCE],
        )
        is None
    )


def test_receiver_applies_a_pushed_message_once(world: Any) -> None:
    partner = _local_partner()
    e1 = world.enterprises["e1"]
    client = Client()

    first = _signed_post(client, _credit(e1.uscc))
    assert first.status_code == 200, first.content
    assert first.json() == {"message_id": "push-1", "status": "applied", "duplicate": False}
    assert _response_verified(first)
    report = PartnerCreditReport.objects.get(partner=partner, enterprise=e1)
    assert (report.tax_rating, report.utility_arrears, report.social_insurance_headcount) == ("B", True, 35)
    message = InboundMessage.objects.get(partner=partner, message_id="push-1")
    event = AuditEvent.objects.get(action="inboundmessage.receive", object_id=str(message.pk))
    assert event.actor is None and event.actor_name == "system"
    assert event.changes["extra"]["partner"] == partner.code
    assert event.changes["extra"]["status"] == "applied"
    assert event.changes["extra"]["result"]["credit_report"] == report.pk

    again = _signed_post(client, _credit(e1.uscc))  # the same message, a fresh signature
    assert again.status_code == 200
    assert again.json() == {"message_id": "push-1", "status": "applied", "duplicate": True}
    assert InboundMessage.objects.filter(partner=partner).count() == 1
    assert PartnerCreditReport.objects.filter(partner=partner).count() == 1
    assert AuditEvent.objects.filter(action="inboundmessage.receive").count() == 1  # a duplicate changes nothing

    reused = _signed_post(client, _credit(e1.uscc, tax_rating="D"))
    assert reused.status_code == 409
    assert reused.json()["error"] == "message_id_reused"
    assert PartnerCreditReport.objects.get(partner=partner, enterprise=e1).tax_rating == "B"


def test_receiver_refuses_replays_stale_and_forged_requests(world: Any) -> None:
    _local_partner()
    uscc = world.enterprises["e1"].uscc
    client = Client()

    first = _signed_post(client, _credit(uscc, "push-replay"))
    assert first.status_code == 200
    replay = _signed_post(client, _credit(uscc, "push-replay"), headers=first.sent_headers)
    assert (replay.status_code, replay.json()) == (401, {"error": "replayed_nonce"})

    stale = _signed_post(client, _credit(uscc, "push-stale"), timestamp=int(time.time()) - 400)
    assert (stale.status_code, stale.json()) == (401, {"error": "stale_timestamp"})

    forged = _signed_post(client, _credit(uscc, "push-forged"), secret="guessed")
    assert (forged.status_code, forged.json()) == (401, {"error": "bad_signature"})
    assert signing.HEADER_SIGNATURE not in forged.headers  # a forger gets no signed answer

    unknown = _signed_post(client, _credit(uscc, "push-unknown"), key_id="nobody")
    assert (unknown.status_code, unknown.json()) == (401, {"error": "unknown_key"})

    unsigned = client.post(reverse("exchange:messages"), data=b"{}", content_type="application/json")
    assert (unsigned.status_code, unsigned.json()) == (401, {"error": "missing_header"})

    assert not InboundMessage.objects.filter(message_id__in=["push-stale", "push-forged", "push-unknown"]).exists()


def test_receiver_names_bad_fields_and_rejects_unknown_enterprises(world: Any) -> None:
    partner = _local_partner()
    client = Client()

    bad = _signed_post(client, _credit(world.enterprises["e1"].uscc, "push-bad", as_of="28/02/2026", tax_rating="Z"))
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid"
    assert set(bad.json()["fields"]) == {"as_of", "tax_rating"}
    assert _response_verified(bad)

    loan = {
        "message_id": "push-loan",
        "kind": "loan_outcome",
        "schema_version": 1,
        "payload": {
            "uscc": make_uscc(region_code="110108", serial=9_998),
            "loan_ref": "L-1",
            "lender_name": "某银行",
            "outcome": "granted",
            "amount": "100000.00",
            "occurred_on": "2026-02-01",
        },
    }
    unknown = _signed_post(client, loan)
    assert unknown.status_code == 200
    assert unknown.json() == {
        "message_id": "push-loan",
        "status": "rejected",
        "duplicate": False,
        "reason": "unknown_uscc",
    }
    assert not PartnerLoanOutcome.objects.filter(partner=partner).exists()

    wrong_kind = _signed_post(client, {**loan, "message_id": "push-kind", "kind": "product"})
    assert wrong_kind.status_code == 400 and "kind" in wrong_kind.json()["fields"]
    old_version = _signed_post(client, {**loan, "message_id": "push-v2", "schema_version": 2})
    assert old_version.status_code == 400 and "schema_version" in old_version.json()["fields"]

    huge = _signed_post(client, b"{" + b" " * (1024 * 1024) + b"}")
    assert huge.status_code == 413


def test_receiver_ping_is_signed(db: None) -> None:
    _local_partner()
    path = reverse("exchange:ping")
    headers = signing.sign_headers(key_id="xyd-push-key", secret=SECRET, method="GET", path=path, body=b"")
    response = Client().get(path, headers=headers)
    assert response.status_code == 200
    assert response.json()["partner"] == "xyd-push"
    assert (
        signing.verify(
            method=signing.response_method(200),
            path=path,
            headers=response.headers,
            body=response.content,
            secret_for=lambda key: SECRET,
            expected_nonce=headers[signing.HEADER_NONCE],
        )
        is None
    )
    assert Client().get(path).status_code == 401
