"""The ``skpneumo`` command line: train, evaluate and predict.

Every error that the user can fix (a bad argument, a missing folder or split, an
unreadable image or model) ends the command with exit code 2 and one line on
stderr, never a traceback.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from . import _atomic
from ._backend import import_keras_quietly
from ._calibration import _counts
from ._training import VALIDATION_FILE, VALIDATION_FRACTION

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


def _add_model_argument(parser):
    parser.add_argument(
        "--model",
        "-m",
        metavar="MODEL",
        default=None,
        help="model folder or bundled model name (default: the bundled 'default' "
        "model)",
    )


def build_parser():
    """The argument parser of the ``skpneumo`` command."""
    parser = _Parser(
        prog="skpneumo",
        description="Detect pneumonia in chest X-rays: predict, evaluate, tune, explain "
        "and train.",
        epilog="Example: skpneumo predict xray.jpeg",
    )
    from . import __version__

    parser.add_argument(
        "--version", action="version", version=f"skpneumo {__version__}"
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        parser_class=_Parser,
        # the order a user meets them in
        metavar="{predict,evaluate,tune,explain,train}",
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
        epilog="Example: skpneumo train chest_xray --output model --calibrate",
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
        "--validation-fraction",
        type=_validation_fraction,
        default=VALIDATION_FRACTION,
        metavar="F",
        help="share of the patients held out of the fit (stratified by class, drawn "
        "with --random-state): their loss, ROC-AUC and accuracy are printed after "
        "every epoch and drawn beside the training curves, and the final model's "
        f"figures on them are saved as {VALIDATION_FILE} in the model folder "
        f"(default: {VALIDATION_FRACTION}; 0: none, every patient is trained on)",
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
        "threshold, or its calibrated rule), which the report names.",
        epilog="Example: skpneumo evaluate chest_xray --split test --report report",
    )
    evaluate.add_argument(
        "data",
        metavar="DATA",
        type=Path,
        help="Kaggle-layout folder, or CSV manifest (.csv)",
    )
    _add_model_argument(evaluate)
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
        "path, P(pneumonia), predicted label and quality flags (empty, or why the "
        "image cannot be a frontal chest X-ray), as CSV (default) or JSON. Labels "
        "come from the model's own predict (its threshold, or its calibrated rule), "
        f"which a line on stderr names. {_MODEL_HELP}",
        epilog="Example: skpneumo predict --model model xray1.jpeg folder_of_xrays/",
    )
    predict.add_argument("inputs", metavar="IMAGE_OR_DIR", nargs="+", type=Path)
    _add_model_argument(predict)
    predict.add_argument(
        "--json", action="store_true", help="print JSON instead of CSV"
    )
    predict.add_argument("--n-jobs", type=int, default=2, help="image decoding threads")
    predict.add_argument(
        "--quality",
        choices=["warn", "raise", "ignore"],
        default="warn",
        help="input-quality check of each image (blank, tiny, colour, inverted, "
        "rotated...): 'warn' (default) predicts every image and names in the "
        "quality column why one cannot be a frontal chest X-ray (its P(pneumonia) is "
        "then unreliable); 'raise' refuses such images; 'ignore' skips the check",
    )
    _add_tune_parser(commands)
    _add_explain_parser(commands)
    return parser


def _open_probability(text):
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _add_tune_parser(commands):
    from ._tuning import MIN_IMAGES_PER_CLASS

    tune = commands.add_parser(
        "tune",
        help="choose the operating threshold on a site's own labelled images",
        description="Choose the model's operating threshold on a site's own "
        "labelled images, and save the model at it as a new model folder that "
        "predict, evaluate and load_model read like any other. The threshold is "
        "the highest whose sensitivity reaches --sensitivity (default 0.95), the "
        "lowest whose specificity reaches --specificity, or that of the largest "
        "Youden's J (--youden). With --calibrate, P(pneumonia) is first "
        "re-calibrated on the images (CalibratedClassifierCV), its Brier score and "
        "ECE reported cross-fitted over five patient folds. The old and the new "
        "operating point are printed side by side with bootstrap 95%% intervals "
        "of their sensitivity and specificity, resampling patients. The folder "
        "records in operating_point.json where its threshold came from, how many "
        f"images of each class chose it, and the intervals. Below "
        f"{MIN_IMAGES_PER_CLASS} NORMAL or PNEUMONIA images a warning gives the "
        f"interval's width. {_DATA_HELP} {_MODEL_HELP}",
        epilog="Example: skpneumo tune site.csv --sensitivity 0.95 --output site_model",
    )
    tune.add_argument(
        "data",
        metavar="DATA",
        type=Path,
        help="Kaggle-layout folder, or CSV manifest (.csv)",
    )
    _add_model_argument(tune)
    tune.add_argument(
        "--output",
        "-o",
        required=True,
        type=Path,
        metavar="MODEL_OUT",
        help="model folder to write (an existing non-empty one only with --overwrite)",
    )
    tune.add_argument(
        "--split",
        default=None,
        choices=["train", "val", "test"],
        help="split of a Kaggle-layout DATA folder (default: val); not for a manifest",
    )
    aim = tune.add_mutually_exclusive_group()
    aim.add_argument(
        "--sensitivity",
        type=_open_probability,
        default=None,
        help="target sensitivity (default: 0.95)",
    )
    aim.add_argument(
        "--specificity", type=_open_probability, default=None, help="target specificity"
    )
    aim.add_argument(
        "--youden",
        action="store_true",
        help="maximise sensitivity + specificity - 1",
    )
    tune.add_argument(
        "--calibrate",
        choices=["sigmoid", "isotonic"],
        default=None,
        help="re-calibrate P(pneumonia) on DATA first",
    )
    tune.add_argument(
        "--n-bootstraps",
        type=_positive_int,
        default=1000,
        help="bootstrap resamples of the 95%% intervals (default: 1000)",
    )
    tune.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    tune.add_argument(
        "--overwrite", action="store_true", help="replace an existing MODEL_OUT"
    )
    tune.add_argument("--n-jobs", type=int, default=2, help="image decoding threads")


def _add_explain_parser(commands):
    explain = commands.add_parser(
        "explain",
        help="draw heatmaps of what the model looked at, and an index.html",
        description="For each image (folders are searched recursively), write a PNG "
        "of the X-ray as the network sees it with a heatmap over it: Grad-CAM "
        "(default) or an occlusion map, for the class the model predicts, titled "
        "with P(pneumonia) and the label; and index.html, all of them in a grid. "
        "The folder is written beside OUT_DIR and moved into place when complete; "
        f"an existing non-empty OUT_DIR is replaced only with --overwrite. {_MODEL_HELP}",
        epilog="Example: skpneumo explain xray1.jpeg folder_of_xrays/ --output heatmaps",
    )
    explain.add_argument("inputs", metavar="IMAGE_OR_DIR", nargs="+", type=Path)
    explain.add_argument("--output", "-o", required=True, type=Path, metavar="OUT_DIR")
    _add_model_argument(explain)
    explain.add_argument(
        "--method",
        choices=["grad-cam", "occlusion"],
        default="grad-cam",
        help="the heatmap (default: grad-cam; occlusion works on every backend "
        "but predicts once per patch position)",
    )
    explain.add_argument(
        "--overwrite", action="store_true", help="replace an existing OUT_DIR"
    )
    explain.add_argument("--n-jobs", type=int, default=2, help="image decoding threads")


def _validation_fraction(text):
    value = float(text)
    if not 0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"must be between 0 and 0.5, got {text}")
    return value


def _model(args):
    """The model that ``--model`` names (the bundled default without it), and its folder."""
    from ._pretrained import DEFAULT_MODEL, model_location

    name = args.model or DEFAULT_MODEL
    return name, model_location(name)


def _split(args, default, used):
    """The split of a Kaggle-layout DATA folder (``default`` without ``--split``).

    None for a manifest, which is ``used`` whole: ``--split`` is refused there.
    """
    if args.data.suffix.lower() != ".csv":
        return args.split or default
    if args.split is not None:
        raise ValueError(
            f"--split picks a split of a Kaggle-layout folder, but {str(args.data)!r} "
            f"is a manifest, which is {used} whole: leave --split out."
        )
    return None


def _train(args):
    from ._persistence import is_model_folder
    from ._pipeline import make_pneumonia_pipeline
    from ._training import CURVES_FILE, train_and_save
    from .datasets._source import load_data

    need_groups = args.calibrate or args.validation_fraction > 0
    data, source = load_data(args.data, "train", need_groups=need_groups)
    # before any training: a refusal after an hour of it helps nobody
    replacing = _atomic.check_output(
        args.output,
        "--output",
        "model folder",
        is_model_folder,
        overwrite=args.overwrite,
        hint="--overwrite",
        inputs=[("the training data", [args.data, *data.paths])],
    )
    if replacing:
        _say(args, f"{str(args.output)!r} is {replacing}; it will be replaced")
    import_keras_quietly()
    overrides = {
        key: value
        for key, value in (
            ("image_size", args.image_size),
            ("classifier__epochs", args.epochs),
            ("threshold", args.threshold),
        )
        if value is not None
    }
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)
    pipeline = make_pneumonia_pipeline(
        random_state=args.random_state, n_jobs=args.n_jobs, verbose=verbose, **overrides
    )
    model_dir = train_and_save(
        pipeline,
        data,
        args.output,
        source=source,
        validation_fraction=args.validation_fraction,
        calibrate=args.calibrate,
        calibration_method=args.calibration_method,
        random_state=args.random_state,
        overwrite=args.overwrite,
        verbose=0 if args.quiet else 1,
        say=lambda message: _say(args, message),
        purpose="--validation-fraction",
    )
    print(
        f"Model written to {model_dir}"
        + (f" (it replaced {replacing})" if replacing else "")
    )
    print(f"Training curves written to {model_dir / CURVES_FILE}")
    return 0


def _is_model_folder(path):
    from ._persistence import META_FILE

    return (path / META_FILE).is_file()


def _evaluate(args):
    from ._persistence import load_model
    from ._predict import decode_images
    from ._pretrained import describe_model
    from .datasets._source import load_data
    from .metrics._evaluation import (
        REPORT_FILES,
        is_report_folder,
        model_report,
        write_report_folder,
    )

    (model_name, model_dir), location = _model(args), args.data
    # a manifest is named by its file in the report and the plot titles
    args.split = _split(args, "test", "evaluated") or location.name
    data, _ = load_data(location, args.split, need_groups=False)
    replacing = _atomic.check_output(
        args.report,
        "--report",
        "report folder",
        is_report_folder,
        overwrite=args.overwrite,
        hint="--overwrite",
        inputs=[("the data", [location, *data.paths]), ("the model", [model_dir])],
    )
    import_keras_quietly()
    model = load_model(model_dir)
    report, proba, y_pred = model_report(
        model,
        decode_images(model, data.paths, n_jobs=args.n_jobs),
        data.target,
        subtype=data.subtype,
        n_bootstraps=args.n_bootstraps,
        split=args.split,
        n_images=len(data.target),
        model=model_name,
    )
    table = write_report_folder(
        args.report,
        report,
        data.target,
        proba,
        y_pred,
        split=args.split,
        description=describe_model(model_name, model_dir),
        overwrite=args.overwrite,
        hint="--overwrite",
    )
    print(table, end="")
    print(
        f"Report written to {args.report} ({', '.join(REPORT_FILES)})"
        + (f"; it replaced {replacing}" if replacing else "")
    )
    return 0


def _predict(args):
    from ._decision import decision_rule
    from ._persistence import load_model
    from ._predict import predict_images
    from .datasets._source import image_files

    _, model_dir = _model(args)
    for item in args.inputs:
        if _is_model_folder(item):
            raise ValueError(f"{str(item)!r} is a model folder: give it with --model.")

    def note(message):
        print(f"skpneumo predict: {message}", file=sys.stderr)

    files = image_files(args.inputs, say=note)
    import_keras_quietly()
    model = load_model(model_dir)
    proba, labels, flags = predict_images(
        model, files, n_jobs=args.n_jobs, quality=args.quality
    )
    note(f"labels by {decision_rule(model)[1]}")
    n_flagged = sum(bool(found) for found in flags)
    if n_flagged:
        note(
            f"{n_flagged} of {len(files)} image(s) cannot be frontal chest X-rays; "
            "their P(pneumonia) is unreliable (the quality column says why)"
        )
    names = {0: "NORMAL", 1: "PNEUMONIA"}
    labels = [names.get(label, str(label)) for label in labels.tolist()]
    rows = [
        {
            "path": str(f),
            "p_pneumonia": float(p),
            "label": label,
            "quality": "; ".join(found),
        }
        for f, p, label, found in zip(files, proba, labels, flags, strict=True)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        import csv

        writer = csv.DictWriter(
            sys.stdout,
            fieldnames=["path", "p_pneumonia", "label", "quality"],
            lineterminator="\n",
        )
        writer.writeheader()
        for row in rows:
            writer.writerow(dict(row, p_pneumonia=f"{row['p_pneumonia']:.6f}"))
    return 0


def _tune(args):
    import warnings

    from ._persistence import is_model_folder, load_model
    from ._predict import decode_images
    from ._tuning import (
        operating_points_table,
        save_tuned_model,
        tune_operating_point,
    )
    from .datasets._source import load_data

    model_name, model_dir = _model(args)
    replacing = _atomic.check_output(
        args.output,
        "--output",
        "model folder",
        is_model_folder,
        overwrite=args.overwrite,
        hint="--overwrite",
        inputs=[("the model being tuned", [model_dir]), ("the data", [args.data])],
    )
    data, source = load_data(args.data, _split(args, "val", "used"))
    if args.youden:
        criterion, target = "youden", None
    elif args.specificity is not None:
        criterion, target = "specificity", args.specificity
    else:
        criterion = "sensitivity"
        target = 0.95 if args.sensitivity is None else args.sensitivity
    import_keras_quietly()
    model = load_model(model_dir)
    print(f"Tuning {model_name} on {_counts(data.target)} of {source}", flush=True)
    images = decode_images(model, data.paths, n_jobs=args.n_jobs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tuned, record = tune_operating_point(
            model,
            images,
            data.target,
            data.groups,
            criterion=criterion,
            target=target,
            calibrate=args.calibrate,
            n_bootstraps=args.n_bootstraps,
            random_state=args.random_state,
        )
    for warning in caught:
        if warning.category.__name__ == "SmallSampleWarning":
            print(f"skpneumo tune: warning: {warning.message}", file=sys.stderr)
    record.update(model=model_name, data=source)
    save_tuned_model(tuned, record, args.output, overwrite=args.overwrite)
    print(operating_points_table(record), end="")
    print(
        f"Model written to {args.output}"
        + (f"; it replaced {replacing}" if replacing else "")
    )
    return 0


def _explain(args):
    from ._persistence import load_model
    from .datasets._source import image_files
    from .inspection._explain import _never, write_explanation_folder

    model_name, model_dir = _model(args)
    files = image_files(args.inputs)
    _atomic.check_output(
        args.output,
        "--output",
        "heatmap folder",
        _never,
        overwrite=args.overwrite,
        hint="--overwrite",
        inputs=[("the images", [*args.inputs, *files]), ("the model", [model_dir])],
    )
    import_keras_quietly()
    model = load_model(model_dir)
    try:
        rows = write_explanation_folder(
            model,
            files,
            args.output,
            overwrite=args.overwrite,
            hint="--overwrite",
            method=args.method.replace("-", "_"),
            n_jobs=args.n_jobs,
            title=f"Heatmaps of {model_name}",
        )
    except NotImplementedError as exc:  # Grad-CAM on a backend without gradients
        raise ValueError(f"{exc} Use --method occlusion.") from exc
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["path", "p_pneumonia", "label", "picture"])
    for row in rows:
        writer.writerow(
            [row["path"], f"{row['p_pneumonia']:.6f}", row["label"], row["picture"]]
        )
    print(
        f"{len(rows)} pictures and index.html written to {args.output}", file=sys.stderr
    )
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
    handlers = {
        "train": _train,
        "evaluate": _evaluate,
        "predict": _predict,
        "tune": _tune,
        "explain": _explain,
    }
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
