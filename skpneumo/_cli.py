"""The ``skpneumo`` command line: train, evaluate and predict.

Every error that the user can fix (a bad argument, a missing folder or split, an
unreadable image or model) ends the command with exit code 2 and one line on
stderr, never a traceback.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

from ._backend import import_keras_quietly

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def _probability(text):
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


_DATA_HELP = (
    "DATA is a folder in the Kaggle layout (SPLIT/NORMAL, SPLIT/PNEUMONIA) or a CSV "
    "manifest: a path ending in .csv whose header names the columns path,label and "
    "optionally patient (labels NORMAL/PNEUMONIA or 0/1, paths relative to the CSV's "
    "folder)."
)
_MODEL_HELP = (
    "MODEL (--model) is a model folder written by `skpneumo train` or save_model, or "
    "the name of a model bundled with skpneumo; without it, the bundled 'default' "
    "model is used."
)


def build_parser():
    """The argument parser of the ``skpneumo`` command."""
    parser = _Parser(
        prog="skpneumo",
        description="Detect pneumonia in chest X-rays: train, evaluate and predict.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )

    train = commands.add_parser(
        "train",
        help="fit the default pipeline on DATA and save it as a model folder",
        description="Fit the default pipeline on DATA and save it as a model folder. "
        f"{_DATA_HELP} A folder's train split is used; a manifest is used whole. With "
        "--calibrate, a fifth of the patients is held out of the fit (stratified by "
        "class, drawn with --random-state) and the model's probabilities are calibrated "
        "on it with scikit-learn's CalibratedClassifierCV. The saved model keeps the "
        "pipeline's operating point: it predicts PNEUMONIA when its calibrated probability "
        "reaches the calibrated value of the threshold (FixedThresholdClassifier).",
    )
    train.add_argument(
        "data",
        metavar="DATA",
        type=Path,
        help="Kaggle-layout folder, or CSV manifest (.csv)",
    )
    train.add_argument(
        "--output",
        "-o",
        required=True,
        type=Path,
        metavar="MODEL",
        help="model folder to write; an existing model folder or empty folder is "
        "replaced, anything else is refused unless --overwrite is given",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace whatever is at --output, even a file or a folder that is "
        "not a model (never the training data or the current folder)",
    )
    train.add_argument(
        "--image-size",
        type=_positive_int,
        default=None,
        help="image side in pixels (default: the pipeline's)",
    )
    train.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="training epochs (default: the pipeline's)",
    )
    train.add_argument(
        "--threshold",
        type=_probability,
        default=None,
        help="operating threshold on the network's P(pneumonia) (default: "
        "the pipeline's, chosen on held-out patients; with --calibrate, "
        "carried over to the calibrated probability)",
    )
    train.add_argument(
        "--calibrate",
        action="store_true",
        help="fit on four fifths of the patients and calibrate "
        "P(pneumonia) on the other fifth",
    )
    train.add_argument(
        "--calibration-method",
        choices=["sigmoid", "isotonic"],
        default="sigmoid",
        help="with --calibrate: 'sigmoid' (default; two parameters, "
        "stable on a few hundred held-out images, and monotonic, so the "
        "ROC-AUC is unchanged) or 'isotonic' (any monotonic shape, but it "
        "needs about a thousand held-out images and ties probabilities)",
    )
    train.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    train.add_argument("--n-jobs", type=int, default=2, help="image decoding threads")
    train.add_argument("--quiet", "-q", action="store_true", help="no progress output")

    evaluate = commands.add_parser(
        "evaluate",
        help="report metrics and plots of a model on DATA",
        description="Evaluate a model on DATA and write metrics.json, "
        "metrics.md (each metric with its bootstrap confidence interval, the Brier "
        "score, the expected calibration error and the sensitivity per pneumonia "
        "subtype), roc_curve.png, precision_recall_curve.png, calibration_curve.png "
        "and confusion_matrix.png into the report folder. "
        f"{_DATA_HELP} {_MODEL_HELP} Labels come from the model's own predict (its "
        "threshold, or its calibrated rule), which the report names. The older form "
        "`skpneumo evaluate MODEL_DIR DATA` still works, with a deprecation note.",
    )
    evaluate.add_argument(
        "data",
        metavar="DATA",
        type=Path,
        help="Kaggle-layout folder, or CSV manifest (.csv)",
    )
    # the deprecated form `evaluate MODEL DATA`: the first positional was the model
    evaluate.add_argument("legacy_data", nargs="?", type=Path, help=argparse.SUPPRESS)
    evaluate.add_argument(
        "--model",
        "-m",
        metavar="MODEL",
        default=None,
        help="model folder or bundled model name (default: the "
        "bundled 'default' model)",
    )
    evaluate.add_argument(
        "--split",
        default=None,
        choices=["train", "val", "test"],
        help="split of a Kaggle-layout DATA folder (default: test); "
        "not for a manifest, which is evaluated whole",
    )
    evaluate.add_argument(
        "--report",
        "-r",
        required=True,
        type=Path,
        metavar="OUT_DIR",
        help="report folder to write; an existing report folder or empty folder is "
        "replaced, anything else is refused unless --overwrite is given",
    )
    evaluate.add_argument(
        "--overwrite",
        action="store_true",
        help="replace whatever is at --report, even a file or a folder that is "
        "not a report (never the data, the model or the current folder)",
    )
    evaluate.add_argument(
        "--n-jobs", type=int, default=2, help="image decoding threads"
    )
    evaluate.add_argument(
        "--n-bootstraps",
        type=_non_negative_int,
        default=1000,
        help="stratified bootstrap resamples of the 95%% confidence "
        "intervals, seeded with 0 (default: 1000; 0: no intervals)",
    )

    predict = commands.add_parser(
        "predict",
        help="print P(pneumonia) and the label of images",
        description="Print, for each image (folders are searched recursively), its "
        "path, P(pneumonia) and predicted label, as CSV (default) or JSON. Labels "
        "come from the model's own predict (its threshold, or its calibrated rule), "
        f"which a line on stderr names. {_MODEL_HELP} The older form `skpneumo "
        "predict MODEL_DIR IMAGE_OR_DIR...` still works, with a deprecation note.",
    )
    predict.add_argument("inputs", metavar="IMAGE_OR_DIR", nargs="+", type=Path)
    predict.add_argument(
        "--model",
        "-m",
        metavar="MODEL",
        default=None,
        help="model folder or bundled model name (default: the "
        "bundled 'default' model)",
    )
    predict.add_argument(
        "--json", action="store_true", help="print JSON instead of CSV"
    )
    predict.add_argument("--n-jobs", type=int, default=2, help="image decoding threads")
    return parser


def _train(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._persistence import is_model_folder, save_model
    from ._pipeline import make_pneumonia_pipeline
    from .metrics import plot_history

    data, source = _load_data(args.data, "train", need_groups=args.calibrate)
    # before any training: a refusal after an hour of it helps nobody
    replacing = _check_output(
        args.output,
        "--output",
        "model folder",
        is_model_folder,
        overwrite=args.overwrite,
        inputs=[("the training data", [args.data, *data.paths])],
    )
    if replacing:
        _say(args, f"{str(args.output)!r} is {replacing}; it will be replaced")
    import_keras_quietly()
    overrides = {
        key: value
        for key, value in (
            ("image_size", args.image_size),
            ("epochs", args.epochs),
            ("threshold", args.threshold),
        )
        if value is not None
    }
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)
    pipeline = make_pneumonia_pipeline(
        random_state=args.random_state, n_jobs=args.n_jobs, verbose=verbose, **overrides
    )
    if args.calibrate:
        model = _fit_calibrated(
            pipeline,
            data,
            method=args.calibration_method,
            random_state=args.random_state,
            say=lambda text: _say(args, text),
        )
    else:
        _say(args, f"Training on {_counts(data.target)} of {source}")
        model = pipeline.fit(data.paths, data.target)
    # progress output is for the training run, not for whoever loads the model
    pipeline.set_params(loader__verbose=0, classifier__verbose=0)
    figure = plt.figure(figsize=(10, 4))
    plot_history(
        pipeline.named_steps["classifier"].history_, axes=figure.subplots(1, 2)
    )
    figure.tight_layout()
    # the curves go into the folder before it is moved into place: the model
    # and its curves appear together, or neither does
    model_dir = save_model(
        model,
        args.output,
        overwrite=args.overwrite,
        extra_files={CURVES_FILE: lambda path: figure.savefig(path, dpi=100)},
    )
    plt.close(figure)
    print(
        f"Model written to {model_dir}"
        + (f" (it replaced {replacing})" if replacing else "")
    )
    print(f"Training curves written to {model_dir / CURVES_FILE}")
    return 0


#: What ``skpneumo train`` writes beside the model.
CURVES_FILE = "training_curves.png"


def _check_output(path, option, what, replaceable, *, overwrite, inputs):
    """Refuse an output path before any work, or say what it will replace.

    ``path`` may be replaced only if it is missing, an empty folder or
    ``replaceable`` (a folder skpneumo wrote), or with ``overwrite``; it may
    never be one of the ``inputs`` (``(name, paths)`` pairs: the data, the
    model) nor hold one, since replacing it would delete them.

    Returns
    -------
    replacing : str
        What is at ``path`` and will be replaced ("a model folder", ...), or
        "" when nothing is.
    """
    from . import _atomic

    target = Path(os.path.realpath(path))
    for name, paths in inputs:
        holders = set()
        for item in paths:
            item = Path(os.path.realpath(item))
            holders.add(item)
            holders.update(item.parents)
        if target in holders:
            raise ValueError(
                f"{option} {str(path)!r} is or holds {name}, which writing it would "
                f"delete; name another {what}."
            )
    _atomic.check_destination(
        path,
        what=what,
        replaceable=replaceable,
        overwrite=overwrite,
        hint="--overwrite",
    )
    if not os.path.lexists(path):
        return ""
    if path.is_dir() and not any(path.iterdir()):
        return "an empty folder"
    if replaceable(path):
        return f"a {what}"
    kind = "a folder" if path.is_dir() else "a file"
    return f"{kind}, as --overwrite asked"


def _counts(target):
    return (
        f"{len(target)} images ({int((target == 0).sum())} NORMAL, "
        f"{int((target == 1).sum())} PNEUMONIA)"
    )


#: The share of patients that ``train --calibrate`` holds out: one fold of five.
CALIBRATION_FOLDS = 5


def _fit_calibrated(pipeline, data, *, method, random_state, say=print):
    """Fit ``pipeline`` on most patients and calibrate it on the others.

    One fold of a :class:`~sklearn.model_selection.StratifiedGroupKFold` with
    ``CALIBRATION_FOLDS`` folds, shuffled with ``random_state``, is held out: a
    fifth of the patients, none of whose images the network sees, with about
    the class balance of the whole. The pipeline is fitted on the rest; then
    ``CalibratedClassifierCV(FrozenEstimator(pipeline), method=method)`` is
    fitted on the held-out images, which only fits the calibrator. The result
    is wrapped in a ``FixedThresholdClassifier`` at the calibrated value of the
    pipeline's threshold, so that the model calls PNEUMONIA the images the
    pipeline would: calibration changes what the probabilities mean, not the
    operating point.

    Parameters
    ----------
    pipeline : imblearn.pipeline.Pipeline
        An unfitted skpneumo pipeline.
    data : sklearn.utils.Bunch
        ``paths``, ``target`` and ``groups``, as the dataset loaders return.
    method : {"sigmoid", "isotonic"}
        The calibration.
    random_state : int
        Seeds which patients are held out.
    say : callable, default=print
        Receives the progress messages.

    Returns
    -------
    model : sklearn.model_selection.FixedThresholdClassifier
        Around the fitted ``CalibratedClassifierCV``, itself around the fitted
        ``pipeline``.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    n_patients = len(set(data.groups))
    if n_patients < CALIBRATION_FOLDS:
        raise ValueError(
            f"--calibrate holds out a fifth of the patients, but the data has only "
            f"{n_patients}; it needs at least {CALIBRATION_FOLDS}."
        )
    folds = StratifiedGroupKFold(
        CALIBRATION_FOLDS, shuffle=True, random_state=random_state
    )
    fit_part, held_out = next(folds.split(data.paths, data.target, data.groups))
    if len(set(data.target[held_out].tolist())) < 2:
        raise ValueError(
            f"--calibrate held out {len(held_out)} images of a single class; the "
            "calibration needs both: use more patients of each class."
        )
    say(
        f"Training on {_counts(data.target[fit_part])} of "
        f"{len(set(data.groups[fit_part]))} patients"
    )
    pipeline.fit(data.paths[fit_part], data.target[fit_part])
    say(
        f"Calibrating ({method}) on {_counts(data.target[held_out])} of the "
        f"{len(set(data.groups[held_out]))} patients held out"
    )
    return _calibrate_fitted(
        pipeline, data.paths[held_out], data.target[held_out], method=method, say=say
    )


def _calibrate_fitted(pipeline, X, y, *, method, say=print):
    """Calibrate a fitted pipeline on images it never saw, keeping its threshold.

    Returns ``FixedThresholdClassifier(CalibratedClassifierCV(FrozenEstimator(
    pipeline), method=method).fit(X, y), threshold=...)``; see
    :func:`_fit_calibrated`.
    """
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=method)
    calibrated.fit(X, y)
    # Keep the pipeline's operating point. The calibrator maps the
    # classifier's decision_function, the log-odds measured from the
    # threshold, so the threshold sits at score 0; the map is increasing, so
    # its value there separates the same images (isotonic maps a range of
    # scores to one value, so it can also call PNEUMONIA a few images just
    # below the threshold that share it).
    (calibrator,) = calibrated.calibrated_classifiers_[0].calibrators
    raw = float(pipeline.named_steps["classifier"].threshold)
    below, at = np.asarray(calibrator.predict(np.array([-1.0, 0.0]))).ravel()
    if below > at:
        raise ValueError(
            "The calibration map is decreasing: on the held-out patients the network "
            "ranks NORMAL images above PNEUMONIA ones, so its probabilities cannot be "
            "calibrated. Train it longer or on more images."
        )
    threshold = float(at)
    say(
        f"Operating threshold {raw:g} on the network's probability is "
        f"{threshold:.4f} on the calibrated one"
    )
    return FixedThresholdClassifier(
        calibrated, threshold=threshold, response_method="predict_proba"
    )


def _load_data(location, split, *, need_groups=True):
    """The images and labels at ``location``, and a name for them.

    A path ending in ``.csv`` is a manifest (:func:`~skpneumo.datasets.load_manifest`),
    anything else a Kaggle-layout folder, of which ``split`` is read.
    """
    import warnings

    from .datasets import load_chest_xray, load_manifest

    with warnings.catch_warnings():
        if not need_groups:
            # patients only matter to a grouped split; elsewhere the warning is noise
            warnings.filterwarnings(
                "ignore", message=r".*name no patient", category=UserWarning
            )
        if location.suffix.lower() == ".csv":
            return load_manifest(location), f"the manifest {location}"
        return load_chest_xray(location, split=split), str(location / split)


def _model_location(name):
    """The folder of MODEL: a path to a model folder, or a bundled model's name."""
    from ._pretrained import pretrained_names, pretrained_path

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


def _deprecated_positional_model(args, model):
    print(
        f"skpneumo {args.command}: note: MODEL as the first argument is deprecated and "
        f"will be removed; write `skpneumo {args.command} --model {model} ...`.",
        file=sys.stderr,
    )


def _is_model_folder(path):
    from ._persistence import META_FILE

    return (path / META_FILE).is_file()


def _predict_images(model, paths, *, n_jobs):
    """P(pneumonia) and the label of each image, with each image decoded once.

    Labels come from ``model.predict``, the one owner of the decision rule
    (the classifier's threshold, a FixedThresholdClassifier's or a tuned one,
    or a calibrated model's argmax). The pipeline's own loader decodes the
    files into arrays first; given arrays of its output size it passes them
    through, so ``predict_proba`` and ``predict`` do not decode them again.

    Returns
    -------
    proba : ndarray of shape (n_samples,)
        ``model.predict_proba(X)[:, 1]``.
    labels : ndarray of shape (n_samples,)
        ``model.predict(X)``, in ``model.classes_``.
    """
    from ._persistence import _inner_pipeline

    loader = _inner_pipeline(model).named_steps["loader"]
    loader.set_params(n_jobs=n_jobs)
    images = loader.transform([str(p) for p in paths])
    return model.predict_proba(images)[:, 1], model.predict(images)


def _evaluate(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import _atomic
    from ._persistence import _decision_rule, load_model
    from ._pretrained import DEFAULT_MODEL
    from .metrics import (
        binary_report,
        plot_calibration_curve,
        plot_confusion_matrix,
        plot_precision_recall_curve,
        plot_roc_curve,
    )

    model_name, location = args.model, args.data
    if args.legacy_data is not None:
        if args.model is not None:
            raise ValueError(
                f"unexpected argument {str(args.legacy_data)!r}: with --model, give DATA only."
            )
        model_name, location = str(args.data), args.legacy_data
        _deprecated_positional_model(args, model_name)
    model_name = model_name or DEFAULT_MODEL
    model_dir = _model_location(model_name)
    if location.suffix.lower() == ".csv":
        if args.split is not None:
            raise ValueError(
                f"--split picks a split of a Kaggle-layout folder, but {str(location)!r} "
                "is a manifest, which is evaluated whole: leave --split out."
            )
        args.split = location.name  # what the report and the plot titles call the data
    else:
        args.split = args.split or "test"
    data, _ = _load_data(location, args.split, need_groups=False)
    replacing = _check_output(
        args.report,
        "--report",
        "report folder",
        _is_report_folder,
        overwrite=args.overwrite,
        inputs=[("the data", [location, *data.paths]), ("the model", [model_dir])],
    )
    import_keras_quietly()
    model = load_model(model_dir)
    proba, labels = _predict_images(model, data.paths, n_jobs=args.n_jobs)
    # binary_report counts PNEUMONIA as 1, whatever labels the model was fitted with
    y_pred = (labels == model.classes_[1]).astype(int)
    threshold, rule = _decision_rule(model)
    report = binary_report(
        data.target,
        proba,
        threshold=threshold,
        y_pred=y_pred,
        subtype=data.subtype,
        n_bootstraps=args.n_bootstraps,
    )
    report.update(
        split=args.split,
        n_images=int(len(data.target)),
        model=model_name,
        decision_rule=rule,
    )

    # the whole report is written beside --report and moved into place at once:
    # a failure or an interrupt leaves the previous report, never a mix of two
    with _atomic.replacing(
        args.report,
        what="report folder",
        replaceable=_is_report_folder,
        overwrite=args.overwrite,
        hint="--overwrite",
    ) as out:
        # an undefined metric (NaN) is written as null: NaN is not JSON, and strict
        # parsers (JavaScript's, Go's, jq's) reject the file
        (out / "metrics.json").write_text(
            json.dumps(_json_ready(report), indent=2, allow_nan=False) + "\n"
        )
        table = _markdown_table(report)
        (out / "metrics.md").write_text(table)

        figure, ax = plt.subplots(figsize=(5, 5))
        plot_roc_curve(data.target, proba, ax=ax)
        ax.set_title(f"ROC curve, {args.split} split")
        figure.savefig(out / "roc_curve.png", dpi=100, bbox_inches="tight")
        figure, ax = plt.subplots(figsize=(5, 5))
        plot_precision_recall_curve(data.target, proba, ax=ax)
        ax.set_title(f"Precision-recall curve of PNEUMONIA, {args.split} split")
        figure.savefig(out / "precision_recall_curve.png", dpi=100, bbox_inches="tight")
        figure, ax = plt.subplots(figsize=(5, 5))
        # the same bins as the report's ECE, so the plot shows what it averages
        plot_calibration_curve(data.target, proba, ax=ax, n_bins=report["n_bins"])
        ax.set_title(f"Calibration curve, {args.split} split (ECE {report['ece']:.3f})")
        figure.savefig(out / "calibration_curve.png", dpi=100, bbox_inches="tight")
        figure, ax = plt.subplots(figsize=(5.5, 4.5))
        plot_confusion_matrix(data.target, y_pred, ax=ax)
        ax.set_title(f"Normalised confusion matrix, threshold {threshold:.3f}")
        figure.savefig(out / "confusion_matrix.png", dpi=100, bbox_inches="tight")
        plt.close("all")
    print(table, end="")
    print(
        f"Report written to {args.report} ({', '.join(REPORT_FILES)})"
        + (f"; it replaced {replacing}" if replacing else "")
    )
    return 0


#: The files of a report folder, as ``skpneumo evaluate`` writes them.
REPORT_FILES = (
    "metrics.json",
    "metrics.md",
    "roc_curve.png",
    "precision_recall_curve.png",
    "calibration_curve.png",
    "confusion_matrix.png",
)


def _is_report_folder(path):
    """Whether ``path`` is a report folder: ``metrics.json`` and other report files only."""
    try:
        entries = list(path.iterdir())
        names = {entry.name for entry in entries}
        return (
            "metrics.json" in names
            and names <= set(REPORT_FILES)
            and all(entry.is_file() for entry in entries)
        )
    except OSError:  # not a folder, or not readable
        return False


def _json_ready(value):
    """``value`` with every non-finite float replaced by None, for strict JSON."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _markdown_table(report):
    rows = [
        ("accuracy", "accuracy"),
        ("precision", "precision"),
        ("recall / sensitivity", "sensitivity"),
        ("specificity", "specificity"),
        ("balanced accuracy", "balanced_accuracy"),
        ("F1", "f1"),
        ("ROC-AUC", "roc_auc"),
        ("Brier score (lower is better)", "brier"),
        (f"ECE, {report['n_bins']} bins (lower is better)", "ece"),
    ]
    ci = report.get("ci")
    threshold = report["threshold"]
    rule = report.get("decision_rule") or (
        "labels from the model" if threshold is None else f"threshold {threshold:.3f}"
    )
    lines = [
        f"Evaluation of {report['model']} on the {report['split']} split "
        f"({report['n_images']} images), {rule}",
        "",
    ]
    if ci:
        level = f"{100 * report['confidence_level']:g}% CI"
        lines += [f"| metric | value | {level} |", "| --- | --- | --- |"]
        lines += [
            f"| {label} | {report[key]:.4f} | {_interval(ci[key])} |"
            for label, key in rows
        ]
        seed = report["random_state"]
        lines += [
            "",
            f"{level}: percentile intervals of {report['n_bootstraps']} bootstrap "
            "resamples drawn within each true class"
            + ("" if seed is None else f", seed {seed}")
            + ".",
        ]
    else:
        lines += ["| metric | value |", "| --- | --- |"]
        lines += [f"| {label} | {report[key]:.4f} |" for label, key in rows]
    subtypes = report.get("sensitivity_by_subtype")
    if subtypes and set(subtypes) != {"unknown"}:  # a manifest names no subtype
        header = "| PNEUMONIA subtype | images | predicted PNEUMONIA | sensitivity |"
        lines += [
            "",
            header + (f" {level} |" if ci else ""),
            "| --- " * (5 if ci else 4) + "|",
        ]
        lines += [
            f"| {name} | {entry['n']} | {entry['tp']} | {entry['sensitivity']:.4f} |"
            + (f" {_interval(entry['ci'])} |" if ci else "")
            for name, entry in subtypes.items()
        ]
    lines += [
        "",
        "| | predicted NORMAL | predicted PNEUMONIA |",
        "| --- | --- | --- |",
        f"| true NORMAL | {report['tn']} | {report['fp']} |",
        f"| true PNEUMONIA | {report['fn']} | {report['tp']} |",
    ]
    return "\n".join(lines) + "\n"


def _interval(bounds):
    low, high = bounds
    return f"{low:.4f} to {high:.4f}"


def _image_files(inputs):
    from .datasets._chest_xray import IMAGE_SUFFIXES

    files = []
    for item in inputs:
        if item.is_dir():
            found = sorted(
                p
                for p in item.rglob("*")
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not found:
                raise FileNotFoundError(f"Folder {str(item)!r} holds no images.")
            files += found
        elif item.exists():
            files.append(item)
        else:
            raise FileNotFoundError(f"No such image or folder: {str(item)!r}")
    return files


def _predict(args):
    from ._persistence import _decision_rule, load_model
    from ._pretrained import DEFAULT_MODEL

    model_name, inputs = args.model, args.inputs
    if model_name is None and _is_model_folder(inputs[0]):
        # the deprecated form `predict MODEL_DIR IMAGE_OR_DIR...`
        model_name, inputs = str(inputs[0]), inputs[1:]
        _deprecated_positional_model(args, model_name)
        if not inputs:
            raise ValueError(f"no IMAGE_OR_DIR given after the model {model_name!r}.")
    model_dir = _model_location(model_name or DEFAULT_MODEL)
    files = _image_files(inputs)
    import_keras_quietly()
    model = load_model(model_dir)
    proba, labels = _predict_images(model, files, n_jobs=args.n_jobs)
    print(f"skpneumo predict: labels by {_decision_rule(model)[1]}", file=sys.stderr)
    names = {0: "NORMAL", 1: "PNEUMONIA"}
    labels = [names.get(label, str(label)) for label in labels.tolist()]
    rows = [
        {"path": str(f), "p_pneumonia": float(p), "label": label}
        for f, p, label in zip(files, proba, labels, strict=True)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        import csv

        writer = csv.DictWriter(
            sys.stdout, fieldnames=["path", "p_pneumonia", "label"], lineterminator="\n"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow(dict(row, p_pneumonia=f"{row['p_pneumonia']:.6f}"))
    return 0


def _say(args, message):
    if not getattr(args, "quiet", False):
        print(message, flush=True)


def _identity(path):
    """What is at ``path`` (its device and inode), or None; a new folder differs."""
    if path is None:
        return None
    try:
        stat = os.lstat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _interrupted(command, destination, before):
    """The line that says what an interrupted command left at its destination.

    skpneumo moves a complete folder into place with one rename, so the
    destination is either as it was or the new folder in full: whether it is
    the same file-system entry tells which.
    """
    if destination is None:
        return f"skpneumo {command}: interrupted; nothing was written."
    where = repr(str(destination))
    if _identity(destination) != before:
        return (
            f"skpneumo {command}: interrupted after {where} was written in full; "
            "it holds the new output."
        )
    if before is None:
        return f"skpneumo {command}: interrupted; nothing was written to {where}."
    return f"skpneumo {command}: interrupted; {where} was left as it was."


def main(argv=None):
    """Run the ``skpneumo`` command; returns its exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"train": _train, "evaluate": _evaluate, "predict": _predict}
    from ._image import ImageLoadError
    from ._persistence import ModelFormatError

    destination = {"train": "output", "evaluate": "report"}.get(args.command)
    destination = destination and getattr(args, destination)
    before = _identity(destination)
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print(_interrupted(args.command, destination, before), file=sys.stderr)
        return EXIT_INTERRUPTED
    except (OSError, ValueError, ImageLoadError, ModelFormatError) as exc:
        message = " ".join(str(exc).split())
        print(f"skpneumo {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
