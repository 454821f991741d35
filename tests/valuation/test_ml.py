"""The LightGBM layer: refusal below the minimum, exact contributions, determinism, honest AUC, storage round trip."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from ipledge.valuation.engine import ml

FAST = {"num_boost_round": 40}


def synthetic(n: int = 600, *, signal: bool = True, seed: int = 7) -> tuple[pl.DataFrame, pl.Series]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    margin = 1.6 * x[:, 0] - 1.0 * x[:, 1] if signal else np.zeros(n)
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-margin))
    features = pl.DataFrame({f"f{i}": x[:, i] for i in range(4)})
    x_with_gaps = features.with_columns(pl.when(pl.col("f3") > 1.5).then(None).otherwise(pl.col("f3")).alias("f3"))
    return x_with_gaps, pl.Series("maintained", y)


@pytest.fixture(scope="module")
def trained() -> tuple[ml.TrainedModel, pl.DataFrame, pl.Series]:
    features, label = synthetic()
    return ml.train_model(features, label, params=FAST, folds=4), features, label


def test_refuses_too_few_rows() -> None:
    features, label = synthetic(ml.MIN_TRAINING_ROWS - 1)
    with pytest.raises(ml.InsufficientTrainingData, match="at least 200 rows"):
        ml.train_model(features, label, params=FAST)


def test_refuses_too_few_of_one_class() -> None:
    features, _ = synthetic(400)
    label = pl.Series("maintained", [i < ml.MIN_CLASS_ROWS - 1 for i in range(400)])
    with pytest.raises(ml.InsufficientTrainingData, match="30 of each class"):
        ml.train_model(features, label, params=FAST)


def test_refuses_unknown_labels() -> None:
    features, label = synthetic(300)
    with pytest.raises(ValueError, match="unknown rows"):
        ml.train_model(features, label.scatter([0], None), params=FAST)


def test_contributions_sum_to_the_raw_margin(trained: tuple[ml.TrainedModel, pl.DataFrame, pl.Series]) -> None:
    model, features, _ = trained
    out = ml.predict(model, features)
    assert out.columns == ["probability", "pc_f0", "pc_f1", "pc_f2", "pc_f3", "pc_bias"]
    contributions = out.select(pl.sum_horizontal(pl.col("^pc_.*$"))).to_series().to_numpy()
    raw = np.asarray(model.booster.predict(ml.feature_matrix(features, model.feature_names), raw_score=True))
    np.testing.assert_allclose(contributions, raw, atol=1e-9)
    np.testing.assert_allclose(out["probability"].to_numpy(), 1 / (1 + np.exp(-raw)), atol=1e-12)
    # The feature carrying the signal explains more than the noise features.
    spread = out.select(pl.col("^pc_f.$").abs().mean())
    assert spread["pc_f0"][0] > spread["pc_f2"][0]


def test_deterministic_given_the_seed(trained: tuple[ml.TrainedModel, pl.DataFrame, pl.Series]) -> None:
    model, features, label = trained
    again = ml.train_model(features, label, params=FAST, folds=4)
    assert again.model_str == model.model_str
    assert again.card.cv_auc_folds == model.card.cv_auc_folds
    other = ml.train_model(features, label, params=FAST, folds=4, seed=1)
    assert other.card.cv_auc_folds != model.card.cv_auc_folds


def test_real_signal_is_learned_and_noise_is_not(trained: tuple[ml.TrainedModel, pl.DataFrame, pl.Series]) -> None:
    model, _, _ = trained
    assert model.card.cv_auc > 0.7
    features, label = synthetic(signal=False, seed=11)
    noise = ml.train_model(features, label, params=FAST, folds=4)
    assert 0.4 < noise.card.cv_auc < 0.6


def test_every_row_is_predicted_out_of_fold(trained: tuple[ml.TrainedModel, pl.DataFrame, pl.Series]) -> None:
    model, features, label = trained
    assert model.oof_probability is not None
    assert model.oof_probability.shape == (features.height,)
    assert not np.isnan(model.oof_probability).any()
    # Out-of-fold probabilities differ from the in-sample ones of the final model, which saw every row.
    in_sample = ml.predict(model, features)["probability"].to_numpy()
    assert ml.auc(label.to_numpy(), in_sample) > model.card.cv_auc


def test_model_string_and_card_round_trip(trained: tuple[ml.TrainedModel, pl.DataFrame, pl.Series]) -> None:
    model, features, _ = trained
    card = json.loads(json.dumps(model.card.to_dict()))  # as stored in a JSON column
    loaded = ml.load_model(model.model_str, card)
    assert loaded.feature_names == model.feature_names
    assert loaded.card == model.card
    assert loaded.card.label == "maintained" and "lapsed" in loaded.card.label_definition
    assert loaded.card.n_rows == 600 and loaded.card.params["deterministic"] is True
    assert {"lightgbm", "scikit-learn", "polars"} <= set(loaded.card.library_versions)
    assert ml.predict(loaded, features).equals(ml.predict(model, features))


def test_predict_needs_the_trained_features(trained: tuple[ml.TrainedModel, pl.DataFrame, pl.Series]) -> None:
    model, features, _ = trained
    with pytest.raises(KeyError, match="f1"):
        ml.predict(model, features.drop("f1"))
    unknown = ml.predict(model, features.head(2).with_columns(pl.lit(None, dtype=pl.Float64).alias("f0")))
    assert unknown["probability"].is_between(0, 1).all()
    assert ml.predict(model, features.head(0)).height == 0


def test_revealed_value_labels() -> None:
    rights = pl.DataFrame(
        {
            "right_id": [1, 2, 3, 4, 5, 6, 7, 8],
            "kind": ["patent"] * 7 + ["trademark"],
            "legal_status": ["expired", "lapsed", "valid", "valid", "valid", "pending", "invalidated", "valid"],
            "fee_paid": [None, False, True, True, False, None, None, None],
            "age_years": [20.0, 6.0, 9.0, 1.0, 9.0, 1.0, 5.0, 12.0],
            "transfer_count": [1, 0, None, 0, 0, 0, 2, 0],
            "licence_count": [0, 0, 1, None, 0, 0, None, 3],
        }
    )
    labels = ml.revealed_value_labels(rights)
    assert labels["maintained"].to_list() == [True, False, True, None, None, None, None, None]
    assert labels["transferred"].to_list() == [True, False, None, False, False, False, True, False]
    assert labels["licensed"].to_list() == [False, False, True, None, False, False, None, True]
    assert labels["transacted"].to_list() == [True, False, True, None, False, False, True, True]
