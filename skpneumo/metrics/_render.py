"""Report rendering: an evaluation report as strict JSON and as a Markdown table.

The command line writes what these functions return; scripts may call them too.
"""

import math

from ._html import METRIC_ROWS


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
        (f"ECE, {report['n_bins']} bins (lower is better)", key)
        if key == "ece"
        else (label, key)
        for label, key in METRIC_ROWS
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
