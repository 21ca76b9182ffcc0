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


def _probability(text):
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def build_parser():
    """The argument parser of the ``skpneumo`` command."""
    parser = _Parser(
        prog="skpneumo",
        description="Detect pneumonia in chest X-rays: train, evaluate and predict.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser(
        "train",
        help="fit the default pipeline on DATA_DIR/train",
        description="Fit the default pipeline on DATA_DIR/train (Kaggle layout: "
        "train/NORMAL, train/PNEUMONIA) and save it as a model folder.",
    )
    train.add_argument("data_dir", metavar="DATA_DIR", type=Path)
    train.add_argument("--output", "-o", required=True, type=Path, metavar="MODEL",
                       help="model folder to write (replaced if it exists)")
    train.add_argument("--image-size", type=_positive_int, default=None,
                       help="image side in pixels (default: the pipeline's)")
    train.add_argument("--epochs", type=_positive_int, default=None,
                       help="training epochs (default: the pipeline's)")
    train.add_argument("--threshold", type=_probability, default=None,
                       help="operating threshold on P(pneumonia) (default: the pipeline's, "
                       "chosen by grouped cross-validation)")
    train.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    train.add_argument("--n-jobs", type=int, default=2, help="image decoding threads")
    train.add_argument("--quiet", "-q", action="store_true", help="no progress output")

    evaluate = commands.add_parser(
        "evaluate",
        help="report metrics and plots of MODEL on a split of DATA_DIR",
        description="Evaluate MODEL on DATA_DIR/SPLIT and write metrics.json, "
        "metrics.md, roc_curve.png and confusion_matrix.png into the report folder.",
    )
    evaluate.add_argument("model", metavar="MODEL", type=Path)
    evaluate.add_argument("data_dir", metavar="DATA_DIR", type=Path)
    evaluate.add_argument("--split", default="test", choices=["train", "val", "test"])
    evaluate.add_argument("--report", "-r", required=True, type=Path, metavar="OUT_DIR")
    evaluate.add_argument("--n-jobs", type=int, default=2, help="image decoding threads")

    predict = commands.add_parser(
        "predict",
        help="print P(pneumonia) and the label of images",
        description="Print, for each image (folders are searched recursively), its "
        "path, P(pneumonia) and predicted label, as CSV (default) or JSON.",
    )
    predict.add_argument("model", metavar="MODEL", type=Path)
    predict.add_argument("inputs", metavar="IMAGE_OR_DIR", nargs="+", type=Path)
    predict.add_argument("--json", action="store_true", help="print JSON instead of CSV")
    predict.add_argument("--n-jobs", type=int, default=2, help="image decoding threads")
    return parser


def _train(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._persistence import save_model
    from ._pipeline import make_pneumonia_pipeline
    from .datasets import load_chest_xray
    from .metrics import plot_history

    data = load_chest_xray(args.data_dir, split="train")
    _import_backend_quietly()
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
    _say(args, f"Training on {len(data.paths)} images of {args.data_dir / 'train'} "
               f"({int((data.target == 0).sum())} NORMAL, {int(data.target.sum())} PNEUMONIA)")
    pipeline.fit(data.paths, data.target)
    # progress output is for the training run, not for whoever loads the model
    pipeline.set_params(loader__verbose=0, classifier__verbose=0)
    model_dir = save_model(pipeline, args.output)
    figure = plt.figure(figsize=(10, 4))
    plot_history(pipeline.named_steps["classifier"].history_, axes=figure.subplots(1, 2))
    figure.tight_layout()
    curves = model_dir / "training_curves.png"
    figure.savefig(curves, dpi=100)
    print(f"Model written to {model_dir}")
    print(f"Training curves written to {curves}")
    return 0


def _evaluate(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._persistence import load_model
    from .datasets import load_chest_xray
    from .metrics import binary_report, plot_confusion_matrix, plot_roc_curve

    data = load_chest_xray(args.data_dir, split=args.split)
    _import_backend_quietly()
    pipeline = load_model(args.model)
    pipeline.set_params(loader__n_jobs=args.n_jobs)
    proba = pipeline.predict_proba(data.paths)[:, 1]
    threshold = pipeline.named_steps["classifier"].threshold
    report = binary_report(data.target, proba, threshold=threshold)
    report.update(split=args.split, n_images=int(len(data.target)), model=str(args.model))

    out = args.report
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    table = _markdown_table(report)
    (out / "metrics.md").write_text(table)

    figure, ax = plt.subplots(figsize=(5, 5))
    plot_roc_curve(data.target, proba, ax=ax)
    ax.set_title(f"ROC curve, {args.split} split")
    figure.savefig(out / "roc_curve.png", dpi=100, bbox_inches="tight")
    figure, ax = plt.subplots(figsize=(5.5, 4.5))
    plot_confusion_matrix(data.target, (proba >= threshold).astype(int), ax=ax)
    ax.set_title(f"Normalised confusion matrix, threshold {threshold:.3f}")
    figure.savefig(out / "confusion_matrix.png", dpi=100, bbox_inches="tight")
    print(table, end="")
    print(
        f"Report written to {out} "
        "(metrics.json, metrics.md, roc_curve.png, confusion_matrix.png)"
    )
    return 0


def _markdown_table(report):
    rows = [
        ("accuracy", "accuracy"),
        ("precision", "precision"),
        ("recall / sensitivity", "sensitivity"),
        ("specificity", "specificity"),
        ("F1", "f1"),
        ("ROC-AUC", "roc_auc"),
    ]
    lines = [
        f"Evaluation of {report['model']} on the {report['split']} split "
        f"({report['n_images']} images), threshold {report['threshold']:.3f}",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    lines += [f"| {label} | {report[key]:.4f} |" for label, key in rows]
    lines += [
        "",
        "| | predicted NORMAL | predicted PNEUMONIA |",
        "| --- | --- | --- |",
        f"| true NORMAL | {report['tn']} | {report['fp']} |",
        f"| true PNEUMONIA | {report['fn']} | {report['tp']} |",
    ]
    return "\n".join(lines) + "\n"


def _image_files(inputs):
    from .datasets._chest_xray import IMAGE_SUFFIXES

    files = []
    for item in inputs:
        if item.is_dir():
            found = sorted(
                p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
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
    from ._persistence import load_model

    files = _image_files(args.inputs)
    _import_backend_quietly()
    pipeline = load_model(args.model)
    pipeline.set_params(loader__n_jobs=args.n_jobs)
    proba = pipeline.predict_proba([str(f) for f in files])[:, 1]
    classifier = pipeline.named_steps["classifier"]
    labels = classifier.classes_[(proba >= classifier.threshold).astype(int)]
    names = {0: "NORMAL", 1: "PNEUMONIA"}
    labels = [names.get(label, str(label)) for label in labels.tolist()]
    rows = [
        {"path": str(f), "p_pneumonia": float(p), "label": label}
        for f, p, label in zip(files, proba, labels)
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


def _import_backend_quietly():
    """Import Keras (and its backend) with the C++ start-up log silenced.

    TensorFlow's native code prints oneDNN and CUDA notices straight to file
    descriptor 2 when it loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; they
    would bury the command's own output and one-line errors.
    """
    if "keras" in sys.modules:
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401

        keras.backend.backend()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _say(args, message):
    if not getattr(args, "quiet", False):
        print(message, flush=True)


def main(argv=None):
    """Run the ``skpneumo`` command; returns its exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"train": _train, "evaluate": _evaluate, "predict": _predict}
    from ._image import ImageLoadError
    from ._persistence import ModelFormatError

    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("skpneumo: interrupted; nothing was written to the output path.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (OSError, ValueError, ImageLoadError, ModelFormatError) as exc:
        message = " ".join(str(exc).split())
        print(f"skpneumo {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
