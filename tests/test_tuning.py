"""Choosing an operating point on a site's images (skpneumo/_tuning.py)."""

import json

import numpy as np
import pytest
from _helpers import TINY, network_passes, routed
from sklearn.metrics import confusion_matrix

from skpneumo import load_model, make_pneumonia_pipeline, save_model
from skpneumo._decision import decision_rule
from skpneumo._tuning import (
    MIN_IMAGES_PER_CLASS,
    SmallSampleWarning,
    choose_threshold,
    operating_point_interval,
    read_operating_point,
    tune_operating_point,
    write_operating_point,
)
from skpneumo.datasets import load_chest_xray
from skpneumo.metrics import threshold_for_sensitivity


def _rates(y, proba, threshold):
    tn, fp, fn, tp = confusion_matrix(y, proba >= threshold, labels=[0, 1]).ravel()
    return tp / (tp + fn), tn / (tn + fp)


@pytest.mark.parametrize("seed", range(5))
def test_choose_threshold_is_the_best_point_that_meets_the_target(seed):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, 200)
    proba = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1).round(2)  # ties too
    candidates = np.unique(proba)

    chosen = choose_threshold(y, proba, criterion="sensitivity", target=0.9)
    assert chosen == threshold_for_sensitivity(y, proba, target=0.9)
    meeting = [t for t in candidates if _rates(y, proba, t)[0] >= 0.9]
    assert chosen == max(meeting)

    chosen = choose_threshold(y, proba, criterion="specificity", target=0.8)
    meeting = [t for t in candidates if _rates(y, proba, t)[1] >= 0.8]
    assert chosen == min(meeting)

    chosen = choose_threshold(y, proba, criterion="youden")
    j = [sum(_rates(y, proba, t)) - 1 for t in candidates]
    assert np.isclose(sum(_rates(y, proba, chosen)) - 1, max(j))


def test_choose_threshold_errors():
    with pytest.raises(ValueError, match="single class"):
        choose_threshold([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="criterion must be one of"):
        choose_threshold([0, 1], [0.2, 0.3], criterion="f1")
    with pytest.raises(ValueError, match=r"must be in \(0, 1\]"):
        choose_threshold([0, 1], [0.2, 0.3], target=0)
    # a NORMAL image at the top: no threshold keeps specificity 1 and calls any
    with pytest.raises(ValueError, match="No threshold reaches a specificity of 1"):
        choose_threshold([1, 0], [0.2, 0.9], criterion="specificity", target=1.0)


def test_interval_resamples_patients_not_images():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 30)
    pred = (rng.rand(60) < np.where(y == 1, 0.8, 0.3)).astype(int)
    once = operating_point_interval(y, pred, n_bootstraps=300)
    # every patient twice, as two identical images: a patient bootstrap draws
    # the same patients, so the interval is that of one copy; an image
    # bootstrap would treat the copies as independent and narrow it
    twice = operating_point_interval(
        np.repeat(y, 2),
        np.repeat(pred, 2),
        np.repeat(np.arange(60), 2),
        n_bootstraps=300,
    )
    assert twice == once
    naive = operating_point_interval(
        np.repeat(y, 2), np.repeat(pred, 2), n_bootstraps=300
    )
    width = once["sensitivity"][1] - once["sensitivity"][0]
    assert naive["sensitivity"][1] - naive["sensitivity"][0] < width
    for key, observed in (("sensitivity", 24 / 30), ("specificity", None)):
        low, high = once[key]
        assert 0 <= low <= high <= 1
        if observed is not None:
            assert low <= pred[y == 1].mean() <= high


@pytest.fixture(scope="module")
def site(kaggle_root):
    train = load_chest_xray(kaggle_root, split="train")
    model = make_pneumonia_pipeline(image_size=16, **routed(TINY)).fit(
        train.paths, train.target
    )
    return model, load_chest_xray(kaggle_root, split="train")


@pytest.mark.parametrize("calibrate", [None, "sigmoid", "isotonic"])
def test_tune_meets_the_target_and_records_it(site, calibrate, tmp_path):
    model, data = site
    with pytest.warns(SmallSampleWarning) as caught:
        tuned, record = tune_operating_point(
            model,
            data.paths,
            data.target,
            data.groups,
            target=0.9,
            calibrate=calibrate,
            n_bootstraps=200,
        )
    # the generated images are also flagged by the input-quality check (tiny)
    caught = [w for w in caught if issubclass(w.category, SmallSampleWarning)]
    assert len(caught) == 2  # NORMAL and PNEUMONIA: 24 of each < MIN_IMAGES_PER_CLASS
    assert 24 < MIN_IMAGES_PER_CLASS
    assert "only 24 NORMAL images" in str(caught[0].message)
    assert "only 24 PNEUMONIA images" in str(caught[1].message)
    assert "wide to rely on" in str(caught[0].message)
    labels = tuned.predict(data.paths)
    sensitivity = labels[data.target == 1].mean()
    assert sensitivity >= 0.9
    assert record["tuned"]["sensitivity"] == sensitivity
    assert record["threshold"] == tuned.threshold == decision_rule(tuned)[0]
    assert record["n_images"] == {"NORMAL": 24, "PNEUMONIA": 24}
    assert record["n_patients"] == {"NORMAL": 12, "PNEUMONIA": 12}  # 2 images each
    assert record["calibration"] == calibrate
    low, high = record["tuned"]["ci_fixed_threshold"]["sensitivity"]
    assert low <= sensitivity <= high
    low, high = record["tuned"]["ci"]["sensitivity"]  # re-chosen in every resample
    assert 0 <= low <= high <= 1
    assert record["previous"]["rule"] == decision_rule(model)[1]
    if calibrate:
        error = record["tuned"]["calibration_error"]
        assert error["cross_fitted_folds"] == 5 and 0 <= error["brier"] <= 1
        assert type(tuned.estimator).__name__ == "CalibratedClassifierCV"

    # the saved folder predicts as the tuned model, and keeps its record
    folder = save_model(tuned, tmp_path / "tuned")
    write_operating_point(dict(record, data="the site"), folder)
    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict(data.paths), labels)
    np.testing.assert_allclose(
        loaded.predict_proba(data.paths), tuned.predict_proba(data.paths), rtol=1e-6
    )
    saved = read_operating_point(folder)
    assert saved["threshold"] == record["threshold"]
    assert "on 24 NORMAL and 24 PNEUMONIA images of the site" in saved["summary"]
    json.loads((folder / "operating_point.json").read_text(), parse_constant=float)


def test_tune_scores_each_image_once(site, monkeypatch):
    """The rule, the labels and five calibration folds ask again: one pass each."""
    model, data = site
    passes = network_passes(monkeypatch)
    with pytest.warns(SmallSampleWarning):
        tune_operating_point(
            model,
            data.paths,
            data.target,
            data.groups,
            target=0.9,
            calibrate="sigmoid",
            n_bootstraps=20,
        )
    assert sum(shape[0] for shape in passes) == len(data.paths)


def test_tune_replaces_an_earlier_threshold_instead_of_stacking(site):
    from sklearn.model_selection import FixedThresholdClassifier

    model, data = site
    wrapped = FixedThresholdClassifier(model, threshold=0.99)
    with pytest.warns(SmallSampleWarning):
        tuned, record = tune_operating_point(
            wrapped, data.paths, data.target, data.groups, n_bootstraps=50
        )
    assert tuned.estimator is model
    assert record["previous"]["threshold"] == 0.99


def test_tune_needs_both_classes(site):
    model, data = site
    normal = data.target == 0
    with pytest.raises(ValueError, match="24 NORMAL and 0 PNEUMONIA"):
        tune_operating_point(model, data.paths[normal], data.target[normal])


def test_three_images_are_never_accepted_silently(site, tmp_path):
    model, data = site
    pick = [0, 1, -1]  # 2 NORMAL, 1 PNEUMONIA
    with pytest.warns(SmallSampleWarning) as caught:
        _, record = tune_operating_point(
            model, data.paths[pick], data.target[pick], n_bootstraps=50
        )
    # the generated images are also flagged by the input-quality check (tiny)
    messages = [
        str(w.message) for w in caught if issubclass(w.category, SmallSampleWarning)
    ]
    assert any("only 1 PNEUMONIA images" in m for m in messages)
    # one image of one: the exact interval, not the collapsed bootstrap one
    assert "sensitivity is 0.975 wide (0.025 to 1.000)" in messages[1]
    assert record["warnings"] == messages
    # the intervals of so few images are undefined, and written as null
    folder = tmp_path / "m"
    folder.mkdir()
    write_operating_point(record, folder)
    json.loads((folder / "operating_point.json").read_text())


def test_read_operating_point_of_a_folder_without_one(tmp_path):
    assert read_operating_point(tmp_path) is None
    (tmp_path / "operating_point.json").write_text("[]")
    with pytest.raises(ValueError, match="not a skpneumo operating-point record"):
        read_operating_point(tmp_path)


def test_selection_interval_covers_a_new_sample_of_the_site():
    # Non-regression test for an interval that held only the sampling of the
    # tuning images: a threshold chosen on them is then too optimistic, and
    # a new sample of the site falls outside it far more than 5% of the time.
    from skpneumo._decision import labels_at_threshold
    from skpneumo._tuning import selection_interval

    rng = np.random.RandomState(0)

    def site(n):
        y = np.repeat([0, 1], n)
        return y, 1 / (1 + np.exp(-rng.normal(np.where(y == 1, 1.5, -1.5), 1.0)))

    inside = {"fixed": 0, "selection": 0}
    n_sites = 40
    for seed in range(n_sites):
        y, proba = site(150)
        threshold = choose_threshold(y, proba, target=0.9)
        y_new, proba_new = site(150)
        new = labels_at_threshold(proba_new, threshold)[y_new == 1].mean()
        pred = labels_at_threshold(proba, threshold)
        fixed = operating_point_interval(y, pred, n_bootstraps=200, random_state=seed)
        selection = selection_interval(
            y, proba, target=0.9, n_bootstraps=200, random_state=seed
        )
        for name, ci in (("fixed", fixed), ("selection", selection)):
            low, high = ci["sensitivity"]
            inside[name] += low <= new <= high
    print(f"of {n_sites} new samples, inside the interval: {inside}")
    assert inside["selection"] >= 0.9 * n_sites, inside
    assert inside["fixed"] < inside["selection"], inside
