"""The learned layer on the platform: trained from the register's revealed outcomes by the national office, switched
on only when it beats chance, used beside the indicator score with per-prediction contributions, and never fed the
facts its label is defined from."""

from __future__ import annotations

import datetime
import random

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.synthetic import make_patent_number
from ipledge.registry.choices import IPKind, LegalStatus, PatentType
from ipledge.registry.models import IPRight, IPRightOwner
from ipledge.registry.services import ip_right_update
from ipledge.valuation import engine_bridge as bridge
from ipledge.valuation import services
from ipledge.valuation.choices import ModelLabel, ValuationMethod
from ipledge.valuation.engine import ml

pytestmark = pytest.mark.django_db


def _patents(world, n: int, *, signal: bool, seed: int = 7) -> None:  # type: ignore[no-untyped-def]
    """n old invention patents of e1: with `signal`, the lapsed ones have few claims and citations."""
    rng = random.Random(seed)
    rights = []
    for i in range(n):
        lapsed = rng.random() < 0.4
        quality = rng.gauss(-1.0 if (lapsed and signal) else 0.0, 1.0)
        filing = datetime.date(2008 + i % 8, 1 + i % 12, 1 + i % 27)
        rights.append(
            IPRight(
                kind=IPKind.PATENT,
                patent_type=PatentType.INVENTION,
                number=make_patent_number(year=filing.year, type_digit=1, serial=3_000_000 + i),
                title=f"测试专利{i}",
                main_ipc="G06F16/00",
                filing_date=filing,
                grant_date=filing + datetime.timedelta(days=700),
                term_end=filing.replace(year=filing.year + 20),
                legal_status=LegalStatus.LAPSED if lapsed else LegalStatus.VALID,
                annual_fee_paid_until=timezone.localdate() + datetime.timedelta(days=200) if not lapsed else None,
                claims_count=max(1, int(10 + 4 * quality + rng.gauss(0, 1))),
                forward_citations=max(0, int(3 + 3 * quality + rng.gauss(0, 1))),
                backward_citations=max(0, int(8 + 2 * quality)),
                family_size=1,
            )
        )
    IPRight.objects.bulk_create(rights)
    IPRightOwner.objects.bulk_create([IPRightOwner(right=r, enterprise=world.enterprises["e1"]) for r in rights])


def test_refused_without_history_and_only_by_the_national_office(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        services.model_train(label=ModelLabel.MAINTAINED, acting_user=world.user("cnipa", Role.OPERATOR))
    with pytest.raises(ValidationError) as exc:
        services.model_train(label=ModelLabel.MAINTAINED, acting_user=world.user("cnipa", Role.ADMIN))
    assert "label" in exc.value.message_dict


def test_a_model_with_signal_is_switched_on_and_explains_each_valuation(world) -> None:  # type: ignore[no-untyped-def]
    _patents(world, 320, signal=True)
    model = services.model_train(label=ModelLabel.MAINTAINED, acting_user=world.user("cnipa", Role.ADMIN))
    assert model.is_active and model.cv_auc is not None and model.cv_auc >= services.MIN_USEFUL_AUC
    assert model.card["n_rows"] == model.training_rows >= 200
    # The label is defined from status, fees and age: none of them (nor the term indicator) is a feature.
    leaky = set(ml.LABEL_INPUTS["maintained"])
    assert not leaky & set(model.card["features"])
    assert "v_remaining_term" not in model.card["features"]
    ip_right_update(
        right=world.rights["r1"],
        data={"annual_fee_paid_until": timezone.localdate() + datetime.timedelta(days=200)},
        acting_user=None,
    )
    valuation = services.valuation_run(ip_right=world.rights["r1"], acting_user=world.user("ent1"))
    assert valuation.method == ValuationMethod.INDICATOR_ML and valuation.ml_model_id == model.pk
    assert 0 < valuation.ml_probability < 1
    assert set(valuation.ml_contributions) == {*model.card["features"], "bias"}


def test_a_model_without_signal_is_kept_but_not_used(world) -> None:  # type: ignore[no-untyped-def]
    _patents(world, 320, signal=False, seed=11)
    model = services.model_train(label=ModelLabel.MAINTAINED, acting_user=world.user("cnipa", Role.ADMIN))
    assert not model.is_active and "not_activated" in model.card
    valuation = services.valuation_run(ip_right=world.rights["r1"], acting_user=world.user("ent1"))
    assert valuation.method == ValuationMethod.INDICATOR and valuation.ml_probability is None


def test_feature_names_leave_out_the_label_inputs() -> None:
    names = bridge.feature_names("transacted")
    assert "v_transfers" not in names and "v_licences" not in names and "v_implemented" not in names
    assert "v_claims" in names
