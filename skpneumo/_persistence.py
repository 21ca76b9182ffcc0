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
    ``extra_files``
        The names of the other files ``save_model`` wrote into the folder with
        the model (``training_curves.png`` for ``skpneumo train``); they are
        not read by ``load_model``, and make the folder one that a later save
        may replace (:func:`is_model_folder`).
    ``model_sha256``
        The SHA-256 digest of ``model.keras``.
    ``meta_sha256``
        The SHA-256 digest of this object without ``meta_sha256``, written as
        canonical JSON (keys sorted, no spaces, ASCII only): with
        ``model_sha256`` it covers everything ``load_model`` reads.
        ``load_model`` recomputes both and refuses a folder that does not
        match; a folder written before a digest was recorded loads without
        that check. The digests catch damage, not a deliberate edit: an editor
        can record new ones.

The loader's ``memory`` and ``n_jobs`` are always written as null and never
restored: a cache folder named in the file would have joblib unpickle whatever
it holds, and a thread count is the caller's machine's to choose.
Every restored parameter is validated against its estimator's
``_parameter_constraints``, and the fitted state against its form and against
the network (the loader's output images must be the network's input).

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
import math
import numbers
import os
import reprlib
from pathlib import Path

import numpy as np
from imblearn.pipeline import Pipeline

from . import __version__, _atomic, _backend
from ._loader import ImageLoader
from ._sampler import ZoomOverSampler
from ._validation import check_image_size

FORMAT = "skpneumo-model"
FORMAT_VERSION = 2
#: Versions ``load_model`` reads; version 1 is a bare pipeline (see above).
READABLE_VERSIONS = (1, 2)
MODEL_FILE = "model.keras"
META_FILE = "skpneumo.json"
STEPS = ("loader", "sampler", "classifier")
#: The class of each step (the loader and the sampler may also be "passthrough").
STEP_CLASSES = {
    "loader": "ImageLoader",
    "sampler": "ZoomOverSampler",
    "classifier": "PneumoniaClassifier",
}
#: Step parameters that are settings of the machine, not of the model: written
#: as null and never restored, whatever the file says. A loaded model gets no
#: cache folder but one its caller gives it (joblib unpickles what it finds in
#: that folder), and decodes in as many threads as its caller asks.
NOT_SAVED = {"loader": ("memory", "n_jobs")}
#: Parameters added after folders were first written, with the value that
#: gives the behaviour of the code before them: a folder that does not name
#: one was fitted that way, whatever the default is today.
ADDED_PARAMS = {
    "classifier": {"smoothing": 0.0, "bn_statistics": "training"},
}
#: The most pixels one batch of the classifier's predict may hold (2 GiB of
#: uint8): predict pads its last batch to ``batch_size`` images, so a doctored
#: ``batch_size`` or image size would otherwise allocate whatever it says.
MAX_BATCH_PIXELS = 2**31
#: The files beside the model that ``skpneumo train`` and
#: ``benchmarks/maint/train_pretrained.py`` wrote before a folder listed its
#: ``extra_files``; :func:`is_model_folder` counts them as the folder's own.
EARLIER_EXTRA_FILES = ("training_curves.png", "provenance.json")
#: No skpneumo.json comes near this size; a larger one is refused unread.
MAX_META_BYTES = 64 * 1024 * 1024
#: The longest NumPy string dtype ("<U1024") a value in skpneumo.json may have.
MAX_STRING_LENGTH = 1024


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 120


def _brief(value):
    """``repr(value)``, cut short: a doctored file can hold long values."""
    return _REPR.repr(value)


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


def _decode_dtype(name):
    """The dtype named in skpneumo.json: a number, a bounded string, or object."""
    if not isinstance(name, str):
        raise ModelFormatError(f"a dtype must be a string, not {_brief(name)}")
    try:
        dtype = np.dtype(name)
    except TypeError as exc:
        raise ModelFormatError(f"unknown dtype {_brief(name)}") from exc
    if dtype.kind in "biufO" or (
        dtype.kind == "U" and dtype.itemsize // 4 <= MAX_STRING_LENGTH
    ):
        return dtype
    raise ModelFormatError(f"dtype {_brief(name)} is not one a model holds")


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(_decode(v) for v in value["__tuple__"])
        if set(value) == {"__dict__"} and isinstance(value["__dict__"], list):
            pairs = value["__dict__"]
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ModelFormatError(
                    f"a __dict__ must list [key, value] pairs: {_brief(pairs)}"
                )
            return {_decode(k): _decode(v) for k, v in pairs}
        if set(value) == {"__ndarray__", "dtype"}:
            array = np.asarray(
                _decode(value["__ndarray__"]), dtype=_decode_dtype(value["dtype"])
            )
            return array[()] if array.ndim == 0 else array  # a 0-d array was a scalar
        raise ModelFormatError(f"unexpected object {_brief(value)}")
    return value


def _decode_fields(fields):
    return {key: _decode(value) for key, value in _object(fields, "fields").items()}


def _object(value, where):
    """``value`` if it is a JSON object, else a ModelFormatError naming ``where``."""
    if not isinstance(value, dict):
        raise ModelFormatError(f"{where} must be an object, not {_brief(value)}")
    return value


def _real(value, where, *, finite=True):
    """``value`` if it is a real number (not a bool), finite unless told."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or (finite and not math.isfinite(value))
    ):
        raise ModelFormatError(
            f"{where} must be a {'finite ' if finite else ''}number, not "
            f"{_brief(value)}"
        )
    return value


def _real_vector(value, where):
    """``value`` if it is a non-empty 1-D array of real numbers."""
    if (
        not isinstance(value, np.ndarray)
        or value.ndim != 1
        or value.size == 0
        or value.dtype.kind not in "iuf"
    ):
        raise ModelFormatError(
            f"{where} must be a non-empty 1-D array of numbers, not {_brief(value)}"
        )
    return value


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
    pos_label = params.get("pos_label")
    if pos_label is not None and pos_label not in inner.classes_.tolist():
        raise ModelFormatError(
            f"pos_label {_brief(pos_label)} is not one of the classes "
            f"{inner.classes_.tolist()}"
        )
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
    wrapper.best_threshold_ = _real(fitted["best_threshold_"], "best_threshold_")
    wrapper.best_score_ = _real(fitted["best_score_"], "best_score_", finite=False)
    if "cv_results_" in fitted:
        results = fitted["cv_results_"]
        if not isinstance(results, dict) or set(results) != {"thresholds", "scores"}:
            raise ModelFormatError(
                "cv_results_ must hold 'thresholds' and 'scores', not "
                f"{_brief(results)}"
            )
        thresholds = _real_vector(results["thresholds"], "cv_results_['thresholds']")
        scores = _real_vector(results["scores"], "cv_results_['scores']")
        if thresholds.shape != scores.shape:
            raise ModelFormatError("cv_results_ has as many thresholds as scores")
        wrapper.cv_results_ = results
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


#: The calibrator class of each CalibratedClassifierCV method that can be saved.
_METHOD_CALIBRATOR = {
    "sigmoid": "_SigmoidCalibration",
    "isotonic": "IsotonicRegression",
}


def _check_calibrator_state(name, state):
    """Refuse a calibrator state that its predict would choke on."""
    if name == "_SigmoidCalibration":
        for key in ("a_", "b_"):
            _real(state[key], key)
        return
    _real(state["X_min_"], "X_min_")
    _real(state["X_max_"], "X_max_")
    x = _real_vector(state["X_thresholds_"], "X_thresholds_")
    y = _real_vector(state["y_thresholds_"], "y_thresholds_")
    if x.shape != y.shape:
        raise ModelFormatError("X_thresholds_ and y_thresholds_ differ in length")
    if not isinstance(state["increasing_"], (bool, np.bool_)):
        raise ModelFormatError(
            f"increasing_ must be true or false, not {_brief(state['increasing_'])}"
        )


def _rebuild_calibrated(cls, entry, inner):
    from sklearn.base import clone
    from sklearn.calibration import _CalibratedClassifier

    wrapper = cls(
        inner if entry["prefit"] else clone(inner), **_decode_fields(entry["params"])
    )
    fitted = _object(entry["fitted"], "fitted")
    wrapper.classes_ = _decode(fitted["classes_"])
    if not (
        isinstance(wrapper.classes_, np.ndarray)
        and wrapper.classes_.tolist() == inner.classes_.tolist()
    ):
        raise ModelFormatError(
            f"classes_ {_brief(wrapper.classes_)} are not the classes "
            f"{inner.classes_.tolist()} of the estimator it calibrates"
        )
    classes = _calibrator_classes()
    specs = fitted["calibrators"]
    if not isinstance(specs, list) or len(specs) != 1:
        raise ModelFormatError(
            f"a calibrated binary classifier has one calibrator, not {_brief(specs)}"
        )
    calibrators = []
    for spec in specs:
        spec = _object(spec, "calibrator")
        if spec["class"] not in classes:
            raise ModelFormatError(f"unknown calibrator class {spec['class']!r}")
        if _METHOD_CALIBRATOR.get(wrapper.method) != spec["class"]:
            raise ModelFormatError(
                f"method={wrapper.method!r} does not fit with a {spec['class']}"
            )
        calibrator = classes[spec["class"]](**_decode_fields(spec["params"]))
        _validate_params(calibrator)
        # exactly the attributes that were saved: nothing else can be set
        spec_fitted = _object(spec["fitted"], "calibrator fitted state")
        state = {
            key: _decode(spec_fitted[key]) for key in _CALIBRATOR_STATE[spec["class"]]
        }
        _check_calibrator_state(spec["class"], state)
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


def _meta_digest(meta):
    """SHA-256 of ``meta`` but its ``meta_sha256``, as canonical JSON.

    Canonical: keys sorted, no spaces, non-ASCII characters escaped, so that
    the digest depends on the content, not on how the file was laid out.
    """
    content = {key: value for key, value in meta.items() if key != "meta_sha256"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _read_meta(meta_file):
    """The object in ``meta_file``, or a ModelFormatError naming the file."""
    size = meta_file.stat().st_size
    if size > MAX_META_BYTES:
        raise ModelFormatError(
            f"{str(meta_file)!r} is {size} bytes, far more than a model's "
            f"description; it is not read (the limit is {MAX_META_BYTES})."
        )
    try:
        return json.loads(meta_file.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{str(meta_file)!r} is damaged: {exc}") from exc
    except RecursionError as exc:
        raise ModelFormatError(
            f"{str(meta_file)!r} is damaged: its JSON is nested too deeply to read."
        ) from exc


def is_model_folder(path):
    """Whether ``path`` is a folder that :func:`save_model` wrote and may replace.

    True for a folder whose ``skpneumo.json`` declares a skpneumo model and
    that holds nothing but the files a save writes: ``model.keras``,
    ``skpneumo.json`` and the ``extra_files`` it lists (for a folder from an
    earlier version, which lists none, the files that ``skpneumo train`` and
    the bundled model's script wrote: :data:`EARLIER_EXTRA_FILES`). A folder
    holding anything else (a report inside it, a user's notes) is not one, so
    that replacing it loses nothing skpneumo did not write.
    """
    path = Path(path)
    meta_file = path / META_FILE
    try:
        if not path.is_dir() or not meta_file.is_file():
            return False
        meta = _read_meta(meta_file)
        entries = list(path.iterdir())
    except (OSError, ModelFormatError):
        return False
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return False
    extra = meta.get("extra_files", EARLIER_EXTRA_FILES)
    if not isinstance(extra, list | tuple) or not all(
        isinstance(n, str) for n in extra
    ):
        return False
    own = {MODEL_FILE, META_FILE, *extra}
    return all(entry.name in own and entry.is_file() for entry in entries)


def _check_extra_files(extra_files):
    if extra_files is None:
        return {}
    if not isinstance(extra_files, dict):
        raise TypeError(
            "extra_files must be a dict of file names to bytes, str or a callable, "
            f"not {type(extra_files).__name__}"
        )
    for name, content in extra_files.items():
        if (
            not isinstance(name, str)
            or name in ("", ".", "..", MODEL_FILE, META_FILE)
            or os.path.basename(name) != name
            or (os.altsep and os.altsep in name)
        ):
            raise ValueError(
                f"extra_files: {name!r} is not a file name a model folder can hold "
                f"(a plain name, not {MODEL_FILE!r} or {META_FILE!r})."
            )
        if not isinstance(content, bytes | bytearray | str) and not callable(content):
            raise TypeError(
                f"extra_files[{name!r}] must be bytes, str or a callable that "
                f"writes the file at the path it is given, not {type(content).__name__}"
            )
    return extra_files


def _write_extra_file(folder, name, content):
    target = folder / name
    if isinstance(content, str):
        target.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes | bytearray):
        target.write_bytes(content)
    else:
        content(target)
        if not target.is_file():
            raise ValueError(f"extra_files[{name!r}] wrote no file at the path given.")


def save_model(estimator, path, *, overwrite=False, extra_files=None):
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

    The whole folder (the network, ``skpneumo.json`` and ``extra_files``) is
    written next to ``path`` under a temporary name and renamed into place
    only when complete, so an interrupted or failed save leaves ``path`` as it
    was: the previous model, or nothing. An empty folder at ``path``, or a
    model folder that holds only what a save wrote (``model.keras``,
    ``skpneumo.json`` and the ``extra_files`` it lists), is replaced; anything
    else is left alone unless ``overwrite=True``. ``path`` is checked before
    anything is written. The loader's ``memory`` and ``n_jobs`` are written as
    null: a loaded model uses no cache and no decoding threads but those its
    caller gives it.

    Parameters
    ----------
    estimator : imblearn.pipeline.Pipeline or scikit-learn wrapper
        A fitted pipeline with the steps ``loader``, ``sampler`` and
        ``classifier`` (as made by :func:`make_pneumonia_pipeline`), or one of
        the wrappers above around it.
    path : str or os.PathLike
        Folder to write.
    overwrite : bool, default=False
        Replace whatever is at ``path``, a file or a folder with other files
        in it, and not only a model folder or an empty folder. The current
        folder and its ancestors are never replaced.
    extra_files : dict of str to bytes, str or callable, default=None
        Files to write into the folder with the model, so that they appear
        together or not at all: a file name mapped to its content (bytes, or
        a str written as UTF-8), or to a callable that writes the file at the
        path it is given (``lambda p: figure.savefig(p)``). ``skpneumo.json``
        lists their names, and a later save may replace them with the folder.

    Returns
    -------
    path : pathlib.Path
        The folder written.

    Raises
    ------
    ValueError
        If ``estimator`` holds a class the format cannot rebuild (the message
        names it), a parameter that JSON cannot hold, or is not fitted; or if
        ``path`` is the current folder or holds it.
    FileExistsError
        If ``path`` is neither missing, an empty folder nor a model folder,
        and ``overwrite`` is false.
    OSError
        If the folder cannot be written; the message names ``path``.

    See Also
    --------
    load_model : Load it back.
    """
    import keras
    import sklearn
    from sklearn.utils.validation import check_is_fitted

    path = Path(path)
    extra_files = _check_extra_files(extra_files)
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
        "extra_files": sorted(extra_files),
    }
    for name, step in pipeline.steps:
        if step is None or step == "passthrough":
            meta["steps"][name] = {"class": "passthrough"}
            continue
        params = step.get_params(deep=False)
        params.update(dict.fromkeys(NOT_SAVED.get(name, ())))
        meta["steps"][name] = {
            "class": type(step).__name__,
            "params": {
                key: _encode(value, f"{name}__{key}") for key, value in params.items()
            },
        }
    meta["steps"]["classifier"]["fitted"] = {
        key: _encode(value, f"classifier.{key}")
        for key, value in classifier._get_fitted_state().items()
    }

    with _atomic.replacing(
        path, what="model folder", replaceable=is_model_folder, overwrite=overwrite
    ) as tmp:
        _network_for_inference(classifier.model_).save(tmp / MODEL_FILE)
        for name, content in extra_files.items():
            _write_extra_file(tmp, name, content)
        meta["model_sha256"] = file_sha256(tmp / MODEL_FILE)
        meta["meta_sha256"] = _meta_digest(meta)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return path


#: What a damaged or doctored skpneumo.json makes the rebuilding code raise; each
#: becomes a ModelFormatError that names the file.
_DAMAGE = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    OverflowError,
    RecursionError,
)


def _check_digests(meta, meta_file, model_file):
    recorded = meta.get("meta_sha256")
    if recorded is not None and _meta_digest(meta) != recorded:
        raise ModelFormatError(
            f"{str(meta_file)!r} does not match the SHA-256 digest it records of "
            "its own content: it was changed or damaged after it was saved."
        )
    recorded = meta.get("model_sha256")
    if recorded is not None and file_sha256(model_file) != recorded:
        raise ModelFormatError(
            f"{str(model_file)!r} does not match the SHA-256 digest recorded in "
            f"{str(meta_file)!r}: the network was changed or damaged after it was saved."
        )


def _validate_params(estimator):
    """Check ``estimator``'s parameters against its constraints, bools strictly.

    scikit-learn counts True and False as the integers 1 and 0; ``save_model``
    never writes one where a number is meant, so a doctored file that does is
    refused.
    """
    constraints = getattr(type(estimator), "_parameter_constraints", None)
    if constraints is None:
        return
    estimator._validate_params()
    for key, value in estimator.get_params(deep=False).items():
        allowed = constraints.get(key, ())
        if isinstance(value, bool) and not {"boolean", "verbose"} & set(
            c for c in allowed if isinstance(c, str)
        ):
            raise ModelFormatError(
                f"the {key!r} parameter of {type(estimator).__name__} cannot be "
                f"{value!r}"
            )


def _check_step(name, step):
    """Validate a rebuilt step's parameters as its ``fit`` would."""
    _validate_params(step)
    if name == "loader":
        step._check_params()  # the image size's form, besides the constraints
    elif name == "sampler":
        step._check_zoom_range()


def _check_fitted_state(state):
    """Refuse a classifier state of the wrong form (see ``_get_fitted_state``)."""
    expected = {"classes", "X_shape", "X_dtype", "history", "n_iter"}
    if set(state) != expected:
        raise ModelFormatError(
            f"the classifier's fitted state must hold {sorted(expected)}, not "
            f"{sorted(map(str, state))}"
        )
    classes = state["classes"]
    kinds = {type(c) for c in classes} if isinstance(classes, list) else set()
    if (
        len(kinds) != 1
        or not kinds <= {str, int, float, bool}
        or len(classes) != 2
        or classes[0] == classes[1]
        or not classes[0] < classes[1]
        or (float in kinds and not all(map(math.isfinite, classes)))
    ):
        raise ModelFormatError(
            "the classifier's classes must be two sorted labels of one type, not "
            f"{_brief(classes)}"
        )
    shape = state["X_shape"]
    if not (
        isinstance(shape, list | tuple)
        and len(shape) == 4
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
    ):
        raise ModelFormatError(
            f"X_shape must be four positive ints, not {_brief(shape)}"
        )
    dtype = state["X_dtype"]
    if not isinstance(dtype, str) or _decode_dtype(dtype).kind not in "biuf":
        raise ModelFormatError(
            f"X_dtype must name a numeric dtype, not {_brief(dtype)}"
        )
    history = state["history"]
    if not isinstance(history, dict) or not all(
        isinstance(key, str)
        and isinstance(values, list)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        for key, values in history.items()
    ):
        raise ModelFormatError(
            f"history must map metric names to lists of numbers, not {_brief(history)}"
        )
    n_iter = state["n_iter"]
    if not isinstance(n_iter, int) or isinstance(n_iter, bool) or n_iter < 0:
        raise ModelFormatError(
            f"n_iter must be a non-negative int, not {_brief(n_iter)}"
        )


def _parse(meta, version):
    """The unfitted steps, the classifier's fitted state and the wrapper entries.

    Every parameter is checked against its estimator's constraints, and every
    field against the form ``save_model`` writes; anything else raises.
    """
    classes = _step_classes()
    specs = _object(meta["steps"], "'steps'")
    steps = []
    for name in STEPS:
        spec = _object(specs[name], f"step {name!r}")
        if spec["class"] == "passthrough" and name != "classifier":
            steps.append((name, "passthrough"))
            continue
        if spec["class"] != STEP_CLASSES[name]:
            raise ModelFormatError(
                f"unknown class {_brief(spec['class'])} for step {name!r}"
            )
        params = {**ADDED_PARAMS.get(name, {}), **_decode_fields(spec["params"])}
        params.update(dict.fromkeys(NOT_SAVED.get(name, ())))  # never restored
        step = classes[spec["class"]](**params)
        try:
            _check_step(name, step)
        except ValueError as exc:
            raise ModelFormatError(f"step {name!r}: {exc}") from exc
        steps.append((name, step))
    fitted = {
        # version 1 named the state by attribute: classes_, X_shape_, ...
        (key.removesuffix("_") if version == 1 else key): value
        for key, value in _decode_fields(specs["classifier"]["fitted"]).items()
    }
    _check_fitted_state(fitted)
    wrappers = meta.get("wrappers", [])  # version 1 has none
    if not isinstance(wrappers, list):
        raise ModelFormatError(
            f"'wrappers' must be a list, not {type(wrappers).__name__}"
        )
    wrapper_classes = _wrapper_classes()
    for entry in wrappers:
        entry = _object(entry, "a wrapper")
        if entry["class"] not in wrapper_classes:
            raise ModelFormatError(f"unknown wrapper class {_brief(entry['class'])}")
        _object(entry["params"], f"{entry['class']}'s params")
        _object(entry["fitted"], f"{entry['class']}'s fitted state")
        if not isinstance(entry["prefit"], bool):
            raise ModelFormatError(f"{entry['class']}'s prefit must be true or false")
    return steps, fitted, wrappers


def _check_network(network, steps, state):
    """Refuse a network that does not take the classifier's images or give one output.

    The loader's images (its size and channels) must be those the classifier
    was fitted on, and the network's input; its output is one probability.
    """
    loader, classifier = steps["loader"], steps["classifier"]
    image_shape = tuple(state["X_shape"][1:])
    if classifier.batch_size * math.prod(image_shape) > MAX_BATCH_PIXELS:
        raise ModelFormatError(
            f"a batch of {classifier.batch_size} images of shape {image_shape} holds "
            f"more than {MAX_BATCH_PIXELS} pixels, far more than predict needs"
        )
    if loader != "passthrough":
        made = (*check_image_size(loader.image_size), loader.channels)
        if made != image_shape:
            raise ModelFormatError(
                f"the loader makes images of shape {made}, but the classifier was "
                f"fitted on images of shape {image_shape}"
            )
    inputs = getattr(network, "inputs", None) or []
    outputs = getattr(network, "outputs", None) or []
    input_shapes = [tuple(tensor.shape) for tensor in inputs]
    output_shapes = [tuple(tensor.shape) for tensor in outputs]
    if input_shapes != [(None, *image_shape)]:
        raise ModelFormatError(
            f"the classifier was fitted on images of shape {image_shape}, but the "
            f"network takes inputs of shape {input_shapes}"
        )
    if output_shapes != [(None, 1)]:
        raise ModelFormatError(
            f"the network must output one probability per image, not outputs of "
            f"shape {output_shapes}"
        )
    # the smoothing is part of the network; the parameter must say what it does
    layers = {layer.name: layer for layer in getattr(network, "layers", [])}
    sigma = float(getattr(layers.get("smoothing"), "sigma", 0.0))
    if sigma != float(classifier.smoothing):
        raise ModelFormatError(
            f"the classifier's smoothing is {classifier.smoothing}, but its network "
            f"smooths by {sigma}"
        )


def _read_network(model_file):
    import keras

    try:
        return keras.saving.load_model(model_file, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a damaged archive
        raise ModelFormatError(
            f"Cannot read the network in {str(model_file)!r}: {type(exc).__name__}: {exc}"
        ) from exc


def load_model(path):
    """Load a model saved by :func:`save_model` (or ``skpneumo train``).

    No pickle is involved: the network is read from ``model.keras`` with Keras'
    ``safe_mode``, and the pipeline and any wrappers around it are rebuilt from
    ``skpneumo.json``. The loaded model predicts exactly like the saved one.

    Before the model is rebuilt, ``skpneumo.json`` and ``model.keras`` are
    checked against the SHA-256 digests the folder records (a folder written
    before they were recorded is read without that check); every restored
    parameter is checked against its estimator's constraints, and the fitted
    state against its form and against the network (the loader's images must
    be the network's input; one batch of them may not exceed
    ``MAX_BATCH_PIXELS``). The loader gets no cache and one decoding thread
    (``memory=None``, ``n_jobs=None``), whatever the file says; set them with
    ``set_params`` after loading.

    The digests catch damage, not a deliberate change: whoever can edit the
    folder can record new digests too. See the README's "Reliability" section
    for what loading a folder from an untrusted source does and does not risk.

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
        format version, does not match its recorded digests, names a class the
        format does not rebuild, holds a parameter or fitted value its
        estimator refuses, describes images other than its network takes, or
        its network cannot be read. The message names the file at fault.
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
    meta = _read_meta(meta_file)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFormatError(
            f"{str(meta_file)!r} does not describe a skpneumo model."
        )
    version = meta.get("format_version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise ModelFormatError(
            f"{str(meta_file)!r} uses model format version {_brief(version)} (written "
            f"by skpneumo {_brief(meta.get('skpneumo_version'))}); this skpneumo "
            f"{__version__} reads versions {', '.join(map(str, READABLE_VERSIONS))} only."
        )
    try:
        _check_digests(meta, meta_file, model_file)
    except ModelFormatError:
        raise
    except _DAMAGE as exc:  # a value json.dumps cannot write again
        raise ModelFormatError(f"{str(meta_file)!r} is damaged: {_brief(exc)}") from exc
    try:
        steps, fitted, wrappers = _parse(meta, version)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{str(meta_file)!r}: {exc}") from exc
    except _DAMAGE as exc:
        raise ModelFormatError(
            f"{str(meta_file)!r} is incomplete or damaged: {_brief(exc)}"
        ) from exc
    network = _read_network(model_file)
    try:
        pipeline = Pipeline(steps)
        _check_network(network, pipeline.named_steps, fitted)
        pipeline.named_steps["classifier"]._set_fitted_state(network, **fitted)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{str(meta_file)!r} and {MODEL_FILE}: {exc}") from exc
    except _DAMAGE as exc:
        raise ModelFormatError(
            f"{str(meta_file)!r}: cannot rebuild the classifier: {_brief(exc)}"
        ) from exc
    estimator = pipeline
    wrapper_classes = _wrapper_classes()
    for entry in reversed(wrappers):
        name = entry["class"]
        try:
            estimator = _WRAPPERS[name][1](wrapper_classes[name], entry, estimator)
            _validate_params(estimator)
        except ModelFormatError as exc:
            raise ModelFormatError(f"{str(meta_file)!r}, {name}: {exc}") from exc
        except (*_DAMAGE, ImportError) as exc:
            # ImportError, AttributeError: a scikit-learn whose private calibration
            # or threshold internals changed
            raise ModelFormatError(
                f"{str(meta_file)!r}: cannot rebuild {name}: {_brief(exc)}"
            ) from exc
    return estimator
