"""The fitted pipeline that ships inside the package, and how to find it.

The model folder lives in ``skpneumo/pretrained/<name>/`` as package data, in
the pickle-free format of :func:`skpneumo.save_model`; its ``skpneumo.json``
records the SHA-256 of ``model.keras``, which :func:`skpneumo.load_model`
checks. ``benchmarks/maint/train_pretrained.py`` reproduces it, and ``MODEL_CARD.md``
says what it was trained on and how well it does.
"""

import os
from importlib import resources
from pathlib import Path

from ._persistence import META_FILE, ModelFormatError, load_model

#: Name of the bundled model that ``load_pretrained()`` and the command line
#: use when no model is named.
DEFAULT_MODEL = "default"


def pretrained_names():
    """Names of the models bundled with this installation, sorted."""
    root = resources.files(__package__) / "pretrained"
    if not root.is_dir():
        return []
    return sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_dir() and (entry / "skpneumo.json").is_file()
    )


def pretrained_path(name=DEFAULT_MODEL):
    """Folder of the bundled model ``name``.

    Parameters
    ----------
    name : str, default="default"
        One of :func:`pretrained_names`.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ModelFormatError
        If no bundled model has that name (the message lists those that exist).
    """
    names = pretrained_names()
    if name not in names:
        raise ModelFormatError(
            f"No bundled model named {name!r}; this installation of skpneumo "
            f"bundles {names or 'none'}."
        )
    return Path(str(resources.files(__package__) / "pretrained" / name))


def model_location(name):
    """The folder that ``name`` means: a path to a model folder, or a bundled model.

    A ``name`` that exists as a path, or that holds a path separator, is a
    path; any other is looked up among :func:`pretrained_names`. This is how
    the command line reads its ``--model``.

    Parameters
    ----------
    name : str
        A folder path, or a bundled model's name such as ``"default"``.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    FileNotFoundError
        If ``name`` is neither (the message lists the bundled names).
    """
    path = Path(name)
    separators = [os.sep] + ([os.altsep] if os.altsep else [])
    if path.exists() or any(sep in name for sep in separators):
        return path
    names = pretrained_names()
    if name in names:
        return pretrained_path(name)
    raise FileNotFoundError(
        f"No model folder {name!r} and no bundled model of that name; this "
        f"installation bundles {names or 'no model'}."
    )


def load_pretrained(name=DEFAULT_MODEL):
    """Load a fitted model that ships with skpneumo, offline.

    The default model is :func:`make_pneumonia_pipeline` with its defaults,
    fitted on four fifths of the patients of the Kermany et al. (2018)
    pediatric training split; its probabilities are calibrated (sigmoid) on
    the held-out fifth, and its threshold applies to the calibrated
    probability. ``MODEL_CARD.md`` gives its figures and limits. It is for
    research, not for diagnosis.

    Parameters
    ----------
    name : str, default="default"
        Which bundled model; a name that is not bundled raises an error that
        lists those that are.

    Returns
    -------
    model : sklearn.model_selection.FixedThresholdClassifier
        The fitted model: a
        :class:`~sklearn.model_selection.FixedThresholdClassifier`
        around a :class:`~sklearn.calibration.CalibratedClassifierCV` of the
        :class:`~sklearn.frozen.FrozenEstimator`-wrapped pipeline. Call
        ``predict_proba`` or ``predict`` on image paths or arrays.

    Raises
    ------
    ModelFormatError
        If no bundled model has that name, or its files were changed after it
        was saved (the SHA-256 of ``model.keras`` does not match).

    See Also
    --------
    load_model : Load a model folder of your own.

    Examples
    --------
    >>> import skpneumo
    >>> pipe = skpneumo.load_pretrained()  # doctest: +SKIP
    >>> pipe.predict_proba(["xray.jpeg"])[:, 1]  # doctest: +SKIP
    """
    return load_model(pretrained_path(name))


def describe_model(name, model_dir):
    """``(label, text)`` lines that say what the model at ``model_dir`` is.

    Parameters
    ----------
    name : str
        The model as the user named it: a bundled name or a path.
    model_dir : str or os.PathLike
        Its folder, as :func:`model_location` found it.

    Returns
    -------
    lines : list of (str, str)
        The model, the pipeline its ``skpneumo.json`` describes, and where its
        threshold came from when it was tuned (``operating_point.json``).
    """
    import json

    from ._tuning import read_operating_point

    lines = [("model", name if str(model_dir) == name else f"{name} ({model_dir})")]
    meta = json.loads((Path(model_dir) / META_FILE).read_text())
    loader = meta["steps"]["loader"].get("params", {})
    classifier = meta["steps"]["classifier"].get("params", {})
    wrappers = [entry["class"] for entry in meta.get("wrappers", [])]
    lines.append(
        (
            "pipeline",
            f"written by skpneumo {meta.get('skpneumo_version')}; images of "
            f"{loader.get('image_size')} px ({loader.get('resize')}), a "
            f"{classifier.get('n_blocks')}-block CNN of {classifier.get('filters')} "
            "filters" + (f", inside {' in '.join(wrappers)}" if wrappers else ""),
        )
    )
    record = read_operating_point(model_dir)
    if record is not None:
        lines.append(("threshold from", record["summary"]))
    return lines
