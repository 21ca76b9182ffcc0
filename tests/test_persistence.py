"""save_model / load_model, pickle and joblib round trips, and damaged model folders."""

import json
import os
import pickle
import subprocess
import sys
import zipfile

import joblib
import numpy as np
import pytest
from _helpers import TINY

from skpneumo import ModelFormatError, load_model, make_pneumonia_pipeline, save_model


@pytest.fixture(scope="module")
def fitted(kaggle_root):
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(kaggle_root, split="train")
    labels = data.target_names[data.target]  # string labels survive the round trip too
    pipe = make_pneumonia_pipeline(threshold=0.4, image_size=16, **TINY)
    pipe.fit(data.paths, labels)
    return pipe, data.paths


def test_own_format_round_trip(fitted, tmp_path):
    pipe, paths = fitted
    folder = save_model(pipe, tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["model.keras", "skpneumo.json"]
    loaded = load_model(folder)
    np.testing.assert_array_equal(
        loaded.predict_proba(paths), pipe.predict_proba(paths)
    )
    np.testing.assert_array_equal(loaded.predict(paths), pipe.predict(paths))
    clf = loaded.named_steps["classifier"]
    assert clf.threshold == 0.4
    assert clf.classes_.tolist() == ["NORMAL", "PNEUMONIA"]
    assert clf.history_ == pipe.named_steps["classifier"].history_
    assert (
        loaded.named_steps["sampler"].zoom_range
        == pipe.named_steps["sampler"].zoom_range
    )
    meta = json.loads((folder / "skpneumo.json").read_text())
    assert meta["format"] == "skpneumo-model" and meta["format_version"] == 2
    assert meta["wrappers"] == []


def test_format_loads_without_pickle(fitted, tmp_path):
    """The folder holds JSON and a Keras archive whose config names no Python code."""
    folder = save_model(fitted[0], tmp_path / "model")
    with zipfile.ZipFile(folder / "model.keras") as archive:
        names = archive.namelist()
        config = json.loads(archive.read("config.json"))
    assert not any(name.endswith((".pkl", ".pickle")) for name in names)
    assert "lambda" not in json.dumps(config).lower()


@pytest.mark.parametrize("how", ["skpneumo", "pickle", "joblib"])
def test_round_trip_in_a_fresh_process(fitted, tmp_path, how):
    pipe, paths = fitted
    if how == "skpneumo":
        target = save_model(pipe, tmp_path / "model")
        load = f"from skpneumo import load_model; model = load_model({str(target)!r})"
    elif how == "pickle":
        target = tmp_path / "model.pkl"
        target.write_bytes(pickle.dumps(pipe))
        load = (
            f"import pickle; model = pickle.loads(open({str(target)!r}, 'rb').read())"
        )
    else:
        target = tmp_path / "model.joblib"
        joblib.dump(pipe, target)
        load = f"import joblib; model = joblib.load({str(target)!r})"
    np.save(tmp_path / "paths.npy", paths)
    script = (
        "import numpy as np\n"
        f"{load}\n"
        f"proba = model.predict_proba(np.load({str(tmp_path / 'paths.npy')!r}))\n"
        f"np.save({str(tmp_path / 'proba.npy')!r}, proba)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    np.testing.assert_array_equal(
        np.load(tmp_path / "proba.npy"), pipe.predict_proba(paths)
    )


def test_replacing_an_existing_model(fitted, tmp_path):
    save_model(fitted[0], tmp_path / "model")
    save_model(fitted[0], tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_interrupted_save_leaves_nothing(fitted, tmp_path, monkeypatch):
    pipe = fitted[0]
    network = pipe.named_steps["classifier"].model_

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(network), "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(pipe, tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_damaged_and_incompatible_models(fitted, tmp_path):
    folder = save_model(fitted[0], tmp_path / "model")
    meta_file = folder / "skpneumo.json"
    meta = json.loads(meta_file.read_text())

    with pytest.raises(FileNotFoundError, match="No saved model"):
        load_model(tmp_path / "missing")
    with pytest.raises(ModelFormatError, match="not a skpneumo model folder"):
        load_model(tmp_path / "model" / "skpneumo.json")

    meta_file.write_text(json.dumps(dict(meta, format_version=99)))
    with pytest.raises(
        ModelFormatError, match="format version 99.*reads versions 1, 2 only"
    ):
        load_model(folder)

    meta_file.write_text("{not json")
    with pytest.raises(ModelFormatError, match="is damaged"):
        load_model(folder)

    bad_class = json.loads(json.dumps(meta))
    bad_class["steps"]["loader"]["class"] = "os.system"
    meta_file.write_text(json.dumps(bad_class))
    with pytest.raises(ModelFormatError, match="unknown class 'os.system'"):
        load_model(folder)

    meta_file.write_text(json.dumps(meta))
    (folder / "model.keras").write_bytes(b"not a keras archive")
    with pytest.raises(ModelFormatError, match="does not match the SHA-256 digest"):
        load_model(folder)

    # a folder from before the digest was recorded is read unchecked
    meta_file.write_text(
        json.dumps({k: v for k, v in meta.items() if k != "model_sha256"})
    )
    with pytest.raises(ModelFormatError, match="Cannot read the network"):
        load_model(folder)


def test_digest_recorded_and_checked(fitted, tmp_path):
    import hashlib

    folder = save_model(fitted[0], tmp_path / "model")
    meta = json.loads((folder / "skpneumo.json").read_text())
    network = (folder / "model.keras").read_bytes()
    assert meta["model_sha256"] == hashlib.sha256(network).hexdigest()
    # one flipped byte inside the archive is caught before Keras reads it
    damaged = bytearray(network)
    damaged[len(damaged) // 2] ^= 0xFF
    (folder / "model.keras").write_bytes(bytes(damaged))
    with pytest.raises(ModelFormatError, match="model.keras.*SHA-256"):
        load_model(folder)


def test_unsavable_parameter_is_named(fitted, tmp_path):
    from sklearn.base import clone

    pipe = clone(fitted[0])
    pipe.steps = fitted[0].steps  # fitted steps, with one parameter JSON cannot hold
    pipe.named_steps["sampler"].set_params(random_state=np.random.RandomState(0))
    try:
        with pytest.raises(ValueError, match="Cannot save sampler__random_state"):
            save_model(pipe, tmp_path / "model")
    finally:
        pipe.named_steps["sampler"].set_params(random_state=0)


def test_pipeline_without_sampler_round_trips(kaggle_root, tmp_path):
    """Class weights instead of over-sampling: the sampler step is "passthrough"."""
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(kaggle_root, split="train")
    pipe = make_pneumonia_pipeline(class_weight="balanced", image_size=16, **TINY)
    pipe.set_params(sampler="passthrough").fit(data.paths, data.target)
    loaded = load_model(save_model(pipe, tmp_path / "model"))
    assert loaded.named_steps["sampler"] == "passthrough"
    np.testing.assert_array_equal(
        loaded.predict_proba(data.paths), pipe.predict_proba(data.paths)
    )


def test_classifier_fitted_state_twins(fitted):
    """_get_fitted_state gives what _set_fitted_state takes, as JSON-ready values."""
    from sklearn.base import clone

    pipe, paths = fitted
    clf = pipe.named_steps["classifier"]
    # through JSON and back (tuples become lists): what save_model and load_model do
    state = json.loads(json.dumps(clf._get_fitted_state()))
    twin = clone(clf)._set_fitted_state(clf.model_, **state)
    X = pipe.named_steps["loader"].transform(paths)
    np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))
    assert twin.classes_.tolist() == clf.classes_.tolist()


def test_folder_of_format_version_1_still_loads(fitted, tmp_path):
    """Non-regression test for folders written before wrappers could be saved.

    Version 1 had no ``wrappers`` and named the classifier's fitted state by
    attribute (``classes_``, ``X_shape_``, ...).
    """
    pipe, paths = fitted
    folder = save_model(pipe, tmp_path / "model")
    meta = json.loads((folder / "skpneumo.json").read_text())
    del meta["wrappers"], meta["sklearn_version"]
    meta["format_version"] = 1
    fitted_state = meta["steps"]["classifier"]["fitted"]
    meta["steps"]["classifier"]["fitted"] = {
        f"{key}_": value for key, value in fitted_state.items()
    }
    (folder / "skpneumo.json").write_text(json.dumps(meta, indent=2))
    loaded = load_model(folder)
    np.testing.assert_array_equal(
        loaded.predict_proba(paths), pipe.predict_proba(paths)
    )
    assert loaded.named_steps["classifier"].threshold == 0.4


# scikit-learn's wrappers around the pipeline -----------------------------------------


def _labels(paths):
    """The labels the fixture's pipeline was fitted with: its class folders."""
    return np.where(
        [f"{os.sep}PNEUMONIA{os.sep}" in p for p in paths], "PNEUMONIA", "NORMAL"
    )


def _youden(y_true, y_pred):
    from sklearn.metrics import recall_score

    return (
        recall_score(y_true, y_pred, pos_label="PNEUMONIA")
        + recall_score(y_true, y_pred, pos_label="NORMAL")
        - 1
    )


def _wrap(kind, pipe, paths, labels):
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import (
        FixedThresholdClassifier,
        TunedThresholdClassifierCV,
    )

    if kind == "fixed, prefit":
        return FixedThresholdClassifier(
            pipe, threshold=0.3, response_method="predict_proba"
        )
    if kind == "fixed, fitted":
        return FixedThresholdClassifier(
            clone(pipe), threshold=0.6, response_method="predict_proba"
        ).fit(paths, labels)
    if kind == "tuned, one split":
        return TunedThresholdClassifierCV(
            clone(pipe), cv=0.5, refit=False, random_state=0, store_cv_results=True
        ).fit(paths, labels)
    if kind == "tuned, prefit":
        # a RandomState and a scorer object cannot be written, but only fit reads
        # them: they are dropped
        return TunedThresholdClassifierCV(
            pipe,
            cv="prefit",
            refit=False,
            scoring=make_scorer(_youden),
            random_state=np.random.RandomState(0),
        ).fit(paths, labels)
    if kind in ("sigmoid", "isotonic"):
        return CalibratedClassifierCV(FrozenEstimator(pipe), method=kind).fit(
            paths, labels
        )
    if kind == "fixed around calibrated":
        calibrated = CalibratedClassifierCV(FrozenEstimator(pipe)).fit(paths, labels)
        return FixedThresholdClassifier(calibrated, threshold=0.7)
    raise AssertionError(kind)


def _chain(estimator):
    names = []
    while (
        not hasattr(estimator, "steps") or type(estimator).__name__ == "FrozenEstimator"
    ):
        names.append(type(estimator).__name__)
        estimator = estimator.estimator
    return names


@pytest.mark.parametrize(
    "kind",
    [
        "fixed, prefit",
        "fixed, fitted",
        "tuned, one split",
        "tuned, prefit",
        "sigmoid",
        "isotonic",
        "fixed around calibrated",
    ],
)
def test_wrapper_round_trip(fitted, tmp_path, kind):
    pipe, paths = fitted
    model = _wrap(kind, pipe, paths, _labels(paths))
    loaded = load_model(save_model(model, tmp_path / "model"))

    assert _chain(loaded) == _chain(model)
    X = pipe.named_steps["loader"].transform(paths)
    # the network and the calibrators' numbers come back bit for bit
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert (
        loaded.classes_.tolist() == model.classes_.tolist() == ["NORMAL", "PNEUMONIA"]
    )
    assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    meta = json.loads((tmp_path / "model" / "skpneumo.json").read_text())
    if kind.startswith("tuned"):
        assert loaded.best_threshold_ == model.best_threshold_
        assert loaded.best_score_ == model.best_score_
    if kind == "tuned, one split":
        for key in ("thresholds", "scores"):
            np.testing.assert_array_equal(
                loaded.cv_results_[key], model.cv_results_[key]
            )
        assert meta["wrappers"][0]["prefit"] is False
        assert loaded.estimator is not loaded.estimator_  # an unfitted template
    if kind == "tuned, prefit":
        assert meta["wrappers"][0]["dropped_params"] == ["random_state", "scoring"]
        assert loaded.random_state is None and loaded.scoring == "balanced_accuracy"
        assert loaded.estimator is loaded.estimator_
    if kind == "fixed, prefit":
        assert (
            not hasattr(loaded, "estimator_") and meta["wrappers"][0]["prefit"] is True
        )
    if kind in ("sigmoid", "isotonic"):
        assert [w["class"] for w in meta["wrappers"]] == [
            "CalibratedClassifierCV",
            "FrozenEstimator",
        ]
        assert loaded.calibrated_classifiers_[0].estimator is loaded.estimator
        calibrator = loaded.calibrated_classifiers_[0].calibrators[0]
        original = model.calibrated_classifiers_[0].calibrators[0]
        keys = ["a_", "b_"] if kind == "sigmoid" else ["X_thresholds_", "y_thresholds_"]
        for key in keys:
            assert (
                np.asarray(getattr(calibrator, key)).dtype
                == np.asarray(getattr(original, key)).dtype
            )
            np.testing.assert_array_equal(
                getattr(calibrator, key), getattr(original, key)
            )


def test_calibrated_model_loads_identically_in_a_fresh_process(fitted, tmp_path):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    pipe, paths = fitted
    model = CalibratedClassifierCV(FrozenEstimator(pipe), method="isotonic")
    model.fit(paths, _labels(paths))
    folder = save_model(model, tmp_path / "model")
    np.save(tmp_path / "paths.npy", paths)
    script = (
        "import numpy as np\n"
        "from skpneumo import load_model\n"
        f"model = load_model({str(folder)!r})\n"
        f"paths = np.load({str(tmp_path / 'paths.npy')!r})\n"
        f"np.save({str(tmp_path / 'proba.npy')!r}, model.predict_proba(paths))\n"
        f"np.save({str(tmp_path / 'pred.npy')!r}, model.predict(paths))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    np.testing.assert_array_equal(
        np.load(tmp_path / "proba.npy"), model.predict_proba(paths)
    )
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), model.predict(paths))


def test_wrapper_outside_the_allow_list_is_refused_by_name(fitted, tmp_path):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import BaggingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.metrics import make_scorer, recall_score
    from sklearn.model_selection import (
        FixedThresholdClassifier,
        TunedThresholdClassifierCV,
    )

    pipe, paths = fitted

    class MyThreshold(FixedThresholdClassifier):
        pass

    with pytest.raises(
        ValueError, match=r"cannot save a sklearn\.ensemble\..*BaggingClassifier"
    ):
        save_model(BaggingClassifier(pipe), tmp_path / "model")
    # a subclass may predict otherwise than the class load_model would rebuild
    with pytest.raises(ValueError, match=r"cannot save a .*MyThreshold"):
        save_model(MyThreshold(pipe), tmp_path / "model")
    labels = _labels(paths)
    ensemble = CalibratedClassifierCV(FrozenEstimator(pipe), ensemble=True, cv=2)
    with pytest.raises(ValueError, match="holds 2 calibrated copies"):
        save_model(ensemble.fit(paths, labels), tmp_path / "model")
    # a scorer whose positive class is not classes_[1] is needed to predict
    tuned = TunedThresholdClassifierCV(
        pipe,
        cv="prefit",
        refit=False,
        scoring=make_scorer(recall_score, pos_label="NORMAL"),
    ).fit(paths, labels)
    with pytest.raises(ValueError, match="positive class 'NORMAL' is not classes_"):
        save_model(tuned, tmp_path / "model")
    temperature = CalibratedClassifierCV(FrozenEstimator(pipe), method="temperature")
    with pytest.raises(ValueError, match="method='temperature'.*_TemperatureScaling"):
        save_model(temperature.fit(paths, labels), tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_doctored_wrapper_is_refused_on_load(fitted, tmp_path):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    pipe, paths = fitted
    model = CalibratedClassifierCV(FrozenEstimator(pipe)).fit(paths, _labels(paths))
    folder = save_model(model, tmp_path / "model")
    meta_file = folder / "skpneumo.json"
    meta = json.loads(meta_file.read_text())

    doctored = json.loads(json.dumps(meta))
    doctored["wrappers"][1]["class"] = "os.system"
    meta_file.write_text(json.dumps(doctored))
    with pytest.raises(ModelFormatError, match="unknown wrapper class 'os.system'"):
        load_model(folder)

    doctored = json.loads(json.dumps(meta))
    doctored["wrappers"][0]["fitted"]["calibrators"][0]["class"] = "subprocess.Popen"
    meta_file.write_text(json.dumps(doctored))
    with pytest.raises(
        ModelFormatError, match="unknown calibrator class 'subprocess.Popen'"
    ):
        load_model(folder)

    doctored = json.loads(json.dumps(meta))
    del doctored["wrappers"][0]["fitted"]["calibrators"]
    meta_file.write_text(json.dumps(doctored))
    with pytest.raises(ModelFormatError, match="cannot rebuild CalibratedClassifierCV"):
        load_model(folder)


def test_decision_rule_names_its_owner(fitted):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    from skpneumo._persistence import _decision_rule

    pipe, paths = fitted
    assert _decision_rule(pipe) == (
        0.4,
        "P(pneumonia) >= 0.4 (the classifier's threshold)",
    )
    fixed = FixedThresholdClassifier(pipe, threshold=0.25)
    assert _decision_rule(fixed) == (
        0.25,
        "P(pneumonia) >= 0.25 (FixedThresholdClassifier)",
    )
    assert _decision_rule(FixedThresholdClassifier(pipe))[0] == 0.5  # threshold="auto"
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipe)).fit(
        paths, _labels(paths)
    )
    assert _decision_rule(calibrated) == (
        0.5,
        "calibrated P(pneumonia) > 0.5 (CalibratedClassifierCV, sigmoid)",
    )
    assert _decision_rule(FrozenEstimator(fixed)) == _decision_rule(fixed)


def test_network_is_saved_without_optimizer_state(fitted, tmp_path):
    # load_model never compiles, so Adam's moments would only triple the file
    import io

    h5py = pytest.importorskip("h5py")
    folder = save_model(fitted[0], tmp_path / "model")
    with zipfile.ZipFile(folder / "model.keras") as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        assert "optimizer" not in weights and "layers" in weights
    # and the fitted pipeline still trains on: its own network keeps the optimizer
    assert fitted[0].named_steps["classifier"].model_.optimizer is not None
    loaded = load_model(folder)
    X = fitted[1][:6]
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted[0].predict_proba(X))


def test_model_folder_gets_the_usual_permissions(fitted, tmp_path):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        folder = save_model(fitted[0], tmp_path / "model")
    finally:
        os.umask(umask)
    # not mkdtemp's private 0700: a model saved by one user is read by others
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
