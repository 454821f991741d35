"""Validation on the jy2014 maintenance-fee format: every key reported, folds never score their own rows, the
command's last line is JSON; and the real file's baseline where the shared data folder exists."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from django.core.management import call_command

from ipledge.valuation.engine import validation

FAST = {"num_boost_round": 30}
JSON_KEYS = {"auc", "baseline_auc", "baseline4_auc", "indicator_auc", "logit_auc", "n", "positives", "folds", "seed"}


def write_jy2014(path: Path, n: int = 400, seed: int = 3) -> Path:
    """A synthetic file in the jy2014 format, where more claims and citations mean more maintenance payments."""
    rng = np.random.default_rng(seed)
    claims = rng.poisson(20, n)
    citations = rng.poisson(14, n)
    latent = 0.08 * (claims - 20) + 0.05 * (citations - 14) + rng.normal(0, 1, n)
    payments = np.digitize(latent, [-1.2, -0.3, 0.9])
    payments[0] = 4  # the real file's glitch: counted as full term
    sections = rng.integers(0, 8, n)  # 0 = A (all one-hot columns zero)
    data: dict[str, object] = {"id": [f"US{7000000 + i}B1" for i in range(n)], "publication_year": [2004] * n}
    for k, letter in enumerate(validation.CPC_ONE_HOT, start=1):
        data[letter] = (sections == k).astype(int)
    data |= {
        "num_applications": rng.poisson(6, n) + 1,
        "num_patent_citations": citations,
        "num_nonpatent_citations": rng.poisson(8, n),
        "num_claims": claims,
        "num_similar_doc": rng.poisson(1, n),
        "num_authors": rng.poisson(3, n) + 1,
        "payment_times": payments,
    }
    pl.DataFrame(data).write_csv(path)
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jy2014(tmp_path_factory.mktemp("jy2014") / validation.JY2014_FILE)


@pytest.fixture(scope="module")
def report(dataset: Path) -> validation.ValidationReport:
    return validation.validate(dataset, folds=4, seed=5, ml_params=FAST)


def test_report_has_every_key(report: validation.ValidationReport) -> None:
    summary = json.loads(report.to_json())
    assert set(summary) >= JSON_KEYS | {"fold_auc", "mean_score_by_payments", "by_section", "score_monotone"}
    assert (summary["n"], summary["folds"], summary["seed"]) == (400, 4, 5)
    for key in ("auc", "baseline_auc", "baseline4_auc", "indicator_auc", "logit_auc"):
        assert 0.0 <= summary[key] <= 1.0
        assert len(summary["fold_auc"][key]) == 4
    # The synthetic signal is in claims and citations, so every method ranks better than chance.
    assert summary["baseline_auc"] > 0.6 and summary["indicator_auc"] > 0.6
    assert set(summary["mean_score_by_payments"]) == {"0", "1", "2", "3"}
    assert {s["section"] for s in summary["by_section"]} <= set("ABCDEFGH")
    assert summary["features"][:3] == ["v_backward_citations", "v_claims", "v_ipc_breadth"]


def test_payment_glitch_counts_as_full_term(dataset: Path, report: validation.ValidationReport) -> None:
    raw = validation.load_jy2014(dataset)
    assert report.positives == int((raw["payment_times"] >= 3).sum())
    assert any("payment_times > 3" in note for note in report.notes)


def test_every_row_is_scored_exactly_once_by_a_fold_that_never_saw_it(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted_on: list[set[int]] = []
    real_fit = validation.fit_rights_cohort_stats

    def spy(rights: pl.DataFrame, *args: object, **kwargs: object) -> object:
        fitted_on.append(set(rights["right_id"].to_list()))
        return real_fit(rights, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(validation, "fit_rights_cohort_stats", spy)
    report = validation.validate(dataset, folds=4, seed=5, ml_params=FAST)
    assert (report.times_scored == 1).all()
    assert set(report.fold_of_row.tolist()) == {0, 1, 2, 3}
    for method, predicted in report.oof.items():
        assert not np.isnan(predicted).any(), method
    assert len(fitted_on) == 4
    for fold, train_ids in enumerate(fitted_on):
        test_ids = set(np.flatnonzero(report.fold_of_row == fold).tolist())
        assert train_ids.isdisjoint(test_ids)
        assert train_ids | test_ids == set(range(report.n))


def test_percentile_against_the_training_fold() -> None:
    train = np.array([1, 2, 2, 3])
    np.testing.assert_allclose(validation.percentile_against(train, np.array([0, 2, 3, 9])), [0, 0.5, 0.875, 1])


def test_command_prints_a_table_then_json(dataset: Path) -> None:
    out = StringIO()
    call_command("valuation", "validate", "--dataset", str(dataset), "--folds", "3", "--seed", "9", stdout=out)
    lines = out.getvalue().strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) >= JSON_KEYS
    assert (summary["folds"], summary["seed"]) == (3, 9)
    assert any(line.startswith("indicator score") for line in lines)


def test_command_refuses_a_missing_dataset(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="dataset not found"):
        call_command("valuation", "validate", "--dataset", str(tmp_path / "absent.csv"))


def test_real_file_baseline(shared_data: Path) -> None:
    path = shared_data / validation.JY2014_FILE
    if not path.is_file():
        pytest.skip(f"{path} not found")
    report = validation.validate(path, ml_params=FAST)  # the learners' speed does not change the baseline
    assert 0.53 <= report.auc["baseline"] <= 0.62
