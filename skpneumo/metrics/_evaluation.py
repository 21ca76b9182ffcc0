"""A fitted model's evaluation on labelled images, and the report folder it fills.

:func:`model_report` is the report of ``skpneumo evaluate`` and of the
held-out patients of ``skpneumo train``; :func:`write_report_folder` writes
the folder of ``skpneumo evaluate`` (:data:`REPORT_FILES`) whole or not at all.
"""

import json

from .. import _atomic
from .._decision import decision_rule
from .._predict import scoring_once
from ._html import write_html_report
from ._render import _json_ready, _markdown_table
from ._report import (
    binary_report,
    plot_calibration_curve,
    plot_confusion_matrix,
    plot_precision_recall_curve,
    plot_roc_curve,
)

#: The files of a report folder, as ``skpneumo evaluate`` writes them.
REPORT_FILES = (
    "index.html",
    "metrics.json",
    "metrics.md",
    "roc_curve.png",
    "precision_recall_curve.png",
    "calibration_curve.png",
    "confusion_matrix.png",
)

REPORT_FIGURES = (
    ("roc_curve.png", "ROC curve"),
    ("precision_recall_curve.png", "Precision-recall curve of PNEUMONIA"),
    ("calibration_curve.png", "Calibration curve"),
    ("confusion_matrix.png", "Confusion matrix, normalised per true class"),
)


@scoring_once()
def model_report(
    estimator, X, y, *, subtype=None, n_bootstraps=1000, random_state=0, **fields
):
    """The :func:`binary_report` of ``estimator`` on ``X``, labels by its own rule.

    Labels come from ``estimator.predict``; the report names its rule
    (``decision_rule``) after the ``fields`` added to it. The network scores
    each image once for both (:func:`skpneumo._predict.scoring_once`).

    Returns
    -------
    report : dict
        The report, with ``fields`` and ``decision_rule`` added.
    proba : ndarray of shape (n_samples,)
        ``estimator.predict_proba(X)[:, 1]``.
    y_pred : ndarray of shape (n_samples,)
        1 where ``estimator`` predicts PNEUMONIA, else 0.
    """
    proba = estimator.predict_proba(X)[:, 1]
    # binary_report counts PNEUMONIA as 1, whatever labels the model was fitted with
    y_pred = (estimator.predict(X) == estimator.classes_[1]).astype(int)
    threshold, rule = decision_rule(estimator)
    report = binary_report(
        y,
        proba,
        threshold=threshold,
        y_pred=y_pred,
        subtype=subtype,
        n_bootstraps=n_bootstraps,
        random_state=random_state,
    )
    report.update(fields, decision_rule=rule)
    return report, proba, y_pred


def summary_line(report):
    """A report's ROC-AUC, sensitivity, specificity and ECE on one line."""
    return (
        ", ".join(
            f"{name} {report[key]:.3f}"
            for name, key in (
                ("ROC-AUC", "roc_auc"),
                ("sensitivity", "sensitivity"),
                ("specificity", "specificity"),
                ("ECE", "ece"),
            )
        )
        + f" ({report['n_images']} images, {report['decision_rule']})"
    )


def is_report_folder(path):
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


def write_report_folder(
    path, report, y, proba, y_pred, *, split, description, overwrite, hint
):
    """Write the report folder of an evaluation: metrics, figures and index.html.

    The folder is written beside ``path`` and moved into place at once
    (:func:`skpneumo._atomic.replacing`): a failure or an interrupt leaves the
    previous report, never a mix of two. An existing ``path`` is replaced when
    it is empty or :func:`is_report_folder`, or with ``overwrite``.

    Parameters
    ----------
    path : os.PathLike
        The report folder.
    report : dict
        As :func:`model_report` returns it, with ``model`` and ``split``.
    y, proba, y_pred : ndarray of shape (n_samples,)
        The true labels, P(pneumonia) and predicted labels, for the figures.
    split : str
        What the figures' titles call the data.
    description : sequence of (str, str)
        ``(label, text)`` lines that say what the model is, for index.html.
    overwrite : bool
        Replace whatever is at ``path``.
    hint : str
        How the user asks to overwrite, for the message.

    Returns
    -------
    table : str
        The report as the Markdown table of ``metrics.md``.
    """
    # figures outside pyplot: no backend is chosen and no figure of the
    # caller's is touched
    from matplotlib.figure import Figure

    with _atomic.replacing(
        path,
        what="report folder",
        replaceable=is_report_folder,
        overwrite=overwrite,
        hint=hint,
    ) as out:
        # an undefined metric (NaN) is written as null: NaN is not JSON, and strict
        # parsers (JavaScript's, Go's, jq's) reject the file
        (out / "metrics.json").write_text(
            json.dumps(_json_ready(report), indent=2, allow_nan=False) + "\n"
        )
        table = _markdown_table(report)
        (out / "metrics.md").write_text(table)

        figure = Figure(figsize=(5, 5))
        ax = figure.subplots()
        plot_roc_curve(y, proba, ax=ax)
        ax.set_title(f"ROC curve, {split} split")
        figure.savefig(out / "roc_curve.png", dpi=100, bbox_inches="tight")
        figure = Figure(figsize=(5, 5))
        ax = figure.subplots()
        plot_precision_recall_curve(y, proba, ax=ax)
        ax.set_title(f"Precision-recall curve of PNEUMONIA, {split} split")
        figure.savefig(out / "precision_recall_curve.png", dpi=100, bbox_inches="tight")
        figure = Figure(figsize=(5, 5))
        ax = figure.subplots()
        # the same bins as the report's ECE, so the plot shows what it averages
        plot_calibration_curve(y, proba, ax=ax, n_bins=report["n_bins"])
        ax.set_title(f"Calibration curve, {split} split (ECE {report['ece']:.3f})")
        figure.savefig(out / "calibration_curve.png", dpi=100, bbox_inches="tight")
        figure = Figure(figsize=(5.5, 4.5))
        ax = figure.subplots()
        plot_confusion_matrix(y, y_pred, ax=ax)
        ax.set_title(
            f"Normalised confusion matrix, threshold {report['threshold']:.3f}"
        )
        figure.savefig(out / "confusion_matrix.png", dpi=100, bbox_inches="tight")
        write_html_report(report, out, figures=REPORT_FIGURES, description=description)
    return table
