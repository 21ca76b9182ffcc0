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

Only the classes in :func:`_step_classes` and ``_wrappers`` (the wrappers and
their calibrators) can be rebuilt, so a doctored JSON file cannot make
``load_model`` instantiate anything else; ``save_model`` refuses any other
class, naming it.
"""

import hashlib
import json
import math
import os
from pathlib import Path

from imblearn.pipeline import Pipeline

from . import __version__, _atomic, _backend, _wrappers
from ._codec import (
    ModelFormatError,
    _brief,
    _decode_dtype,
    _decode_fields,
    _encode,
    _object,
    _validate_params,
    file_sha256,
)
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
    "classifier": {
        "smoothing": 0.0,
        "bn_statistics": "training",
        "test_time_views": (1.0,),
    },
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


def _step_classes():
    from ._classifier import PneumoniaClassifier

    return {
        "ImageLoader": ImageLoader,
        "ZoomOverSampler": ZoomOverSampler,
        "PneumoniaClassifier": PneumoniaClassifier,
    }


def _unwrap(estimator):
    """Split ``estimator`` into its JSON wrapper entries and the pipeline inside.

    Raises
    ------
    ValueError
        Naming the class of a wrapper that cannot be saved, or the steps of a
        pipeline that is not the skpneumo one.
    """
    wrappers, estimator = _wrappers.split(estimator)
    if not hasattr(estimator, "steps"):
        raise ValueError(
            f"save_model cannot save a {type(estimator).__module__}."
            f"{type(estimator).__name__}: it saves the skpneumo pipeline, bare or "
            f"inside {', '.join(sorted(_wrappers.WRAPPERS))}."
        )
    names = [name for name, _ in estimator.steps]
    if names != list(STEPS):
        raise ValueError(
            f"save_model expects a pipeline with the steps {list(STEPS)}; got {names}."
        )
    return wrappers, estimator


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


def _check_step(name, step):
    """Validate a rebuilt step's parameters as its ``fit`` would."""
    _validate_params(step)
    if name == "loader":
        step._check_params()  # the image size's form, besides the constraints
    elif name == "sampler":
        step._check_zoom_range()
    elif name == "classifier":
        step._check_params()  # the fields of view's range, besides the constraints


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
    wrapper_classes = _wrappers._wrapper_classes()
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
    wrapper_classes = _wrappers._wrapper_classes()
    for entry in reversed(wrappers):
        name = entry["class"]
        try:
            estimator = _wrappers.WRAPPERS[name].rebuild(
                wrapper_classes[name], entry, estimator
            )
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
