"""save_model / load_model: a fitted pipeline as a folder that loads without pickle.

Format (``format_version`` 1), a folder holding:

``model.keras``
    The trained network in Keras' own format, loaded with ``safe_mode=True`` (no
    Python code is deserialised; the network uses only built-in Keras layers).
``skpneumo.json``
    ``format``, ``format_version``, the skpneumo, Keras and backend versions
    that wrote it, and for each pipeline step (``loader``, ``sampler``,
    ``classifier``) its class name and parameters (or ``"passthrough"`` for a
    step left out, such as the sampler when class weights rebalance instead);
    for the classifier also its
    fitted state: ``classes_``, ``X_shape_``, ``X_dtype_``, ``history_`` and
    ``n_iter_``. Tuples and dicts with non-string keys are written as
    ``{"__tuple__": [...]}`` and ``{"__dict__": [[key, value], ...]}``.

``skpneumo.json`` also records ``model_sha256``, the SHA-256 digest of
``model.keras``; ``load_model`` recomputes it and refuses a network that does
not match (a folder written before the digest was recorded loads unchecked).

Only the classes returned by :func:`_step_classes` can be rebuilt, so a doctored
JSON file cannot make ``load_model`` instantiate anything else.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from imblearn.pipeline import Pipeline
from joblib import Memory

from . import __version__
from ._loader import ImageLoader
from ._sampler import ZoomOverSampler

FORMAT = "skpneumo-model"
FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
META_FILE = "skpneumo.json"
STEPS = ("loader", "sampler", "classifier")


class ModelFormatError(ValueError):
    """A saved model is missing, damaged or from an incompatible version."""


def _step_classes():
    from ._classifier import PneumoniaClassifier

    return {
        "ImageLoader": ImageLoader,
        "ZoomOverSampler": ZoomOverSampler,
        "PneumoniaClassifier": PneumoniaClassifier,
    }


def file_sha256(path):
    """SHA-256 digest of a file, as a hex string."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _encode(value, where):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, np.ndarray):
        return [_encode(v, where) for v in value.tolist()]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
    if isinstance(value, Memory):
        return None if value.location is None else str(value.location)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise ValueError(
        f"Cannot save {where}={value!r}: only numbers, strings, None, tuples, lists "
        "and dicts of them can be written to skpneumo.json (set an int random_state "
        "and a plain sampling_strategy before saving)."
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v) for v in value["__tuple__"])
        if set(value) == {"__dict__"}:
            return {_decode(k): _decode(v) for k, v in value["__dict__"]}
        raise ModelFormatError(f"Unexpected object in skpneumo.json: {value!r}")
    return value


def save_model(pipeline, path):
    """Save a fitted skpneumo pipeline as a folder, without pickle.

    The folder is written next to ``path`` under a temporary name and renamed
    into place only when complete, so an interrupted save never leaves a
    half-written model at ``path``. An existing model at ``path`` is replaced.

    Parameters
    ----------
    pipeline : imblearn.pipeline.Pipeline
        A fitted pipeline with the steps ``loader``, ``sampler`` and
        ``classifier`` (as made by :func:`make_pneumonia_pipeline`).
    path : str or os.PathLike
        Folder to write.

    Returns
    -------
    path : pathlib.Path
        The folder written.

    See Also
    --------
    load_model : Load it back.
    """
    import keras
    from sklearn.utils.validation import check_is_fitted

    path = Path(path)
    names = [name for name, _ in getattr(pipeline, "steps", [])]
    if names != list(STEPS):
        raise ValueError(
            f"save_model expects a pipeline with the steps {list(STEPS)}; got {names}."
        )
    classifier = pipeline.named_steps["classifier"]
    check_is_fitted(classifier, "model_")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skpneumo_version": __version__,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "steps": {},
    }
    for name, step in pipeline.steps:
        if step is None or step == "passthrough":
            meta["steps"][name] = {"class": "passthrough"}
            continue
        meta["steps"][name] = {
            "class": type(step).__name__,
            "params": {
                key: _encode(value, f"{name}__{key}")
                for key, value in step.get_params(deep=False).items()
            },
        }
    meta["steps"]["classifier"]["fitted"] = {
        "classes_": _encode(classifier.classes_, "classes_"),
        "X_shape_": _encode(tuple(int(n) for n in classifier.X_shape_), "X_shape_"),
        "X_dtype_": str(classifier.X_dtype_),
        "history_": _encode(classifier.history_, "history_"),
        "n_iter_": int(classifier.n_iter_),
    }

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        classifier.model_.save(tmp / MODEL_FILE)
        meta["model_sha256"] = file_sha256(tmp / MODEL_FILE)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_model(path):
    """Load a pipeline saved by :func:`save_model` (or ``skpneumo train``).

    No pickle is involved: the network is read from ``model.keras`` with Keras'
    ``safe_mode``, and the steps are rebuilt from the parameters in
    ``skpneumo.json``. The loaded pipeline predicts exactly like the saved one.

    Parameters
    ----------
    path : str or os.PathLike
        Folder written by :func:`save_model`.

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        The fitted pipeline.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFormatError
        If the folder is not a skpneumo model, comes from an incompatible
        format version, its network does not match the recorded SHA-256 digest,
        or its network cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No saved model at {str(path)!r}.")
    meta_file, model_file = path / META_FILE, path / MODEL_FILE
    if not path.is_dir() or not meta_file.is_file() or not model_file.is_file():
        raise ModelFormatError(
            f"{str(path)!r} is not a skpneumo model folder: it must hold {META_FILE} "
            f"and {MODEL_FILE}."
        )
    try:
        meta = json.loads(meta_file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{str(meta_file)!r} is damaged: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFormatError(f"{str(meta_file)!r} does not describe a skpneumo model.")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{str(path)!r} uses model format version {version!r} (written by skpneumo "
            f"{meta.get('skpneumo_version')}); this skpneumo {__version__} reads "
            f"version {FORMAT_VERSION} only."
        )
    recorded = meta.get("model_sha256")
    if recorded is not None and file_sha256(model_file) != recorded:
        raise ModelFormatError(
            f"{str(model_file)!r} does not match the SHA-256 digest recorded in "
            f"{str(meta_file)!r}: the network was changed or damaged after it was saved."
        )
    classes = _step_classes()
    steps = []
    try:
        for name in STEPS:
            spec = meta["steps"][name]
            if spec["class"] == "passthrough" and name != "classifier":
                steps.append((name, "passthrough"))
                continue
            if spec["class"] not in classes:
                raise ModelFormatError(
                    f"{str(meta_file)!r}: unknown class {spec['class']!r} for step {name!r}."
                )
            params = {key: _decode(value) for key, value in spec["params"].items()}
            steps.append((name, classes[spec["class"]](**params)))
        fitted = {
            key: _decode(value)
            for key, value in meta["steps"]["classifier"]["fitted"].items()
        }
    except (KeyError, TypeError) as exc:
        raise ModelFormatError(f"{str(meta_file)!r} is incomplete or damaged: {exc!r}") from exc
    import keras

    try:
        network = keras.saving.load_model(model_file, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged archive
        raise ModelFormatError(
            f"Cannot read the network in {str(model_file)!r}: {type(exc).__name__}: {exc}"
        ) from exc
    steps[2][1]._set_fitted_state(
        network,
        classes=fitted["classes_"],
        X_shape=fitted["X_shape_"],
        X_dtype=fitted["X_dtype_"],
        history=fitted["history_"],
        n_iter=fitted["n_iter_"],
    )
    return Pipeline(steps)
