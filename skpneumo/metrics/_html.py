"""A self-contained HTML page of an evaluation: what a person opens to read it.

The page is one ``index.html`` beside the figures it shows, which it names by
relative path, so the folder can be copied, zipped or opened offline: it loads
nothing from the network (no script, no font, no style sheet of its own).
"""

import html
import math
from pathlib import Path

#: The rows of the metrics table: the label shown, and the key of the report.
METRIC_ROWS = (
    ("accuracy", "accuracy"),
    ("precision", "precision"),
    ("recall / sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("balanced accuracy", "balanced_accuracy"),
    ("F1", "f1"),
    ("ROC-AUC", "roc_auc"),
    ("Brier score (lower is better)", "brier"),
    ("ECE (lower is better)", "ece"),
)

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
.figures { display: grid; grid-template-columns: repeat(2, 1fr); gap: 1em; }
figure { margin: 0; } figure img { width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #555; }
.note { font-size: 0.9em; color: #555; }
"""


def _number(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "undefined"
    return f"{value:.4f}"


def _relative(figure, directory):
    path = Path(figure)
    if path.is_absolute():
        try:
            path = path.relative_to(directory)
        except ValueError:
            raise ValueError(
                f"figure {str(figure)!r} is not inside the report folder "
                f"{str(directory)!r}: the page references its figures relatively."
            ) from None
    if ".." in path.parts:
        raise ValueError(
            f"figure {str(figure)!r} is not inside the report folder {str(directory)!r}."
        )
    return path.as_posix()


def write_html_report(report, directory, *, figures=(), description=(), title=None):
    """Write ``index.html``: an evaluation's metrics, intervals and figures.

    The page shows, from the top: the title, the model's description and its
    operating rule, the metrics table with the confidence intervals of
    ``report`` (when it has them), the sensitivity per pneumonia subtype, the
    confusion counts and the figures, two a row. It is self-contained: the
    figures are referenced by paths relative to ``directory`` (they must lie
    inside it) and nothing is loaded from the network.

    Parameters
    ----------
    report : dict
        As returned by :func:`binary_report`, optionally with ``model``,
        ``split``, ``n_images`` and ``decision_rule`` added (as ``skpneumo
        evaluate`` adds them).
    directory : str or os.PathLike
        Folder to write ``index.html`` into; it must exist.
    figures : sequence of (str, str)
        ``(path, caption)`` of each figure, in order of display; a path is
        relative to ``directory`` or inside it.
    description : sequence of (str, str)
        ``(label, text)`` lines that describe the model, shown at the top.
    title : str, default=None
        The page's heading; None makes one from ``report``'s model and split.

    Returns
    -------
    path : pathlib.Path
        The page written.

    Raises
    ------
    ValueError
        If a figure lies outside ``directory``.

    See Also
    --------
    binary_report : The metrics the page shows.

    Examples
    --------
    >>> import tempfile
    >>> from skpneumo.metrics import binary_report, write_html_report
    >>> report = binary_report([0, 0, 1, 1], [0.2, 0.6, 0.7, 0.9], n_bootstraps=0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     page = write_html_report(report, folder, title="Example")
    ...     "<h1>Example</h1>" in page.read_text()
    True
    """
    directory = Path(directory)
    figures = [(_relative(path, directory), caption) for path, caption in figures]
    esc = html.escape
    if title is None:
        title = f"Evaluation of {report.get('model', 'a model')}"
        if "split" in report:
            title += f" on {report['split']}"
    rule = report.get("decision_rule")
    if rule is None and report.get("threshold") is not None:
        rule = f"P(pneumonia) >= {report['threshold']:g}"
    lines = [("operating rule", rule or "the model's own predict")]
    if "n_images" in report:
        counts = f"{report['n_images']}"
        if {"tn", "fp", "fn", "tp"} <= set(report):
            counts += (
                f" ({report['tn'] + report['fp']} NORMAL, "
                f"{report['fn'] + report['tp']} PNEUMONIA)"
            )
        lines.append(("images evaluated", counts))
    lines = list(description) + lines

    ci = report.get("ci")
    level = f"{100 * report.get('confidence_level', 0.95):g}% CI"
    body = [f"<h1>{esc(title)}</h1>", "<dl>"]
    body += [f"<dt>{esc(label)}</dt><dd>{esc(str(text))}</dd>" for label, text in lines]
    body += ["</dl>", "<h2>Metrics</h2>", "<table>"]
    body.append(
        "<tr><th>metric</th><th>value</th>"
        + (f"<th>{esc(level)}</th>" if ci else "")
        + "</tr>"
    )
    for label, key in METRIC_ROWS:
        if key not in report:
            continue
        if key == "ece" and "n_bins" in report:
            label = f"ECE, {report['n_bins']} bins (lower is better)"
        cells = f"<td>{esc(label)}</td><td>{_number(report[key])}</td>"
        if ci:
            low, high = ci[key]
            cells += f"<td>{_number(low)} to {_number(high)}</td>"
        body.append(f"<tr>{cells}</tr>")
    body.append("</table>")
    if ci:
        seed = report.get("random_state")
        body.append(
            f'<p class="note">{esc(level)}: percentile intervals of '
            f"{report.get('n_bootstraps')} bootstrap resamples drawn within each true "
            f"class{'' if seed is None else f', seed {seed}'}.</p>"
        )
    subtypes = report.get("sensitivity_by_subtype")
    if subtypes and set(subtypes) != {"unknown"}:
        body += ["<h2>Sensitivity by pneumonia subtype</h2>", "<table>"]
        body.append(
            "<tr><th>subtype</th><th>images</th><th>predicted PNEUMONIA</th>"
            "<th>sensitivity</th>" + (f"<th>{esc(level)}</th>" if ci else "") + "</tr>"
        )
        for name, entry in subtypes.items():
            row = (
                f"<td>{esc(name)}</td><td>{entry['n']}</td><td>{entry['tp']}</td>"
                f"<td>{_number(entry['sensitivity'])}</td>"
            )
            if ci and "ci" in entry:
                row += (
                    f"<td>{_number(entry['ci'][0])} to {_number(entry['ci'][1])}</td>"
                )
            body.append(f"<tr>{row}</tr>")
        body.append("</table>")
    if {"tn", "fp", "fn", "tp"} <= set(report):
        body += [
            "<h2>Confusion counts</h2>",
            "<table>",
            "<tr><th></th><th>predicted NORMAL</th><th>predicted PNEUMONIA</th></tr>",
            f"<tr><td>true NORMAL</td><td>{report['tn']}</td><td>{report['fp']}</td></tr>",
            f"<tr><td>true PNEUMONIA</td><td>{report['fn']}</td>"
            f"<td>{report['tp']}</td></tr>",
            "</table>",
        ]
    if figures:
        body += ["<h2>Figures</h2>", '<div class="figures">']
        body += [
            f'<figure><img src="{esc(path)}" alt="{esc(caption)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
            for path, caption in figures
        ]
        body.append("</div>")
    return write_page(directory / "index.html", title=title, body=body, style=_STYLE)


def write_page(path, *, title, body, style):
    """Write a self-contained HTML page: ``title``, inline ``style``, ``body`` lines.

    The one page skeleton of skpneumo's reports (the evaluation report and the
    heatmap grid); ``body`` is already HTML, ``title`` is escaped here.
    Returns ``path``.
    """
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{style}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
        ]
    )
    path = Path(path)
    path.write_text(page + "\n", encoding="utf-8")
    return path
