"""Keras backends, mixed precision and seeding (skpneumo/_backend.py).

The rest of the suite runs on the default backend (TensorFlow). Here the core
of what users rely on (fit, predict_proba, seeded determinism, GridSearchCV over
the pipeline, save_model / load_model) runs again in a fresh interpreter for
each other backend whose package is installed, since Keras picks its backend
once per process (``KERAS_BACKEND``). The ``test`` extra installs JAX, so CI
covers it; PyTorch is covered where it is installed.
"""

import importlib.util
import json
import os
import pickle
import random
import subprocess
import sys
import textwrap
import threading

import keras
import numpy as np
import pytest
from _helpers import TINY, noise, save_image, synthetic_xray
from PIL import Image

from skpneumo import ImageLoader, PneumoniaClassifier, ZoomOverSampler, load_model

OTHER_BACKENDS = {"jax": "jax", "torch": "torch"}  # backend -> package it needs

CORE_SCRIPT = textwrap.dedent(
    """
    import json
    import sys
    from pathlib import Path

    import keras
    import numpy as np
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    from skpneumo import PneumoniaClassifier, load_model, make_pneumonia_pipeline, save_model

    out = Path(sys.argv[1])
    X, y, groups = np.load(out / "X.npy"), np.load(out / "y.npy"), np.load(out / "groups.npy")
    report = {"backend": keras.config.backend()}
    policy = keras.config.dtype_policy().name

    # fit + predict_proba, twice with the same seed: identical on the CPU
    def fit(**params):
        return PneumoniaClassifier(
            n_blocks=1, filters=4, epochs=2, batch_size=8, augmentation=1.0,
            random_state=0, **params
        ).fit(X, y)

    first, second = fit(), fit()
    proba = first.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.all(np.isfinite(proba)), proba
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(second.predict_proba(X), proba)
    assert first.dtype_policy_ == "float32", first.dtype_policy_  # "auto" on the CPU
    assert {v.dtype for v in first.model_.weights} == {"float32"}
    report["jit_compile"] = bool(first.model_.jit_compile)
    report["spread"] = float(np.ptp(proba[:, 1]))

    # mixed precision: bfloat16 inside, float32 weights and output
    mixed = fit(mixed_precision="mixed_bfloat16")
    assert mixed.model_.get_layer("block0_conv").compute_dtype == "bfloat16"
    assert mixed.model_.output.dtype == "float32"
    assert {v.dtype for v in mixed.model_.weights} == {"float32"}
    assert np.all(np.isfinite(mixed.predict_proba(X)))
    assert keras.config.dtype_policy().name == policy

    # GridSearchCV over the pipeline, 2 patient-grouped folds x 2 candidates
    pipe = make_pneumonia_pipeline(
        image_size=16,
        classifier__epochs=1,
        classifier__n_blocks=1,
        classifier__filters=4,
        classifier__batch_size=8,
        random_state=0,
    )
    search = GridSearchCV(
        pipe,
        {"classifier__learning_rate": [1e-3, 3e-3]},
        scoring="roc_auc",
        cv=StratifiedGroupKFold(n_splits=2),
        error_score="raise",
    ).fit(X, y, groups=groups)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)), scores
    report["scores"] = scores.tolist()

    # save_model / load_model: identical probabilities in this backend
    best = search.best_estimator_
    folder = save_model(best, out / "model")
    expected = best.predict_proba(X)
    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    # a loaded model with augmentation layers is compiled like the fitted one
    # (non-regression: on JAX it predicted without XLA, a rounding apart)
    report["loaded_jit_compile"] = bool(loaded.named_steps["classifier"].model_.jit_compile)
    np.save(out / "proba.npy", expected)
    print(json.dumps(report))
    """
)


def _tiny_data():
    """Thirty-two 16x16 images, two per patient, with a learnable signal."""
    rng = np.random.RandomState(0)
    y = np.array([0, 1] * 16)
    X = np.stack([synthetic_xray(label, rng, 16) for label in y])
    groups = np.repeat(np.arange(16), 2)  # patient p has images 2p (0) and 2p+1 (1)
    return X, y, groups


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(OTHER_BACKENDS))
def test_core_on_other_backend(backend, tmp_path):
    """The core of the package on JAX / PyTorch, in a fresh process on the CPU."""
    package = OTHER_BACKENDS[backend]
    if importlib.util.find_spec(package) is None:
        pytest.skip(
            f"the {backend} backend needs the {package!r} package, which is not "
            f"installed (pip install {package}); CI installs jax through the "
            "'test' extra"
        )
    X, y, groups = _tiny_data()
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "groups.npy", groups)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env.update(JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="")  # the CPU, as in CI
    # Each fit builds a new model, which JAX would compile anew; the same
    # programs come back, so a compilation cache halves this test's time.
    env.update(
        JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax-cache"),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )
    result = subprocess.run(
        [sys.executable, "-c", CORE_SCRIPT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,  # the assertion below shows the child's error
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend
    # JAX compiles the whole training step, the augmentation layers included
    assert report["jit_compile"] == (backend == "jax")
    assert report["loaded_jit_compile"] == (backend == "jax")
    assert report["spread"] > 0

    # The saved folder also loads on this process's backend (TensorFlow): a
    # model trained with JAX on a GPU can be served elsewhere.
    cross = load_model(tmp_path / "model").predict_proba(X)
    np.testing.assert_allclose(cross, np.load(tmp_path / "proba.npy"), atol=1e-5)


def test_seeded_fit_ignores_other_threads_drawing_from_random(image_batch):
    """A Dask worker's event loop draws from Python's ``random`` while a task fits.

    Keras seeds an initializer without a seed from that global generator; the
    network's initializers are seeded from ``random_state`` instead.
    """
    X, y = image_batch
    expected = PneumoniaClassifier(**TINY).fit(X, y).predict_proba(X)
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # let the threads take turns often
    thread = threading.Thread(target=draw, daemon=True)
    thread.start()
    try:
        proba = PneumoniaClassifier(**TINY).fit(X, y).predict_proba(X)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    np.testing.assert_array_equal(proba, expected)


def _global_random_state():
    return random.getstate(), pickle.dumps(np.random.get_state())


def test_library_calls_leave_global_generators_alone(tmp_path):
    """Library calls leave Python's and NumPy's global generators as they were.

    ``_backend.seeded`` restores them after a fit; the loader and the sampler
    draw from their own ``random_state``.
    """
    paths = [
        save_image(tmp_path / f"{i}.png", Image.fromarray(noise((20, 20), seed=i)))
        for i in range(4)
    ]
    X = noise((8, 16, 16, 1))
    y = np.array([0, 0, 1, 1, 1, 1, 1, 1])
    before = _global_random_state()

    ImageLoader(image_size=16).fit_transform([str(p) for p in paths])
    assert _global_random_state() == before, "ImageLoader.transform"
    ZoomOverSampler(random_state=0).fit_resample(X, y)
    assert _global_random_state() == before, "ZoomOverSampler.fit_resample"
    classifier = PneumoniaClassifier(**TINY).fit(X, y)
    assert _global_random_state() == before, "PneumoniaClassifier.fit"
    classifier.predict_proba(X)
    assert _global_random_state() == before, "PneumoniaClassifier.predict_proba"


def test_seeded_fit_leaves_tensorflow_op_determinism_off(image_batch):
    """Scikeras' seeding left TensorFlow's op determinism (and so no XLA) on."""
    if keras.config.backend() != "tensorflow":
        pytest.skip("TensorFlow's op determinism concerns the TensorFlow backend")
    from tensorflow.python.framework import config

    was_on = config.is_op_determinism_enabled()
    config.disable_op_determinism()  # stock scikeras fits elsewhere turn it on
    try:
        X, y = image_batch
        PneumoniaClassifier(**TINY).fit(X, y)
        assert not config.is_op_determinism_enabled()
    finally:
        if was_on:
            config.enable_op_determinism()


def test_mixed_precision_auto_is_float32_on_the_cpu(image_batch):
    X, y = image_batch
    policy = keras.config.dtype_policy().name
    clf = PneumoniaClassifier(**TINY).fit(X, y)
    assert clf.mixed_precision == "auto"
    assert clf.dtype_policy_ == "float32"
    assert {v.dtype for v in clf.model_.weights} == {"float32"}
    assert {layer.compute_dtype for layer in clf.model_.layers} == {"float32"}
    assert keras.config.dtype_policy().name == policy


@pytest.mark.parametrize("mixed_precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_builds_and_fits(image_batch, mixed_precision):
    X, y = image_batch
    policy = keras.config.dtype_policy().name
    clf = PneumoniaClassifier(
        n_blocks=2,
        filters=4,
        epochs=1,
        augmentation=1.0,
        mixed_precision=mixed_precision,
        random_state=0,
    ).fit(X, y)
    compute = mixed_precision.removeprefix("mixed_")
    model = clf.model_
    assert clf.dtype_policy_ == mixed_precision
    assert model.get_layer("block1_conv").compute_dtype == compute
    assert model.get_layer("view").compute_dtype == "float32"  # warps in float32
    assert model.get_layer("pneumonia").compute_dtype == "float32"
    assert model.output.dtype == "float32"
    assert {v.dtype for v in model.weights} == {"float32"}
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64 and np.all(np.isfinite(proba))
    assert keras.config.dtype_policy().name == policy  # no global state changed
    if mixed_precision == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)


def test_mixed_precision_survives_save_and_load(image_batch, tmp_path):
    from skpneumo import make_pneumonia_pipeline, save_model

    X, y = image_batch
    pipe = make_pneumonia_pipeline(
        image_size=16,
        classifier__epochs=1,
        classifier__n_blocks=1,
        classifier__filters=4,
        classifier__mixed_precision="mixed_bfloat16",
        random_state=0,
    ).fit(X, y)
    loaded = load_model(save_model(pipe, tmp_path / "model"))
    clf = loaded.named_steps["classifier"]
    assert clf.mixed_precision == "mixed_bfloat16"
    assert clf.dtype_policy_ == "mixed_bfloat16"
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def test_invalid_mixed_precision_named_at_fit(image_batch):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = image_batch
    with pytest.raises(InvalidParameterError, match="mixed_precision"):
        PneumoniaClassifier(mixed_precision="float16").fit(X, y)


def test_auto_policy_follows_the_gpu(monkeypatch):
    from skpneumo import _backend

    for capability, expected in [
        (None, "float32"),
        ((7, 5), "mixed_float16"),
        ((8, 0), "mixed_bfloat16"),
        ((9, 0), "mixed_bfloat16"),
        ((0, 0), "mixed_float16"),  # a GPU whose capability cannot be read
    ]:
        monkeypatch.setattr(_backend, "gpu_capability", lambda c=capability: c)
        assert _backend.resolve_dtype_policy("auto") == expected
        assert _backend.resolve_dtype_policy("float32") == "float32"


def test_only_the_backend_module_asks_which_backend():
    """Non-regression test: backend switches sat in four modules.

    ``skpneumo/_backend.py`` is the one module that asks which Keras backend or
    device is in use, or imports a backend's own package.
    """
    import re
    from pathlib import Path

    import skpneumo

    package = Path(skpneumo.__file__).parent
    asks = re.compile(
        r"backend\(\)|^\s*(import|from) (jax|torch|tensorflow)\b", re.MULTILINE
    )
    offenders = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "_backend.py" and asks.search(path.read_text())
    )
    assert offenders == []


def test_light_modules_do_not_import_keras():
    """The command line's parser, the decision rule, the metrics and the
    inspection package import Keras only when a function needs it; the
    backend module too, so that ``import_keras_quietly`` is the one to load it.
    """
    code = (
        "import sys, skpneumo, skpneumo._backend, skpneumo._cli, skpneumo._decision, "
        "skpneumo.inspection, skpneumo.metrics; print('keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
