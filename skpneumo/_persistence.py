"""save_model / load_model: a fitted model as a folder that loads without pickle.

The model is the skpneumo pipeline (steps ``loader``, ``sampler``, ``classifier``,
as made by :func:`make_pneumonia_pipeline`), bare or inside scikit-learn's
post-fit wrappers: :class:`~sklearn.model_selection.FixedThresholdClassifier`,
:class:`~sklearn.model_selection.TunedThresholdClassifierCV`,
:class:`~sklearn.calibration.CalibratedClassifierCV` and
:class:`~sklearn.frozen.FrozenEstimator`. They change how the network's
probabilities become probabilities or labels, never the network, so a folder
always holds exactly one network.

Format (``format_version`` 2), a folder holding:

``model.keras``
    The trained network in Keras' own format, without its optimizer state,
    loaded with ``safe_mode=True``: no Python code is deserialised, and the
    only classes rebuilt are Keras' own layers and skpneumo's registered ones
    (:mod:`skpneumo._layers`).
``skpneumo.json``
    One JSON object:

    ``format``, ``format_version``
        ``"skpneumo-model"`` and ``2``.
    ``skpneumo_version``, ``sklearn_version``, ``keras_version``, ``backend``
        What wrote the folder (for the record; not checked).
    ``steps``
        The pipeline: for each step (``loader``, ``sampler``, ``classifier``)
        ``{"class": name, "params": {...}}``, or ``{"class": "passthrough"}`` for
        a step left out (such as the sampler when class weights rebalance
        instead). The classifier also has ``"fitted"``: the keyword arguments
        of ``PneumoniaClassifier._set_fitted_state``, as its
        ``_get_fitted_state`` returns them (``classes``, ``X_shape``,
        ``X_dtype``, ``history``, ``n_iter``).
    ``wrappers``
        The wrappers around the pipeline, outermost first, each wrapping the
        next and the last wrapping the pipeline; ``[]`` for a bare pipeline.
        Each is ``{"class": name, "params": {...}, "prefit": bool,
        "fitted": {...}, "dropped_params": [...]}``:

        - ``params``: its constructor parameters except ``estimator``;
        - ``prefit``: true when its ``estimator`` parameter *is* the fitted
          estimator it predicts with (a FixedThresholdClassifier that was
          never fitted, ``cv="prefit"``, a FrozenEstimator inside
          CalibratedClassifierCV); false when that parameter was an unfitted
          template, which is restored as an unfitted clone of the fitted one;
        - ``fitted``: what predicting needs. FixedThresholdClassifier and
          FrozenEstimator: nothing. TunedThresholdClassifierCV:
          ``best_threshold_``, ``best_score_``, and ``cv_results_`` when it
          was stored (two arrays). CalibratedClassifierCV: ``classes_`` and
          ``calibrators``, one ``{"class": "_SigmoidCalibration", "fitted":
          {"a_", "b_"}}`` or ``{"class": "IsotonicRegression", "params":
          {...}, "fitted": {"X_min_", "X_max_", "X_thresholds_",
          "y_thresholds_", "increasing_"}}``;
        - ``dropped_params``: fit-only parameters that are not plain values
          (a cross-validation splitter or a list of folds, a ``RandomState``,
          a scorer object), restored as their defaults; they matter only to a
          refit. A scorer is left out only when predicting does not need it
          (its positive class is ``classes_[1]`` or unset).
    ``model_sha256``
        The SHA-256 digest of ``model.keras``; ``load_model`` recomputes it and
        refuses a network that does not match (a folder written before the
        digest was recorded loads unchecked).

Values: tuples and dicts with non-string keys are written as
``{"__tuple__": [...]}`` and ``{"__dict__": [[key, value], ...]}``; the NumPy
arrays and scalars of a wrapper's fitted state as ``{"__ndarray__": [...],
"dtype": "float32"}``, so that they come back with their dtype (which decides
the precision a calibrator computes in) and bit for bit.

Version 1, written before wrappers could be saved, has no ``wrappers`` and
names the classifier's fitted state by attribute (``classes_``, ``X_shape_``,
...). ``load_model`` reads versions 1 and 2.

Only the classes in :func:`_step_classes`, :func:`_wrapper_classes` and
:func:`_calibrator_classes` can be rebuilt, so a doctored JSON file cannot make
``load_model`` instantiate anything else; ``save_model`` refuses any other
class, naming it.
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

from . import __version__, _backend
from ._loader import ImageLoader
from ._sampler import ZoomOverSampler

FORMAT = "skpneumo-model"
FORMAT_VERSION = 2
#: Versions ``load_model`` reads; version 1 is a bare pipeline (see above).
READABLE_VERSIONS = (1, 2)
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


def _wrapper_classes():
    """The scikit-learn wrappers a folder can hold around the pipeline."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import (
        FixedThresholdClassifier,
        TunedThresholdClassifierCV,
    )

    return {
        "FixedThresholdClassifier": FixedThresholdClassifier,
        "TunedThresholdClassifierCV": TunedThresholdClassifierCV,
        "CalibratedClassifierCV": CalibratedClassifierCV,
        "FrozenEstimator": FrozenEstimator,
    }


def _calibrator_classes():
    """The calibrators of a CalibratedClassifierCV, by the name the JSON gives them.

    ``_SigmoidCalibration`` is private to scikit-learn, but it is what
    ``CalibratedClassifierCV(method="sigmoid")`` fits, and only an instance of
    it predicts as the saved one did.
    """
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    return {
        "_SigmoidCalibration": _SigmoidCalibration,
        "IsotonicRegression": IsotonicRegression,
    }


#: The fitted attributes of each calibrator that its predict reads (and that are saved).
_CALIBRATOR_STATE = {
    "_SigmoidCalibration": ("a_", "b_"),
    "IsotonicRegression": (
        "X_min_",
        "X_max_",
        "X_thresholds_",
        "y_thresholds_",
        "increasing_",
    ),
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
        return {
            "__dict__": [
                [_encode(k, where), _encode(v, where)] for k, v in value.items()
            ]
        }
    if isinstance(value, Memory):
        return None if value.location is None else str(value.location)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise ValueError(
        f"Cannot save {where}={value!r}: only numbers, strings, None, tuples, lists "
        "and dicts of them can be written to skpneumo.json (set an int random_state "
        "and a plain sampling_strategy before saving)."
    )


def _encode_state(value, where):
    """Like :func:`_encode`, but NumPy arrays and scalars keep their dtype."""
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "biufUO":
        return {
            "__ndarray__": _encode(np.asarray(value).tolist(), where),
            # "float32" reads better than "<f4"; strings need the full code ("<U9")
            "dtype": value.dtype.name
            if value.dtype.kind in "biuf"
            else value.dtype.str,
        }
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_encode(k, where), _encode_state(v, where)] for k, v in value.items()
            ]
        }
    return _encode(value, where)


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v) for v in value["__tuple__"])
        if set(value) == {"__dict__"}:
            return {_decode(k): _decode(v) for k, v in value["__dict__"]}
        if set(value) == {"__ndarray__", "dtype"}:
            array = np.asarray(
                _decode(value["__ndarray__"]), dtype=np.dtype(value["dtype"])
            )
            return array[()] if array.ndim == 0 else array  # a 0-d array was a scalar
        raise ModelFormatError(f"Unexpected object in skpneumo.json: {value!r}")
    return value


def _decode_fields(fields):
    return {key: _decode(value) for key, value in fields.items()}


def _encode_params(estimator, where, *, droppable=()):
    """Constructor parameters (but ``estimator``) as JSON, and those left out.

    A parameter in ``droppable`` is only read by ``fit``; unless it is a plain
    value (None, a number, a string) it is left out, to be restored as its
    default, instead of refusing the save or writing, say, every index of a
    list of cross-validation folds.
    """
    params, dropped = {}, []
    for key, value in estimator.get_params(deep=False).items():
        if key == "estimator":
            continue
        if key in droppable and not (
            value is None or isinstance(value, (bool, int, float, str))
        ):
            dropped.append(key)
            continue
        params[key] = _encode(value, f"{where}.{key}")
    return params, dropped


def _copy_n_features(wrapper, inner):
    # as the wrappers' own fit does
    if hasattr(inner, "n_features_in_"):
        wrapper.n_features_in_ = inner.n_features_in_


# --------------------------------------------------------------------------------------
# One describe/rebuild pair per wrapper class: describe(wrapper) returns its JSON entry
# and the fitted estimator it predicts with; rebuild(entry, inner) makes the wrapper
# again around that estimator.


def _describe_fixed(wrapper):
    from sklearn.utils.validation import check_is_fitted

    # A FixedThresholdClassifier predicts without fit when its estimator is
    # fitted (scikit-learn checks the estimator, then estimator_); fit would
    # make a fitted clone, estimator_, and predict with that.
    prefit = not hasattr(wrapper, "estimator_")
    inner = wrapper.estimator if prefit else wrapper.estimator_
    if prefit:
        check_is_fitted(inner)
    params, dropped = _encode_params(wrapper, "FixedThresholdClassifier")
    return {
        "params": params,
        "prefit": prefit,
        "fitted": {},
        "dropped_params": dropped,
    }, inner


def _rebuild_fixed(cls, entry, inner):
    from sklearn.base import clone

    params = _decode_fields(entry["params"])
    if entry["prefit"]:
        return cls(inner, **params)
    wrapper = cls(clone(inner), **params)
    wrapper.estimator_ = inner
    _copy_n_features(wrapper, inner)
    return wrapper


def _describe_tuned(wrapper):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(wrapper, "estimator_")
    inner = wrapper.estimator_
    # The folds, the seed and the scorer served the fit. predict only reads the
    # scorer's positive class (from the private curve scorer that fit made); a
    # scorer JSON cannot hold is left out, which the default scoring replaces
    # exactly when that class is classes_[1] or unset.
    params, dropped = _encode_params(
        wrapper,
        "TunedThresholdClassifierCV",
        droppable=("cv", "random_state", "scoring"),
    )
    pos_label = wrapper._curve_scorer._get_pos_label()
    if (
        "scoring" in dropped
        and pos_label is not None
        and pos_label != wrapper.classes_[1]
    ):
        raise ValueError(
            f"Cannot save TunedThresholdClassifierCV.scoring={wrapper.scoring!r}: its "
            f"positive class {pos_label!r} is not classes_[1], and only the scorer "
            "records it. Tune with a scoring name, or a scorer for classes_[1]."
        )
    fitted = {
        key: _encode_state(getattr(wrapper, key), f"TunedThresholdClassifierCV.{key}")
        for key in ("best_threshold_", "best_score_", "cv_results_")
        if hasattr(wrapper, key)
    }
    entry = {
        "params": params,
        "prefit": wrapper.estimator is inner,
        "fitted": fitted,
        "dropped_params": dropped,
    }
    return entry, inner


def _rebuild_tuned(cls, entry, inner):
    from sklearn.base import clone

    params, fitted = _decode_fields(entry["params"]), _decode_fields(entry["fitted"])
    wrapper = cls(inner if entry["prefit"] else clone(inner), **params)
    wrapper.estimator_ = inner
    wrapper.best_threshold_ = fitted["best_threshold_"]
    wrapper.best_score_ = fitted["best_score_"]
    if "cv_results_" in fitted:
        wrapper.cv_results_ = fitted["cv_results_"]
    _copy_n_features(wrapper, inner)
    # predict reads the positive class from this private attribute, which fit
    # sets from the same scikit-learn method.
    wrapper._curve_scorer = wrapper._get_curve_scorer()
    return wrapper


def _describe_calibrated(wrapper):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(wrapper, "calibrated_classifiers_")
    pairs = wrapper.calibrated_classifiers_
    if len(pairs) != 1:
        raise ValueError(
            f"Cannot save a CalibratedClassifierCV that holds {len(pairs)} calibrated "
            "copies of its estimator (ensemble=True over cross-validation folds): a "
            "model folder holds one network. Calibrate a fitted pipeline wrapped in "
            "sklearn.frozen.FrozenEstimator, or set ensemble=False."
        )
    pair = pairs[0]
    classes = _calibrator_classes()
    calibrators = []
    for calibrator in pair.calibrators:
        name = type(calibrator).__name__
        if classes.get(name) is not type(calibrator):
            raise ValueError(
                f"Cannot save CalibratedClassifierCV(method={wrapper.method!r}): its "
                f"calibrator {name} is not one skpneumo.json can hold (method "
                "'sigmoid' or 'isotonic' can be saved)."
            )
        where = f"CalibratedClassifierCV.{name}"
        calibrators.append(
            {
                "class": name,
                "params": _encode_params(calibrator, where)[0],
                "fitted": {
                    key: _encode_state(getattr(calibrator, key), f"{where}.{key}")
                    for key in _CALIBRATOR_STATE[name]
                },
            }
        )
    params, dropped = _encode_params(
        wrapper, "CalibratedClassifierCV", droppable=("cv",)
    )
    entry = {
        "params": params,
        "prefit": wrapper.estimator is pair.estimator,
        "fitted": {
            "classes_": _encode_state(
                wrapper.classes_, "CalibratedClassifierCV.classes_"
            ),
            "calibrators": calibrators,
        },
        "dropped_params": dropped,
    }
    return entry, pair.estimator


def _rebuild_calibrated(cls, entry, inner):
    from sklearn.base import clone
    from sklearn.calibration import _CalibratedClassifier

    wrapper = cls(
        inner if entry["prefit"] else clone(inner), **_decode_fields(entry["params"])
    )
    wrapper.classes_ = _decode(entry["fitted"]["classes_"])
    classes = _calibrator_classes()
    calibrators = []
    for spec in entry["fitted"]["calibrators"]:
        if spec["class"] not in classes:
            raise ModelFormatError(f"unknown calibrator class {spec['class']!r}")
        calibrator = classes[spec["class"]](**_decode_fields(spec["params"]))
        # exactly the attributes that were saved: nothing else can be set
        state = {
            key: _decode(spec["fitted"][key])
            for key in _CALIBRATOR_STATE[spec["class"]]
        }
        if spec["class"] == "IsotonicRegression":
            # IsotonicRegression rebuilds its interpolating function (f_, which
            # is left out of its state) in __setstate__, its pickle hook; the
            # version entry tells scikit-learn the state is of its own version.
            import sklearn

            calibrator.__setstate__(
                {**vars(calibrator), **state, "_sklearn_version": sklearn.__version__}
            )
        else:
            vars(calibrator).update(state)
        calibrators.append(calibrator)
    # the private pairing of estimator and calibrators that fit makes, and
    # predict_proba iterates over
    wrapper.calibrated_classifiers_ = [
        _CalibratedClassifier(
            inner, calibrators, classes=wrapper.classes_, method=wrapper.method
        )
    ]
    _copy_n_features(wrapper, inner)
    return wrapper


def _describe_frozen(wrapper):
    return {
        "params": {},
        "prefit": True,
        "fitted": {},
        "dropped_params": [],
    }, wrapper.estimator


def _rebuild_frozen(cls, entry, inner):
    return cls(inner)


_WRAPPERS = {
    "FixedThresholdClassifier": (_describe_fixed, _rebuild_fixed),
    "TunedThresholdClassifierCV": (_describe_tuned, _rebuild_tuned),
    "CalibratedClassifierCV": (_describe_calibrated, _rebuild_calibrated),
    "FrozenEstimator": (_describe_frozen, _rebuild_frozen),
}


def _unwrap(estimator):
    """Split ``estimator`` into its JSON wrapper entries and the pipeline inside.

    Raises
    ------
    ValueError
        Naming the class of a wrapper that cannot be saved, or the steps of a
        pipeline that is not the skpneumo one.
    """
    classes = _wrapper_classes()
    wrappers = []
    # by exact class, not hasattr: FrozenEstimator forwards `steps` to its pipeline,
    # and a subclass may predict differently from the class that is rebuilt
    while (name := type(estimator).__name__) in classes and classes[name] is type(
        estimator
    ):
        entry, estimator = _WRAPPERS[name][0](estimator)
        wrappers.append({"class": name, **entry})
    if not hasattr(estimator, "steps"):
        raise ValueError(
            f"save_model cannot save a {type(estimator).__module__}.{name}: it saves "
            f"the skpneumo pipeline, bare or inside {', '.join(sorted(classes))}."
        )
    names = [name for name, _ in estimator.steps]
    if names != list(STEPS):
        raise ValueError(
            f"save_model expects a pipeline with the steps {list(STEPS)}; got {names}."
        )
    return wrappers, estimator


def _inner_pipeline(estimator):
    """The skpneumo pipeline inside any of the wrappers ``load_model`` rebuilds."""
    return _unwrap(estimator)[1]


def _decision_rule(estimator):
    """The rule that turns ``estimator``'s probabilities into labels.

    Read from the estimator that owns it: the outermost wrapper that predicts
    by itself, else the pipeline's classifier.

    Returns
    -------
    threshold : float
        PNEUMONIA (``classes_[1]``) is predicted when ``predict_proba(X)[:, 1]``
        reaches it (exceeds it, for a calibrated model; for a
        FixedThresholdClassifier whose ``pos_label`` is ``classes_[0]``, the
        probability of that class must reach it).
    rule : str
        The same, in words, naming who owns the threshold.
    """
    while True:
        name = type(estimator).__name__
        if name == "FrozenEstimator":
            estimator = estimator.estimator
            continue
        if name == "FixedThresholdClassifier":
            # "auto" is 0.5 on predict_proba, the only response the pipeline has
            threshold = (
                0.5 if estimator.threshold == "auto" else float(estimator.threshold)
            )
            positive = estimator.pos_label
            if positive is not None and positive != estimator.classes_[1]:
                return threshold, (
                    f"P({positive}) >= {threshold:g} (FixedThresholdClassifier, "
                    f"pos_label={positive!r})"
                )
            inner = estimator.estimator
            while type(inner).__name__ == "FrozenEstimator":
                inner = inner.estimator
            if type(inner).__name__ == "CalibratedClassifierCV":
                return threshold, (
                    f"calibrated P(pneumonia) >= {threshold:g} (FixedThresholdClassifier "
                    f"around CalibratedClassifierCV, {inner.method})"
                )
            return (
                threshold,
                f"P(pneumonia) >= {threshold:g} (FixedThresholdClassifier)",
            )
        if name == "TunedThresholdClassifierCV":
            threshold = float(estimator.best_threshold_)
            return (
                threshold,
                f"P(pneumonia) >= {threshold:g} (TunedThresholdClassifierCV)",
            )
        if name == "CalibratedClassifierCV":
            # predict is the argmax of the calibrated probabilities: ties go to classes_[0]
            return 0.5, (
                f"calibrated P(pneumonia) > 0.5 (CalibratedClassifierCV, {estimator.method})"
            )
        if hasattr(estimator, "steps"):
            threshold = float(estimator.named_steps["classifier"].threshold)
            return (
                threshold,
                f"P(pneumonia) >= {threshold:g} (the classifier's threshold)",
            )
        raise ValueError(f"No decision rule known for a {name}.")


def _network_for_inference(model):
    """The network with its weights but without its optimizer.

    ``load_model`` reads the network with ``compile=False``, so the optimizer's
    state (Adam's two moments: twice the weights again) would only make the
    file three times larger. A copy rebuilt from the configuration carries the
    same layers and weights (batch-normalisation statistics included) and is
    never compiled (``keras.models.clone_model`` would compile it again).
    """
    if getattr(model, "optimizer", None) is None:
        return model
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def save_model(estimator, path):
    """Save a fitted skpneumo pipeline, bare or wrapped, as a folder, without pickle.

    The pipeline can sit inside scikit-learn's post-fit wrappers:
    :class:`~sklearn.model_selection.FixedThresholdClassifier` (fitted, or around
    a fitted pipeline), a fitted
    :class:`~sklearn.model_selection.TunedThresholdClassifierCV`, a fitted
    :class:`~sklearn.calibration.CalibratedClassifierCV` with one calibrated
    copy (``CalibratedClassifierCV(FrozenEstimator(pipe))``, method
    ``"sigmoid"`` or ``"isotonic"``) and :class:`~sklearn.frozen.FrozenEstimator`,
    nested in any order. :func:`load_model` rebuilds the same wrappers, which
    predict as the saved ones did.

    The folder is written next to ``path`` under a temporary name and renamed
    into place only when complete, so an interrupted save never leaves a
    half-written model at ``path``. An existing model at ``path`` is replaced.

    Parameters
    ----------
    estimator : imblearn.pipeline.Pipeline or scikit-learn wrapper
        A fitted pipeline with the steps ``loader``, ``sampler`` and
        ``classifier`` (as made by :func:`make_pneumonia_pipeline`), or one of
        the wrappers above around it.
    path : str or os.PathLike
        Folder to write.

    Returns
    -------
    path : pathlib.Path
        The folder written.

    Raises
    ------
    ValueError
        If ``estimator`` holds a class the format cannot rebuild (the message
        names it), a parameter that JSON cannot hold, or is not fitted.

    See Also
    --------
    load_model : Load it back.
    """
    import keras
    import sklearn
    from sklearn.utils.validation import check_is_fitted

    path = Path(path)
    wrappers, pipeline = _unwrap(estimator)
    classifier = pipeline.named_steps["classifier"]
    check_is_fitted(classifier, "model_")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skpneumo_version": __version__,
        "sklearn_version": sklearn.__version__,
        "keras_version": keras.__version__,
        "backend": _backend.name(),
        "steps": {},
        "wrappers": wrappers,
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
        key: _encode(value, f"classifier.{key}")
        for key, value in classifier._get_fitted_state().items()
    }

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    # mkdtemp makes the folder private (0700); the model folder it becomes
    # gets the permissions of any new folder, so others can read it as usual
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        _network_for_inference(classifier.model_).save(tmp / MODEL_FILE)
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
    """Load a model saved by :func:`save_model` (or ``skpneumo train``).

    No pickle is involved: the network is read from ``model.keras`` with Keras'
    ``safe_mode``, and the pipeline and any wrappers around it are rebuilt from
    ``skpneumo.json``. The loaded model predicts exactly like the saved one.

    Parameters
    ----------
    path : str or os.PathLike
        Folder written by :func:`save_model`.

    Returns
    -------
    estimator : imblearn.pipeline.Pipeline or scikit-learn wrapper
        The fitted pipeline, inside the wrappers it was saved in.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFormatError
        If the folder is not a skpneumo model, comes from an incompatible
        format version, names a class the format does not rebuild, its network
        does not match the recorded SHA-256 digest, or its network cannot be
        read.
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
        raise ModelFormatError(
            f"{str(meta_file)!r} does not describe a skpneumo model."
        )
    version = meta.get("format_version")
    if version not in READABLE_VERSIONS:
        raise ModelFormatError(
            f"{str(path)!r} uses model format version {version!r} (written by skpneumo "
            f"{meta.get('skpneumo_version')}); this skpneumo {__version__} reads "
            f"versions {', '.join(map(str, READABLE_VERSIONS))} only."
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
            # version 1 named the state by attribute: classes_, X_shape_, ...
            (key.removesuffix("_") if version == 1 else key): _decode(value)
            for key, value in meta["steps"]["classifier"]["fitted"].items()
        }
        wrappers = meta.get("wrappers", [])  # version 1 has none
        if not isinstance(wrappers, list):
            raise TypeError(f"'wrappers' must be a list, not {type(wrappers).__name__}")
        wrapper_classes = _wrapper_classes()
        for entry in wrappers:
            if entry["class"] not in wrapper_classes:
                raise ModelFormatError(
                    f"{str(meta_file)!r}: unknown wrapper class {entry['class']!r}."
                )
    except (KeyError, TypeError) as exc:
        raise ModelFormatError(
            f"{str(meta_file)!r} is incomplete or damaged: {exc!r}"
        ) from exc
    import keras

    try:
        network = keras.saving.load_model(model_file, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged archive
        raise ModelFormatError(
            f"Cannot read the network in {str(model_file)!r}: {type(exc).__name__}: {exc}"
        ) from exc
    pipeline = Pipeline(steps)
    pipeline.named_steps["classifier"]._set_fitted_state(network, **fitted)
    estimator = pipeline
    for entry in reversed(wrappers):
        name = entry["class"]
        try:
            estimator = _WRAPPERS[name][1](wrapper_classes[name], entry, estimator)
        except ModelFormatError as exc:
            raise ModelFormatError(f"{str(meta_file)!r}, {name}: {exc}") from exc
        except (KeyError, TypeError, ValueError, ImportError, AttributeError) as exc:
            # ImportError, AttributeError: a scikit-learn whose private calibration
            # or threshold internals changed
            raise ModelFormatError(
                f"{str(meta_file)!r}: cannot rebuild {name}: {exc!r}"
            ) from exc
    return estimator
