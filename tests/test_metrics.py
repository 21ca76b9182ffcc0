"""skpneumo.metrics: binary_report's figures and bootstrap intervals, and the plots."""

import warnings

import numpy as np
import pytest
from imblearn.metrics import sensitivity_score, specificity_score
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    precision_score,
    roc_auc_score,
)
from sklearn.utils._param_validation import InvalidParameterError

from skpneumo.metrics import (
    _bootstrap,
    binary_report,
    plot_calibration_curve,
    plot_precision_recall_curve,
)

METRICS = (
    "accuracy",
    "precision",
    "sensitivity",
    "specificity",
    "balanced_accuracy",
    "f1",
    "roc_auc",
    "brier",
    "ece",
)


@pytest.fixture
def scored():
    """300 images, 40% NORMAL, with probabilities that rank them imperfectly."""
    rng = np.random.RandomState(0)
    y = (rng.rand(300) < 0.6).astype(int)
    proba = np.clip(0.35 * y + rng.beta(2, 3, size=300), 0, 1).round(
        2
    )  # rounding: ties
    subtype = np.where(
        y == 0, "normal", np.where(rng.rand(300) < 0.65, "bacteria", "virus")
    )
    return y, proba, subtype


def test_point_estimates_are_those_of_scikit_learn(scored):
    y, proba, _ = scored
    report = binary_report(y, proba, threshold=0.6, n_bootstraps=0)
    pred = (proba >= 0.6).astype(int)
    expected = {
        "accuracy": accuracy_score(y, pred),
        "precision": precision_score(y, pred),
        "sensitivity": sensitivity_score(y, pred),
        "specificity": specificity_score(y, pred),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
        "f1": f1_score(y, pred),
        "roc_auc": roc_auc_score(y, proba),
        "brier": brier_score_loss(y, proba),
    }
    for key, value in expected.items():
        assert report[key] == pytest.approx(value, rel=1e-12), key
    assert report["tp"] == int(((pred == 1) & (y == 1)).sum())
    assert report["tn"] + report["fp"] + report["fn"] + report["tp"] == y.size
    assert report["threshold"] == 0.6


def test_brier_score_by_hand():
    report = binary_report([0, 1, 1], [0.2, 0.5, 1.0], n_bootstraps=0)
    assert report["brier"] == pytest.approx((0.04 + 0.25 + 0.0) / 3)


def test_ece_by_hand():
    # five bins of width 0.2; 0.2 lies on an edge and goes to the lower bin,
    # with 0.1: bin 0 holds 1 PNEUMONIA of 2 at mean probability 0.15, bin 1
    # (0.3, NORMAL), bin 3 (0.7, PNEUMONIA) and bin 4 (0.9, PNEUMONIA) one each
    y, proba = [0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.9]
    ece = 2 / 5 * abs(0.5 - 0.15) + 1 / 5 * 0.3 + 1 / 5 * 0.3 + 1 / 5 * 0.1
    assert ece == pytest.approx(0.28)  # putting 0.2 in the upper bin gives 0.2
    assert binary_report(y, proba, n_bins=5, n_bootstraps=0)["ece"] == pytest.approx(
        ece
    )


def test_ece_is_the_weighted_distance_of_the_calibration_curve(scored):
    y, proba, _ = scored
    prob_true, prob_pred = calibration_curve(y, proba, n_bins=10)
    sizes = np.bincount(_bootstrap.bin_ids(proba, 10), minlength=10)
    weights = sizes[sizes > 0] / y.size
    expected = float(np.sum(weights * np.abs(prob_true - prob_pred)))
    assert binary_report(y, proba, n_bootstraps=0)["ece"] == pytest.approx(expected)


def test_intervals_hold_the_point_estimate(scored):
    y, proba, _ = scored
    report = binary_report(y, proba)
    assert report["n_bootstraps"] == 1000 and report["confidence_level"] == 0.95
    assert report["random_state"] == 0 and "stratified" in report["ci_method"]
    assert set(report["ci"]) == set(METRICS)
    for key in METRICS:
        low, high = report["ci"][key]
        assert low < high, key
        if key != "ece":  # biased upwards under resampling; see binary_report's Notes
            assert low <= report[key] <= high, key
    # a wider confidence level gives a wider interval
    wide = binary_report(y, proba, confidence_level=0.99)["ci"]["roc_auc"]
    assert wide[0] < report["ci"]["roc_auc"][0] and wide[1] > report["ci"]["roc_auc"][1]


def test_intervals_are_reproducible_with_a_seed(scored):
    y, proba, _ = scored
    first = binary_report(y, proba, n_bootstraps=200, random_state=1)["ci"]
    assert binary_report(y, proba, n_bootstraps=200, random_state=1)["ci"] == first
    assert binary_report(y, proba, n_bootstraps=200, random_state=2)["ci"] != first
    # the default seed is fixed, so that a report can be reproduced
    assert (
        binary_report(y, proba, n_bootstraps=200)["ci"]
        == (binary_report(y, proba, n_bootstraps=200, random_state=0)["ci"])
    )


def test_resamples_keep_the_class_counts(scored):
    y, _, _ = scored
    blocks = list(
        _bootstrap.stratified_multiplicities(
            y, 25, np.random.RandomState(0), chunk_size=10
        )
    )
    assert [b.shape for b in blocks] == [(10, y.size), (10, y.size), (5, y.size)]
    counts = np.concatenate(blocks)
    np.testing.assert_array_equal(counts[:, y == 0].sum(axis=1), (y == 0).sum())
    np.testing.assert_array_equal(counts[:, y == 1].sum(axis=1), (y == 1).sum())
    # drawn with replacement: images repeat and others are left out
    assert counts.max() > 1 and (counts == 0).any()


def test_bootstrap_replicates_are_scikit_learn_on_the_same_resamples(scored):
    # the replicates are computed from multiplicities, vectorised; each must be
    # the metric of the resample that the multiplicities describe
    y, proba, subtype = scored
    pred = (proba >= 0.6).astype(int)
    virus = (y == 1) & (subtype == "virus")
    values = _bootstrap.replicates(
        y,
        proba,
        pred,
        n_bins=10,
        n_bootstraps=20,
        rng=np.random.RandomState(3),
        groups={"virus": virus},
    )
    counts = next(_bootstrap.stratified_multiplicities(y, 20, np.random.RandomState(3)))
    for b in range(20):
        idx = np.repeat(np.arange(y.size), counts[b].astype(int))
        report = binary_report(
            y[idx], proba[idx], 0.6, subtype=subtype[idx], n_bootstraps=0
        )
        for key in METRICS:
            assert values[key][b] == pytest.approx(report[key], rel=1e-9), key
        assert values["sensitivity:virus"][b] == pytest.approx(
            report["sensitivity_by_subtype"]["virus"]["sensitivity"]
        )


def test_zero_bootstraps_give_no_intervals(scored):
    y, proba, subtype = scored
    report = binary_report(y, proba, subtype=subtype, n_bootstraps=0)
    assert report["n_bootstraps"] == 0
    assert not {"ci", "confidence_level", "ci_method"} & set(report)
    assert all("ci" not in entry for entry in report["sensitivity_by_subtype"].values())


def test_sensitivity_by_subtype():
    y = [0, 0, 1, 1, 1, 1, 1]
    subtype = ["normal", "normal", "bacteria", "bacteria", "bacteria", "virus", "virus"]
    y_pred = [0, 1, 1, 1, 0, 1, 0]
    report = binary_report(y, np.full(7, 0.5), y_pred=y_pred, subtype=subtype)
    by_subtype = report["sensitivity_by_subtype"]
    assert list(by_subtype) == [
        "bacteria",
        "virus",
    ]  # NORMAL images have no sensitivity
    assert {k: v for k, v in by_subtype["bacteria"].items() if k != "ci"} == {
        "n": 3,
        "tp": 2,
        "sensitivity": pytest.approx(2 / 3),
    }
    assert by_subtype["virus"]["n"] == 2 and by_subtype["virus"]["sensitivity"] == 0.5
    for entry in by_subtype.values():
        low, high = entry["ci"]
        assert 0 <= low <= entry["sensitivity"] <= high <= 1
    assert "sensitivity_by_subtype" not in binary_report(
        y, np.full(7, 0.5), y_pred=y_pred
    )


def test_y_pred_overrides_the_threshold():
    y, proba = [0, 0, 1, 1], [0.2, 0.6, 0.7, 0.9]
    assert binary_report(y, proba, 0.5)["fp"] == 1
    report = binary_report(y, proba, 0.5, y_pred=[0, 0, 0, 1], n_bootstraps=0)
    assert (report["tn"], report["fp"], report["fn"], report["tp"]) == (2, 0, 1, 1)
    assert report["sensitivity"] == 0.5 and report["threshold"] == 0.5  # only recorded
    assert report["roc_auc"] == 1.0  # the probabilities still rank
    assert binary_report(y, proba, None, y_pred=[0, 0, 0, 1])["threshold"] is None
    with pytest.raises(ValueError, match="threshold is None"):
        binary_report(y, proba, None)


def test_threshold_gives_the_classifiers_labels():
    """Without ``y_pred``, the labels are the classifier's rule at ``threshold``
    (its ``predict``): a probability equal to the threshold is PNEUMONIA.
    """
    y = np.array([0, 0, 1, 1, 0, 1])
    proba = np.array([0.2, 0.98, 0.98, 0.99, 0.5, 0.3])
    for threshold in (0.5, 0.98):
        report = binary_report(y, proba, threshold, n_bootstraps=0)
        pred = (proba >= threshold).astype(int)
        same = binary_report(y, proba, threshold, y_pred=pred, n_bootstraps=0)
        assert report == same
    counts = binary_report(y, proba, 0.98, n_bootstraps=0)
    assert (counts["tn"], counts["fp"], counts["fn"], counts["tp"]) == (2, 1, 1, 2)


def test_undefined_metrics_are_nan_without_warnings():
    # Non-regression test for a specificity of 0.0 on NORMAL images only, all
    # predicted NORMAL (imbalanced-learn's specificity_score shortcut)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = binary_report([0, 0, 0], [0.1, 0.2, 0.3])
    for key in ("precision", "sensitivity", "balanced_accuracy", "f1", "roc_auc"):
        assert np.isnan(report[key]), key
        assert np.isnan(report["ci"][key]).all(), key
    assert report["specificity"] == 1.0 and report["ci"]["specificity"] == [1.0, 1.0]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(n_bootstraps=-1), InvalidParameterError, "'n_bootstraps' parameter"),
        (dict(n_bootstraps=1.5), InvalidParameterError, "'n_bootstraps' parameter"),
        (
            dict(confidence_level=1.0),
            InvalidParameterError,
            "'confidence_level' parameter",
        ),
        (dict(n_bins=0), InvalidParameterError, "'n_bins' parameter"),
        (dict(threshold=1.5), InvalidParameterError, "'threshold' parameter"),
        (dict(random_state="seed"), InvalidParameterError, "'random_state' parameter"),
        (dict(y_true=[0, 1, 2, 1]), ValueError, r"y_true must hold 0 .* \[0, 1, 2\]"),
        (dict(y_pred=[0, 1, 1, -1]), ValueError, "y_pred must hold 0"),
        (dict(y_pred=[0, 1]), ValueError, "y_pred must have one value per sample"),
        (dict(proba=[0.1, 0.2, 1.2, 0.5]), ValueError, "proba must hold probabilities"),
        (dict(proba=[0.1, np.nan, 0.3, 0.5]), ValueError, "proba must hold .* NaN"),
        (dict(subtype=["virus"]), ValueError, "subtype must have one value per sample"),
        (dict(y_true=[], proba=[]), ValueError, "y_true is empty"),
    ],
)
def test_bad_parameters_are_named(kwargs, error, message):
    arguments = dict(y_true=[0, 0, 1, 1], proba=[0.2, 0.6, 0.7, 0.9]) | kwargs
    with pytest.raises(error, match=message):
        binary_report(**arguments)


def test_calibration_plot_shows_the_bins_of_the_ece(scored):
    import matplotlib.pyplot as plt

    y, proba, _ = scored
    display = plot_calibration_curve(y, proba, n_bins=10)
    prob_true, prob_pred = calibration_curve(y, proba, n_bins=10)
    np.testing.assert_allclose(display.prob_true, prob_true)
    np.testing.assert_allclose(display.prob_pred, prob_pred)
    assert "PNEUMONIA" in display.ax_.get_xlabel()
    plt.close(display.figure_)


def test_precision_recall_plot_has_the_prevalence_as_chance_level(scored):
    import matplotlib.pyplot as plt

    y, proba, _ = scored
    display = plot_precision_recall_curve(y, proba)
    np.testing.assert_allclose(display.chance_level_.get_ydata(), y.mean())
    assert display.average_precision > y.mean()
    plt.close(display.figure_)


def test_html_report_shows_metrics_intervals_and_figures(tmp_path):
    from skpneumo.metrics import write_html_report

    report = binary_report([0, 0, 1, 1, 1], [0.2, 0.6, 0.7, 0.9, 0.4], n_bootstraps=50)
    report.update(model="m <1>", split="val", n_images=5, decision_rule="P >= 0.5")
    (tmp_path / "roc.png").write_bytes(b"")
    page = write_html_report(
        report,
        tmp_path,
        figures=[(tmp_path / "roc.png", "ROC curve")],
        description=[("pipeline", "tiny & fast")],
    ).read_text()
    assert "<h1>Evaluation of m &lt;1&gt; on val</h1>" in page  # escaped
    assert "<dd>tiny &amp; fast</dd>" in page and "<dd>P &gt;= 0.5</dd>" in page
    assert "<dd>5 (2 NORMAL, 3 PNEUMONIA)</dd>" in page
    low, high = report["ci"]["sensitivity"]
    assert (
        f"<td>recall / sensitivity</td><td>{report['sensitivity']:.4f}</td>"
        f"<td>{low:.4f} to {high:.4f}</td>"
    ) in page
    assert '<img src="roc.png" alt="ROC curve">' in page
    assert "50 bootstrap resamples" in page

    # no intervals: no CI column; an undefined metric says so
    report = binary_report([1, 1], [0.7, 0.9], n_bootstraps=0)
    page = write_html_report(report, tmp_path, title="t").read_text()
    assert "CI" not in page and "<td>ROC-AUC</td><td>undefined</td>" in page
    with pytest.raises(ValueError, match="is not inside the report folder"):
        write_html_report(report, tmp_path / "sub", figures=[(tmp_path / "x.png", "x")])


def test_is_report_folder_knows_only_what_evaluate_writes(tmp_path):
    from skpneumo.metrics._evaluation import REPORT_FILES, is_report_folder

    report = tmp_path / "report"
    report.mkdir()
    assert not is_report_folder(report)  # empty: no metrics.json
    for name in REPORT_FILES:
        (report / name).write_text("")
    assert is_report_folder(report)
    (report / "notes.txt").write_text("mine")
    assert not is_report_folder(report)
    assert not is_report_folder(tmp_path / "missing")


def test_summary_line_names_the_rule_and_the_images():
    from skpneumo.metrics._evaluation import summary_line

    report = binary_report([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], n_bootstraps=0)
    report.update(n_images=4, decision_rule="threshold 0.500")
    assert summary_line(report) == (
        "ROC-AUC 0.750, sensitivity 0.500, specificity 0.500, ECE "
        f"{report['ece']:.3f} (4 images, threshold 0.500)"
    )
