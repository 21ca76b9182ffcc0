"""scikit-learn's post-fit wrappers, known in one place.

A skpneumo model is the pipeline, bare or inside
:class:`~sklearn.model_selection.FixedThresholdClassifier`,
:class:`~sklearn.model_selection.TunedThresholdClassifierCV`,
:class:`~sklearn.calibration.CalibratedClassifierCV` and
:class:`~sklearn.frozen.FrozenEstimator`. :data:`WRAPPERS` says, for each,
where it keeps the fitted estimator it wraps, how it is described in
``skpneumo.json`` and rebuilt from it (the adapters below touch scikit-learn's
fitted internals, and only here), and which decision rule it applies (the
rules are in ``_decision``). Persistence, the command line and the heatmaps
walk a model with :func:`split`, :func:`inner_pipeline` and :func:`peel`.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import _decision
from ._codec import (
    ModelFormatError,
    _brief,
    _decode,
    _decode_fields,
    _encode,
    _encode_state,
    _object,
    _real,
    _real_vector,
    _validate_params,
)


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


class Wrapper(NamedTuple):
    """What skpneumo knows of one post-fit wrapper class."""

    #: Where the fitted estimator inside is kept, in the order looked up.
    inner: tuple
    #: ``describe(wrapper)``: its JSON entry and the fitted estimator inside.
    describe: Callable
    #: ``rebuild(cls, entry, inner)``: the wrapper again, around ``inner``.
    rebuild: Callable
    #: ``rule(wrapper)``: ``(threshold, text)`` of its ``predict``; None when
    #: it predicts as the estimator inside does.
    rule: Callable | None


WRAPPERS = {
    "FixedThresholdClassifier": Wrapper(
        ("estimator_", "estimator"),
        _describe_fixed,
        _rebuild_fixed,
        _decision._fixed_rule,
    ),
    "TunedThresholdClassifierCV": Wrapper(
        ("estimator_",), _describe_tuned, _rebuild_tuned, _decision._tuned_rule
    ),
    "CalibratedClassifierCV": Wrapper(
        ("estimator",),
        _describe_calibrated,
        _rebuild_calibrated,
        _decision._calibrated_rule,
    ),
    "FrozenEstimator": Wrapper(("estimator",), _describe_frozen, _rebuild_frozen, None),
}


def known(estimator):
    """The :data:`WRAPPERS` entry of ``estimator``'s exact class, or None.

    By exact class, not by name or ``hasattr``: FrozenEstimator forwards
    ``steps`` to its pipeline, and a subclass may predict differently from the
    class that is rebuilt.
    """
    name = type(estimator).__name__
    if _wrapper_classes().get(name) is type(estimator):
        return WRAPPERS[name]
    return None


def split(estimator):
    """The JSON entries of the wrappers around ``estimator``, and what they wrap.

    Returns ``(entries, inner)``: one entry per wrapper, outermost first, and
    the estimator inside the innermost (the pipeline, for a skpneumo model).
    """
    entries = []
    while (wrapper := known(estimator)) is not None:
        entry, inner = wrapper.describe(estimator)
        entries.append({"class": type(estimator).__name__, **entry})
        estimator = inner
    return entries, estimator


def inner_pipeline(estimator):
    """The skpneumo pipeline inside any of the wrappers ``load_model`` rebuilds."""
    _, inner = split(estimator)
    if not hasattr(inner, "steps"):
        raise ValueError(
            f"{type(inner).__name__} is no pipeline: a skpneumo model is the "
            f"pipeline, bare or inside {', '.join(sorted(WRAPPERS))}."
        )
    return inner


def peel(estimator):
    """The estimator inside searches and post-fit wrappers, and the outermost one.

    Unlike :func:`split` it needs no saveable state: it steps through a
    fitted search (``best_estimator_``) too. Returns ``(inner, wrapper)``:
    ``wrapper`` is the outermost post-fit wrapper (whose ``predict`` is the
    model's decision), or None when there is none.
    """
    outermost = None
    while True:
        if hasattr(estimator, "best_estimator_"):  # a fitted GridSearchCV and alike
            estimator = estimator.best_estimator_
            continue
        wrapper = known(estimator)
        if wrapper is None:
            return estimator, outermost
        if outermost is None and wrapper.rule is not None:
            outermost = estimator
        for attribute in wrapper.inner:
            if hasattr(estimator, attribute):
                estimator = getattr(estimator, attribute)
                break
        else:
            raise TypeError(
                f"estimator holds an unfitted {type(estimator).__name__}: fit it first."
            )
