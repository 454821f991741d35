"""Valuation services: versions, isolation, the bank's own policy, the agency's maker-checker, bundles, the
innovation score, batch revaluation as a background task, gates and the learned layer's refusal without data."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.registry.choices import IPKind, LegalStatus
from ipledge.registry.services import ip_right_create, ip_right_update
from ipledge.valuation import engine_bridge as bridge
from ipledge.valuation import services
from ipledge.valuation.choices import BatchStatus, ModelLabel, ValuationStatus
from ipledge.valuation.models import RevaluationBatch, Valuation
from ipledge.valuation.reports import valuation_report_docx
from tests.world import add_pledges

pytestmark = pytest.mark.django_db


def _fee_paid(world, key: str) -> None:  # type: ignore[no-untyped-def]
    ip_right_update(
        right=world.rights[key],
        data={"annual_fee_paid_until": timezone.localdate() + datetime.timedelta(days=300)},
        acting_user=None,
    )


def test_enterprise_values_its_patent_and_each_run_is_a_new_version(world) -> None:  # type: ignore[no-untyped-def]
    _fee_paid(world, "r1")
    user = world.user("ent1")
    first = services.valuation_run(ip_right=world.rights["r1"], acting_user=user)
    second = services.valuation_run(ip_right=world.rights["r1"], acting_user=user)
    assert (first.version, second.version) == (1, 2)
    assert first.enterprise_id == world.enterprises["e1"].pk
    assert first.region_code == world.enterprises["e1"].region_code
    assert 0 <= first.p10.fen <= first.p50.fen <= first.p90.fen
    assert first.p10.fen > 0, "a valid patent with revenue data has a positive value"
    assert abs(sum(first.contributions.values()) - float(first.score)) < 0.05
    assert first.grade in bridge.GRADES
    assert first.loan_ceiling.fen <= first.p10.fen
    assert first.loan_ceiling.fen % 100 == 0, "the ceiling is floored to whole yuan"
    assert AuditEvent.objects.filter(action="valuation.run", object_id=str(first.pk)).count() == 1
    assert first.inputs["claims_count"] == 10 and first.inputs["forward_citations"] is None


def test_another_enterprise_cannot_value_the_right(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        services.valuation_run(ip_right=world.rights["r1"], acting_user=world.user("ent2"))
    with pytest.raises(PermissionDenied):
        services.valuation_run(ip_right=world.rights["r1"], acting_user=world.user("ent1", Role.VIEWER))
    assert not Valuation.objects.exists()


def test_lapsed_right_is_gated_to_zero_and_not_pledgeable(world) -> None:  # type: ignore[no-untyped-def]
    ip_right_update(right=world.rights["r1"], data={"legal_status": LegalStatus.LAPSED}, acting_user=None)
    valuation = services.valuation_run(ip_right=world.rights["r1"], acting_user=world.user("ent1"))
    assert valuation.score == 0 and valuation.p50.fen == 0 and valuation.loan_ceiling.fen == 0
    assert not valuation.pledge_eligible
    assert valuation.gates and "gate_failed" in valuation.pledge_reasons


def test_bank_values_its_customer_under_the_head_office_policy(world) -> None:  # type: ignore[no-untyped-def]
    add_pledges(world)
    bank_user = world.user("bank1_sub")
    default = services.valuation_run(ip_right=world.rights["r1"], acting_user=bank_user)
    assert "already_pledged" in default.pledge_reasons and not default.pledge_eligible

    rules = bridge.policy_rules(bridge.default_policy())
    policy = services.pledge_policy_set(
        bank=world.orgs["bank1"],
        name="北京银行 2026",
        rules=bridge.tighten_rules(rules),
        acting_user=world.user("bank1"),
    )
    inherited = services.valuation_run(ip_right=world.rights["r1"], acting_user=bank_user)
    assert inherited.policy_name.endswith("北京银行 2026")
    assert inherited.policy == policy.rules
    # A branch may not set its head office's policy; a second policy retires the first.
    with pytest.raises(PermissionDenied):
        services.pledge_policy_set(bank=world.orgs["bank1"], name="x", rules=rules, acting_user=bank_user)
    services.pledge_policy_set(bank=world.orgs["bank1"], name="v2", rules=rules, acting_user=world.user("bank1"))
    policy.refresh_from_db()
    assert not policy.is_active


def test_policy_rules_are_validated_with_the_field_named(world) -> None:  # type: ignore[no-untyped-def]
    rules = bridge.policy_rules(bridge.default_policy())
    broken = {k: (dict(v) if isinstance(v, dict) else v) for k, v in rules.items()}
    section = next(k for k, v in broken.items() if isinstance(v, dict) and v)
    key = next(iter(broken[section]))
    broken[section][key] = -0.5
    with pytest.raises(ValidationError) as exc:
        services.pledge_policy_set(bank=world.orgs["bank1"], name="x", rules=broken, acting_user=world.user("bank1"))
    assert any(section in name or key in name for name in exc.value.message_dict)


def test_agency_maker_checker(world) -> None:  # type: ignore[no-untyped-def]
    _fee_paid(world, "r1")
    agency = world.orgs["valuer"]
    valuation = services.valuation_run(ip_right=world.rights["r1"], acting_user=world.user("ent1"), agency=agency)
    # Nobody outside the agency prepares or signs.
    with pytest.raises(PermissionDenied):
        services.valuation_submit(valuation=valuation, acting_user=world.user("ent1"), note="ok")
    with pytest.raises(ValidationError) as missing_note:
        services.valuation_submit(valuation=valuation, acting_user=world.user("valuer"), note=" ")
    assert "note" in missing_note.value.message_dict
    admin = world.user("valuer", Role.ADMIN)
    services.valuation_submit(valuation=valuation, acting_user=admin, note="核对无误")
    with pytest.raises(ValidationError) as same:
        services.valuation_sign_off(valuation=valuation, acting_user=admin, approve=True)
    assert same.value.error_dict["signed_off_by"][0].code == "same_person"
    with pytest.raises(ValidationError):
        services.valuation_sign_off(valuation=valuation, acting_user=world.user("valuer", Role.REVIEWER), approve=False)
    signed = services.valuation_sign_off(
        valuation=valuation, acting_user=world.user("valuer", Role.REVIEWER), approve=True, note="同意"
    )
    assert signed.status == ValuationStatus.SIGNED_OFF
    assert AuditEvent.objects.filter(action="valuation.sign_off", object_id=str(valuation.pk)).exists()
    # The database refuses a checker who is the maker, whatever the code path.
    with pytest.raises(IntegrityError), transaction.atomic():
        Valuation.objects.filter(pk=valuation.pk).update(signed_off_by=admin)


def test_bundle_of_patent_and_trademark(world) -> None:  # type: ignore[no-untyped-def]
    _fee_paid(world, "r1")
    e1 = world.enterprises["e1"]
    mark = ip_right_create(
        kind=IPKind.TRADEMARK,
        number="40123457",
        title="智芯",
        grant_date=datetime.date(2021, 3, 14),
        valid_from=datetime.date(2021, 3, 14),
        term_end=datetime.date(2031, 3, 13),
        nice_classes=[9, 42],
        owners=[{"enterprise": e1}],
        acting_user=None,
    )
    user = world.user("ent1")
    with pytest.raises(PermissionDenied):  # ent1 cannot even see e1b's trademark
        services.bundle_create(
            name="x", enterprise=e1, rights=[world.rights["r1"], world.rights["r1b"]], acting_user=user
        )
    with pytest.raises(ValidationError) as not_holder:  # the park sees both, but r1b is not e1's
        services.bundle_create(
            name="x", enterprise=e1, rights=[world.rights["r1"], world.rights["r1b"]], acting_user=world.user("park1")
        )
    assert not_holder.value.error_dict["rights"][0].code == "not_holder"
    bundle = services.bundle_create(name="智芯组合", enterprise=e1, rights=[world.rights["r1"], mark], acting_user=user)
    valuation = services.bundle_value(bundle=bundle, acting_user=user)
    members = valuation.details["members"]
    assert {m["right_id"] for m in members} == {world.rights["r1"].pk, mark.pk}
    assert valuation.p10.fen <= valuation.p50.fen <= valuation.p90.fen
    assert valuation.p50.fen <= sum(m["p50_fen"] for m in members)
    assert valuation.loan_ceiling.fen <= sum(m["loan_ceiling_fen"] for m in members)
    assert 0 < valuation.details["bundle"]["hhi"] <= 1
    again = services.bundle_value(bundle=bundle, acting_user=user)
    assert again.version == 2
    with pytest.raises(ValidationError):
        services.bundle_create(name="one", enterprise=e1, rights=[mark], acting_user=user)


def test_innovation_score_decomposes(world) -> None:  # type: ignore[no-untyped-def]
    _fee_paid(world, "r1")
    score = services.innovation_score_compute(enterprise=world.enterprises["e1"], acting_user=world.user("ent1"))
    points = [c["points"] for c in score.components.values() if isinstance(c, dict)]
    assert abs(sum(points) - float(score.score)) < 0.05
    assert score.rights_valued == 1
    with pytest.raises(PermissionDenied):
        services.innovation_score_compute(enterprise=world.enterprises["e1"], acting_user=world.user("ent2"))


def test_batch_revaluation_of_a_park_runs_as_a_task(world, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    _fee_paid(world, "r1")
    with pytest.raises(PermissionDenied):
        services.revaluation_batch_start(acting_user=world.user("park2"), park=world.parks["p1"])
    with pytest.raises(ValidationError):
        services.revaluation_batch_start(acting_user=world.user("park1"))
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.revaluation_batch_start(acting_user=world.user("park1"), park=world.parks["p1"])
    batch.refresh_from_db()
    # The park's current members hold r1 (valid) and r1b (valid trademark): both revalued.
    assert batch.status == BatchStatus.DONE, batch.error
    assert batch.total == batch.done == 2
    assert set(Valuation.objects.filter(batch=batch).values_list("ip_right_id", flat=True)) == {
        world.rights["r1"].pk,
        world.rights["r1b"].pk,
    }
    assert AuditEvent.objects.filter(action="valuation.run_batch_chunk", object_id=str(batch.pk)).count() == 1
    assert Valuation.history.filter(batch_id=batch.pk).count() == 2  # row history kept for bulk writes too
    assert RevaluationBatch.objects.restrict(world.user("park2"), "view").count() == 0


def test_report_docx_carries_the_figures(world) -> None:  # type: ignore[no-untyped-def]
    from docx import Document

    _fee_paid(world, "r1")
    valuation = services.valuation_run(ip_right=world.rights["r1"], acting_user=world.user("ent1"))
    document = Document(io.BytesIO(valuation_report_docx(valuation)))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert "知识产权价值评估报告" in text
    assert f"评级 {valuation.grade}" in text
    assert f"¥{valuation.p50.amount:,.2f}" in text
    assert world.rights["r1"].number in cells


def test_model_training_refuses_without_enough_history(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        services.model_train(label=ModelLabel.MAINTAINED, acting_user=world.user("ipo_bj", Role.ADMIN))
    with pytest.raises(ValidationError) as exc:
        services.model_train(label=ModelLabel.MAINTAINED, acting_user=world.user("cnipa", Role.ADMIN))
    assert "label" in exc.value.message_dict or "__all__" in exc.value.message_dict


def test_comparables_recorded_by_exchange_only(world) -> None:  # type: ignore[no-untyped-def]
    from ipledge.core.money import Money

    with pytest.raises(PermissionDenied):
        services.comparable_record(
            transaction_kind="transfer",
            price=Money("100000"),
            transacted_on=datetime.date(2025, 1, 1),
            source="x",
            kind=IPKind.PATENT,
            acting_user=world.user("bank1"),
        )
    comparable = services.comparable_record(
        transaction_kind="transfer",
        price=Money("500000"),
        transacted_on=datetime.date(2025, 1, 1),
        source="北京知识产权交易中心成交公告",
        ip_right=world.rights["r1"],
        acting_user=world.user("exchange"),
        score=Decimal("55.5"),
    )
    assert comparable.ipc_section == "H" and comparable.patent_type == "invention"
    with pytest.raises(ValidationError):
        services.comparable_record(
            transaction_kind="transfer",
            price=Money("1"),
            transacted_on=timezone.localdate() + datetime.timedelta(days=3),
            source="x",
            kind=IPKind.PATENT,
            acting_user=world.user("exchange"),
        )
