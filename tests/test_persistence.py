"""save_model / load_model, pickle and joblib round trips, and damaged model folders."""

import json
import pickle
import subprocess
import sys
import zipfile

import joblib
import numpy as np
import pytest

from skpneumo import ModelFormatError, load_model, make_pneumonia_pipeline, save_model

TINY = dict(image_size=16, epochs=1, n_blocks=1, filters=4, random_state=0)


@pytest.fixture(scope="module")
def fitted(kaggle_root):
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(kaggle_root, split="train")
    labels = data.target_names[data.target]  # string labels survive the round trip too
    pipe = make_pneumonia_pipeline(threshold=0.4, **TINY).fit(data.paths, labels)
    return pipe, data.paths


def test_own_format_round_trip(fitted, tmp_path):
    pipe, paths = fitted
    folder = save_model(pipe, tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["model.keras", "skpneumo.json"]
    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict_proba(paths), pipe.predict_proba(paths))
    np.testing.assert_array_equal(loaded.predict(paths), pipe.predict(paths))
    clf = loaded.named_steps["classifier"]
    assert clf.threshold == 0.4
    assert clf.classes_.tolist() == ["NORMAL", "PNEUMONIA"]
    assert clf.history_ == pipe.named_steps["classifier"].history_
    assert loaded.named_steps["sampler"].zoom_range == pipe.named_steps["sampler"].zoom_range
    meta = json.loads((folder / "skpneumo.json").read_text())
    assert meta["format"] == "skpneumo-model" and meta["format_version"] == 1


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
        load = f"import pickle; model = pickle.loads(open({str(target)!r}, 'rb').read())"
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
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), pipe.predict_proba(paths))


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
    with pytest.raises(ModelFormatError, match="format version 99.*reads version 1 only"):
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
    meta_file.write_text(json.dumps({k: v for k, v in meta.items() if k != "model_sha256"}))
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
    pipe = make_pneumonia_pipeline(class_weight="balanced", **TINY)
    pipe.set_params(sampler="passthrough").fit(data.paths, data.target)
    loaded = load_model(save_model(pipe, tmp_path / "model"))
    assert loaded.named_steps["sampler"] == "passthrough"
    np.testing.assert_array_equal(loaded.predict_proba(data.paths), pipe.predict_proba(data.paths))
