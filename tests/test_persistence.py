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
from _helpers import TINY, routed, write_meta

from skpneumo import ModelFormatError, load_model, make_pneumonia_pipeline, save_model


@pytest.fixture(scope="module")
def fitted(kaggle_root):
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(kaggle_root, split="train")
    labels = data.target_names[data.target]  # string labels survive the round trip too
    pipe = make_pneumonia_pipeline(threshold=0.4, image_size=16, **routed(TINY))
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
        ModelFormatError, match=r"format version 99.*reads versions 1, 2 only"
    ):
        load_model(folder)

    meta_file.write_text("{not json")
    with pytest.raises(ModelFormatError, match="is damaged"):
        load_model(folder)

    bad_class = json.loads(json.dumps(meta))
    bad_class["steps"]["loader"]["class"] = "os.system"
    write_meta(folder, bad_class)
    with pytest.raises(ModelFormatError, match=r"unknown class 'os\.system'"):
        load_model(folder)

    meta_file.write_text(json.dumps(meta))
    (folder / "model.keras").write_bytes(b"not a keras archive")
    with pytest.raises(ModelFormatError, match="does not match the SHA-256 digest"):
        load_model(folder)

    # a folder from before the digests were recorded is read unchecked
    meta_file.write_text(
        json.dumps(
            {k: v for k, v in meta.items() if k not in ("model_sha256", "meta_sha256")}
        )
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
    with pytest.raises(ModelFormatError, match=r"model\.keras.*SHA-256"):
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
    pipe = make_pneumonia_pipeline(
        classifier__class_weight="balanced", image_size=16, **routed(TINY)
    )
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
    meta.pop("extra_files", None), meta.pop("meta_sha256", None)  # written since
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


def test_folder_of_0_1_0_loads_with_the_behaviour_it_was_fitted_with(
    kaggle_root, tmp_path
):
    """Non-regression test for folders written before smoothing, clean statistics and views.

    skpneumo 0.1.0 wrote no ``smoothing``, ``bn_statistics`` nor
    ``test_time_views``; its networks neither smooth nor were normalised with
    clean statistics, and it scored each image as given, so a folder without
    them must load with the values that say so (and refit that way after
    ``clone``), not with today's defaults.
    """
    from sklearn.base import clone

    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(kaggle_root, split="train")
    old = dict(
        TINY,
        image_size=16,
        smoothing=0.0,
        bn_statistics="training",
        test_time_views=(1.0,),
    )
    pipe = make_pneumonia_pipeline(**routed(old)).fit(data.paths, data.target)
    folder = save_model(pipe, tmp_path / "model")
    meta = json.loads((folder / "skpneumo.json").read_text())
    params = meta["steps"]["classifier"]["params"]
    del params["smoothing"], params["bn_statistics"], params["test_time_views"]
    write_meta(folder, meta)
    loaded = load_model(folder)
    classifier = loaded.named_steps["classifier"]
    assert (classifier.smoothing, classifier.bn_statistics) == (0.0, "training")
    assert tuple(classifier.test_time_views) == (1.0,)
    assert clone(classifier).get_params()["smoothing"] == 0.0
    np.testing.assert_array_equal(
        loaded.predict_proba(data.paths), pipe.predict_proba(data.paths)
    )
    # a smoothing the network does not do is refused
    params["smoothing"] = 0.8
    write_meta(folder, meta)
    with pytest.raises(ModelFormatError, match=r"smooths by 0\.0"):
        load_model(folder)


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
    with pytest.raises(ValueError, match=r"method='temperature'.*_TemperatureScaling"):
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
    write_meta(folder, doctored)
    with pytest.raises(ModelFormatError, match=r"unknown wrapper class 'os\.system'"):
        load_model(folder)

    doctored = json.loads(json.dumps(meta))
    doctored["wrappers"][0]["fitted"]["calibrators"][0]["class"] = "subprocess.Popen"
    write_meta(folder, doctored)
    with pytest.raises(
        ModelFormatError, match=r"unknown calibrator class 'subprocess\.Popen'"
    ):
        load_model(folder)

    doctored = json.loads(json.dumps(meta))
    del doctored["wrappers"][0]["fitted"]["calibrators"]
    write_meta(folder, doctored)
    with pytest.raises(ModelFormatError, match="cannot rebuild CalibratedClassifierCV"):
        load_model(folder)


def test_decision_rule_names_its_owner(fitted):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    from skpneumo._decision import decision_rule

    pipe, paths = fitted
    assert decision_rule(pipe) == (
        0.4,
        "P(pneumonia) >= 0.4 (the classifier's threshold)",
    )
    fixed = FixedThresholdClassifier(pipe, threshold=0.25)
    assert decision_rule(fixed) == (
        0.25,
        "P(pneumonia) >= 0.25 (FixedThresholdClassifier)",
    )
    assert decision_rule(FixedThresholdClassifier(pipe))[0] == 0.5  # threshold="auto"
    calibrated = CalibratedClassifierCV(FrozenEstimator(pipe)).fit(
        paths, _labels(paths)
    )
    assert decision_rule(calibrated) == (
        0.5,
        "calibrated P(pneumonia) > 0.5 (CalibratedClassifierCV, sigmoid)",
    )
    assert decision_rule(FrozenEstimator(fixed)) == decision_rule(fixed)


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


# What save_model replaces, and what an interrupted save leaves ------------------------


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_save_leaves_alone_what_is_not_a_model_folder(fitted, tmp_path):
    """Non-regression test for save_model deleting a user's folder.

    It replaced whatever was at ``path``: a folder of notes, a file.
    """
    pipe = fitted[0]
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.txt").write_text("three years of work")
    with pytest.raises(FileExistsError, match=r"'.*notes' exists and is not a model"):
        save_model(pipe, notes)
    assert (notes / "thesis.txt").read_text() == "three years of work"

    some_file = tmp_path / "some_file.txt"
    some_file.write_text("keep me")
    with pytest.raises(FileExistsError, match=r"a file.*overwrite=True"):
        save_model(pipe, some_file)
    assert some_file.read_text() == "keep me"

    # a model folder that holds something a save did not write is not replaced
    model = save_model(pipe, tmp_path / "model")
    (model / "report").mkdir()
    with pytest.raises(FileExistsError, match="not a model folder"):
        save_model(pipe, model)
    assert (model / "report").is_dir()
    assert _listing(tmp_path) == ["model", "notes", "some_file.txt"]

    # asked to, it replaces a file or a folder
    save_model(pipe, some_file, overwrite=True)
    assert _listing(some_file) == ["model.keras", "skpneumo.json"]
    save_model(pipe, notes, overwrite=True)
    assert _listing(notes) == ["model.keras", "skpneumo.json"]
    assert _listing(tmp_path) == ["model", "notes", "some_file.txt"]


def test_save_replaces_a_model_folder_or_an_empty_one(fitted, tmp_path):
    pipe = fitted[0]
    (tmp_path / "empty").mkdir()
    save_model(pipe, tmp_path / "empty")
    assert _listing(tmp_path / "empty") == ["model.keras", "skpneumo.json"]
    # with the files skpneumo wrote beside an earlier model, which listed none
    folder = save_model(pipe, tmp_path / "model")
    meta = json.loads((folder / "skpneumo.json").read_text())
    del meta["extra_files"], meta["meta_sha256"]
    (folder / "skpneumo.json").write_text(json.dumps(meta))
    (folder / "training_curves.png").write_bytes(b"png")
    save_model(pipe, folder)
    assert _listing(folder) == ["model.keras", "skpneumo.json"]
    assert _listing(tmp_path) == ["empty", "model"]


def test_save_never_replaces_the_current_folder(fitted, tmp_path, monkeypatch):
    """Non-regression test for ``-o .``, which left an empty ``..old.*`` folder."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "data.txt").write_text("x")
    monkeypatch.chdir(work)
    for target in (".", "..", str(work), str(tmp_path)):
        with pytest.raises(ValueError, match="current folder or holds it"):
            save_model(fitted[0], target)
    with pytest.raises(ValueError, match="current folder or holds it"):
        save_model(fitted[0], ".", overwrite=True)  # not even when asked
    assert _listing(tmp_path) == ["work"] and _listing(work) == ["data.txt"]


def test_save_checks_the_path_before_writing_and_names_it(
    fitted, tmp_path, monkeypatch
):
    """Non-regression test for messages that named the temporary folder."""
    pipe = fitted[0]
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    network = pipe.named_steps["classifier"].model_
    saved = []
    monkeypatch.setattr(type(network), "save", lambda self, p: saved.append(p))
    with pytest.raises(NotADirectoryError, match=r"'.*a_file/model'.*is not a folder"):
        save_model(pipe, blocker / "model")
    assert saved == []  # refused before the network was written

    def disk_full(self, target):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(type(network), "save", disk_full)
    with pytest.raises(OSError) as error:
        save_model(pipe, tmp_path / "model")
    message = str(error.value)
    assert message == (
        f"Cannot write the model folder {str(tmp_path / 'model')!r}: "
        "No space left on device"
    )
    assert _listing(tmp_path) == ["a_file"]


def test_extra_files_appear_with_the_model_or_not_at_all(fitted, tmp_path):
    """Non-regression test for a model left without its curves."""
    pipe = fitted[0]
    folder = save_model(
        pipe,
        tmp_path / "model",
        extra_files={
            "notes.txt": "trained on the fixture",
            "curves.png": lambda path: path.write_bytes(b"\x89PNG"),
        },
    )
    assert _listing(folder) == [
        "curves.png",
        "model.keras",
        "notes.txt",
        "skpneumo.json",
    ]
    meta = json.loads((folder / "skpneumo.json").read_text())
    assert meta["extra_files"] == ["curves.png", "notes.txt"]
    load_model(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def interrupted(path):
        path.write_bytes(b"half a png")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save_model(pipe, folder, extra_files={"curves.png": interrupted})
    # the previous folder, whole, and no temporary folder beside it
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert _listing(tmp_path) == ["model"]
    # a later save replaces the files the earlier one listed
    save_model(pipe, folder)
    assert _listing(folder) == ["model.keras", "skpneumo.json"]
    for name in ("../x", "model.keras", "skpneumo.json", "", "a/b"):
        with pytest.raises(ValueError, match="not a file name a model folder can hold"):
            save_model(pipe, tmp_path / "other", extra_files={name: "x"})
    assert _listing(tmp_path) == ["model"]


def test_ctrl_c_during_the_final_rename_is_held_until_it_is_done(
    fitted, tmp_path, monkeypatch
):
    """The rename that replaces a model is never left half done by Ctrl-C."""
    import signal

    # Python's own handler, as in a terminal: a job started in the background
    # by a non-interactive shell (as a CI script may be) inherits SIGINT
    # ignored, and then there is no interrupt to hold
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _interrupt_the_final_rename(fitted, tmp_path, monkeypatch)
    finally:
        signal.signal(signal.SIGINT, inherited)


def _interrupt_the_final_rename(fitted, tmp_path, monkeypatch):
    import signal

    folder = save_model(fitted[0], tmp_path / "model")
    old_network = (folder / "model.keras").read_bytes()
    real_replace = os.replace
    calls = []

    def replace_and_interrupt(source, target):
        calls.append(target)
        signal.raise_signal(signal.SIGINT)  # Ctrl-C between the two renames
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_and_interrupt)
    monkeypatch.setattr(
        type(fitted[0].named_steps["classifier"].model_),
        "save",
        lambda self, p: open(p, "wb").write(b"new"),
    )
    with pytest.raises(KeyboardInterrupt):
        save_model(fitted[0], folder)
    assert len(calls) == 2  # both renames ran, then the interrupt arrived
    assert (folder / "model.keras").read_bytes() == b"new" != old_network
    assert _listing(tmp_path) == ["model"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# A doctored or damaged skpneumo.json ------------------------------------------------


class _Planted:
    """A pickle that makes a folder when it is loaded: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_a_planted_pickle_in_a_doctored_cache_folder_never_runs(fitted, tmp_path):
    """Non-regression test for code run by ``predict``.

    skpneumo.json could name the loader's joblib cache, and joblib unpickles
    what it finds there: a pickle planted in that folder ran when the model
    predicted.
    """
    from skpneumo import ImageLoader

    pipe, paths = fitted
    cache, marker = tmp_path / "cache", tmp_path / "code_ran"
    # fill a cache as this model's loader would, then replace what it holds
    ImageLoader(image_size=16, memory=str(cache)).transform(paths[:4])
    outputs = list(cache.rglob("output.pkl"))
    assert len(outputs) == 4
    for output in outputs:
        output.write_bytes(pickle.dumps(_Planted(marker)))

    folder = save_model(pipe, tmp_path / "model")
    meta = json.loads((folder / "skpneumo.json").read_text())
    meta["steps"]["loader"]["params"]["memory"] = str(cache)
    write_meta(folder, meta)
    loaded = load_model(folder)
    try:
        loaded.predict_proba(paths[:4])
    except Exception:  # what the old code did once the pickle had run
        pass
    assert not marker.exists(), "a pickle from the cache folder ran"
    assert loaded.named_steps["loader"].memory is None
    np.testing.assert_array_equal(
        loaded.predict_proba(paths[:4]), pipe.predict_proba(paths[:4])
    )


def test_cache_folder_and_threads_are_not_saved(fitted, tmp_path):
    pipe = fitted[0]
    pipe.set_params(loader__memory=str(tmp_path / "cache"), loader__n_jobs=3)
    try:
        folder = save_model(pipe, tmp_path / "model")
    finally:
        pipe.set_params(loader__memory=None, loader__n_jobs=None)
    params = json.loads((folder / "skpneumo.json").read_text())["steps"]["loader"]
    assert params["params"]["memory"] is None and params["params"]["n_jobs"] is None


def test_digests_cover_all_of_skpneumo_json(fitted, tmp_path):
    """Non-regression test for a skpneumo.json outside the integrity check."""
    import hashlib

    folder = save_model(fitted[0], tmp_path / "model")
    meta = json.loads((folder / "skpneumo.json").read_text())
    # the digest is the one the format documents (see write_meta)
    assert write_meta(tmp_path, meta)["meta_sha256"] == meta["meta_sha256"]
    # laid out otherwise, the same content loads
    (folder / "skpneumo.json").write_text(json.dumps(meta, indent=None))
    load_model(folder)
    # any change to the content is caught, as a change to the network is
    meta["steps"]["classifier"]["params"]["threshold"] = 0.9
    (folder / "skpneumo.json").write_text(json.dumps(meta))
    with pytest.raises(
        ModelFormatError, match=r"skpneumo\.json' does not match the SHA-256 digest"
    ):
        load_model(folder)
    network = (folder / "model.keras").read_bytes()
    assert meta["model_sha256"] == hashlib.sha256(network).hexdigest()


def _doctored(folder, meta, change):
    meta = json.loads(json.dumps(meta))
    change(meta)
    write_meta(folder, meta)


def _set(*path_and_value):
    *path, value = path_and_value

    def change(meta):
        node = meta
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


_LOADER = ("steps", "loader", "params")
_CLASSIFIER = ("steps", "classifier", "params")
_FITTED = ("steps", "classifier", "fitted")


@pytest.mark.parametrize(
    "change, message",
    [
        # the loader's images against the network's input (formerly an
        # image_size of 100000 took 23.5 GB at predict, 64 failed only there)
        (_set(*_LOADER, "image_size", 100000), r"loader makes images of shape"),
        (_set(*_LOADER, "image_size", 64), r"\(64, 64, 1\).*\(16, 16, 1\)"),
        (_set(*_LOADER, "channels", 3), r"loader makes images of shape \(16, 16, 3\)"),
        (
            _set(*_FITTED, "X_shape", {"__tuple__": [48, 64, 64, 1]}),
            r"fitted on images of shape \(64, 64, 1\)",
        ),
        (
            lambda m: (
                m["steps"]["loader"]["params"].update(image_size=64),
                m["steps"]["classifier"]["fitted"].update(
                    X_shape={"__tuple__": [48, 64, 64, 1]}
                ),
            ),
            r"network takes inputs of shape \[\(None, 16, 16, 1\)\]",
        ),
        (_set(*_CLASSIFIER, "batch_size", 10**9), r"more than 2147483648 pixels"),
        # each parameter against its constraints
        (_set(*_LOADER, "image_size", -3), r"'image_size' parameter of ImageLoader"),
        (_set(*_LOADER, "resize", "explode"), r"'resize' parameter of ImageLoader"),
        (_set(*_LOADER, "max_pixels", True), r"'max_pixels' parameter.*cannot be True"),
        (_set(*_CLASSIFIER, "threshold", 7), r"'threshold' parameter"),
        (_set(*_CLASSIFIER, "batch_size", "32"), r"'batch_size' parameter"),
        (_set("steps", "sampler", "params", "zoom_range", [3]), r"zoom_range"),
        (_set("steps", "sampler", "class", "PneumoniaClassifier"), r"unknown class"),
        # the fitted state's form
        (_set(*_FITTED, "classes", ["NORMAL"]), r"two sorted labels"),
        (_set(*_FITTED, "classes", [0, "PNEUMONIA"]), r"two sorted labels"),
        (_set(*_FITTED, "X_dtype", "object"), r"X_dtype must name a numeric dtype"),
        (_set(*_FITTED, "X_dtype", "not a dtype"), r"unknown dtype"),
        (
            _set(*_FITTED, "history", {"__dict__": [["loss", "low"]]}),
            r"history must map",
        ),
        (_set(*_FITTED, "n_iter", -1), r"n_iter must be a non-negative int"),
        (_set(*_FITTED, "n_iter", "1"), r"n_iter must be a non-negative int"),
        (lambda m: m["steps"]["classifier"]["fitted"].pop("X_dtype"), "must hold"),
        # values the format cannot hold
        (
            _set(*_LOADER, "max_pixels", {"__ndarray__": ["a"], "dtype": "<U99999999"}),
            r"dtype '<U99999999' is not one a model holds",
        ),
        (_set(*_LOADER, "max_pixels", {"__dict__": [1, 2]}), r"\[key, value\] pairs"),
        (_set(*_LOADER, "max_pixels", {"__tuple__": 1}), r"unexpected object"),
        (_set("steps", []), r"'steps' must be an object"),
        (_set("wrappers", {}), r"'wrappers' must be a list"),
        (_set("format_version", True), r"format version True"),
    ],
)
def test_restored_values_are_checked_against_constraints_and_network(
    fitted, tmp_path, change, message
):
    """Non-regression test for parameters restored unchecked."""
    folder = save_model(fitted[0], tmp_path / "model")
    meta = json.loads((folder / "skpneumo.json").read_text())
    _doctored(folder, meta, change)
    with pytest.raises(ModelFormatError, match=message) as error:
        load_model(folder)
    assert str(folder) in str(error.value)  # names the folder's file


def test_malformed_json_is_a_model_format_error(fitted, tmp_path):
    """Non-regression test for a RecursionError from deeply nested JSON."""
    folder = save_model(fitted[0], tmp_path / "model")
    meta_file = folder / "skpneumo.json"
    meta = json.loads(meta_file.read_text())
    meta_file.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFormatError, match=r"skpneumo\.json' is damaged: .*nested"):
        load_model(folder)
    # nested just within what json reads, but beyond what rebuilding it can
    deep = json.loads(json.dumps(meta))
    deep["steps"]["loader"]["params"]["max_pixels"] = json.loads("[" * 900 + "]" * 900)
    meta_file.write_text(json.dumps(deep))
    with pytest.raises(ModelFormatError, match=r"skpneumo\.json"):
        load_model(folder)
    for text in ("[]", '"skpneumo-model"', "\xff\xfe", "null"):
        meta_file.write_text(text, encoding="latin-1")
        with pytest.raises(ModelFormatError, match=r"skpneumo\.json"):
            load_model(folder)
    from skpneumo._persistence import MAX_META_BYTES

    with open(meta_file, "wb") as f:  # sparse: no disk space used
        f.truncate(MAX_META_BYTES + 1)
    with pytest.raises(ModelFormatError, match="bytes, far more than a model's"):
        load_model(folder)


def _nodes(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(node, list):
        # a long list (the thresholds of cv_results_, a history) by its ends
        for index in sorted({0, len(node) - 1} if len(node) > 3 else range(len(node))):
            yield from _nodes(node[index], (*path, index))


#: What the fuzz test writes in place of each value of a real skpneumo.json.
_REPLACEMENTS = (
    None,
    True,
    -1,
    0,
    2**40,
    0.5,
    float("nan"),
    "x",
    [],
    {},
    [[[[1]]]],
    {"__tuple__": [3]},
    {"__ndarray__": [1.5, 2.5], "dtype": "float64"},
    {"__ndarray__": "x", "dtype": "float64"},
)


def _mutations(meta):
    """Each one-value change of ``meta``, as (path, new value or "deleted")."""
    skip = {"meta_sha256", "model_sha256"}  # their own test checks them
    for path in _nodes(meta):
        if not path or path[0] in skip:
            continue
        for value in _REPLACEMENTS:
            yield path, value
        yield path, "deleted"


def _mutated(meta, path, value):
    meta = json.loads(json.dumps(meta))
    node = meta
    for key in path[:-1]:
        node = node[key]
    if value == "deleted":
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return meta


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fixed around calibrated", "tuned, one split"])
def test_fuzzed_skpneumo_json_loads_and_predicts_or_is_refused(
    fitted, tmp_path, monkeypatch, kind
):
    """Every one-value change of a real skpneumo.json, with its digest recorded.

    Each must raise ModelFormatError on loading, or load a model whose
    predict_proba, predict and decision rule run: no other exception, ever
    (a wrong dtype once reached the user as a TypeError at predict).
    """
    import keras

    from skpneumo._decision import decision_rule

    pipe, paths = fitted
    model = _wrap(kind, pipe, paths, _labels(paths))
    folder = save_model(model, tmp_path / "model")
    meta = json.loads((folder / "skpneumo.json").read_text())
    network = keras.saving.load_model(folder / "model.keras", compile=False)
    # the network is the same for every change: read it once
    monkeypatch.setattr(keras.saving, "load_model", lambda *args, **kwargs: network)
    X = list(paths[:3])
    outcomes = {"refused": 0, "loaded": 0}
    for path, value in _mutations(meta):
        write_meta(folder, _mutated(meta, path, value))
        try:
            loaded = load_model(folder)
        except ModelFormatError as exc:
            assert "skpneumo.json" in str(exc), (path, value, exc)
            outcomes["refused"] += 1
            continue
        try:
            assert loaded.predict_proba(X).shape == (3, 2)
            assert len(loaded.predict(X)) == 3
            decision_rule(loaded)
        except Exception as exc:
            raise AssertionError(f"{path} = {value!r} loaded, then {exc!r}") from exc
        outcomes["loaded"] += 1
    # the changes reach both outcomes: the test covers checks and rebuilding
    assert outcomes["refused"] > 100 and outcomes["loaded"] > 10, outcomes
