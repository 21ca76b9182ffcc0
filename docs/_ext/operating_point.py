"""Substitutions for the operating point, read from the code and the measured files.

The threshold page (``docs/user_guide/threshold.rst``) owns the operating
point; its numbers are these substitutions, filled in when the build starts,
so that no page types them by hand (``tests/test_docs.py`` checks that none
does):

``|default_threshold|``
    ``skpneumo._decision.DEFAULT_THRESHOLD``: the threshold of
    ``make_pneumonia_pipeline`` on the default network's raw P(pneumonia).
``|bare_threshold|``
    the default ``threshold`` of a bare ``PneumoniaClassifier`` (0.5).
``|target_sensitivity|``
    ``skpneumo.metrics.TARGET_SENSITIVITY``.
``|bundled_raw_threshold|``, ``|bundled_threshold|``
    ``skpneumo/pretrained/default/provenance.json``: the bundled model's
    threshold on its network's raw probability, and its calibrated value, to
    three decimals (the threshold the bundled model applies to its calibrated
    P(pneumonia)).
``|grouped_held_out_threshold|``, ``|earliest_held_out_threshold|``,
``|grouped_sensitivity|``, ``|grouped_specificity|``,
``|earliest_sensitivity|``, ``|earliest_specificity|``,
``|grouped_n_images|``, ``|earliest_n_images|``
    ``benchmarks/studies/robustness.json`` (the shift benchmark's "new"
    configuration, unshifted held-out images): the threshold the rule gives
    on each split, and the sensitivity and specificity at the default
    threshold. A changed file changes ``rst_epilog``, and Sphinx then
    rereads every page.
``|cv_thresholds|``, ``|cv_pooled_threshold|``
    ``benchmarks/studies/quality.json``: the per-fold thresholds of the
    cross-validation (each chosen on the other folds) and the one chosen on
    all out-of-fold predictions.

A missing benchmark file is a Sphinx warning (an error under ``-W``), and
its substitutions read "(not measured)".
"""

import inspect
import json
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
STUDIES = ROOT / "benchmarks" / "studies"
MISSING = "(not measured)"


def _read_json(path):
    if not path.is_file():
        logger.warning("operating_point: %s not found", path, type="operating_point")
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def substitutions():
    """Return ``{name: text}`` for every substitution of the operating point."""
    from skpneumo import PneumoniaClassifier
    from skpneumo._decision import DEFAULT_THRESHOLD
    from skpneumo._pretrained import pretrained_path
    from skpneumo.metrics import TARGET_SENSITIVITY

    bare = inspect.signature(PneumoniaClassifier).parameters["threshold"].default
    provenance = json.loads(
        (pretrained_path() / "provenance.json").read_text(encoding="utf-8")
    )
    calibration = provenance["calibration"]
    values = {
        "default_threshold": f"{DEFAULT_THRESHOLD:g}",
        "bare_threshold": f"{bare:g}",
        "target_sensitivity": f"{TARGET_SENSITIVITY:g}",
        "bundled_raw_threshold": f"{calibration['raw_threshold']:g}",
        "bundled_threshold": f"{calibration['threshold']:.3f}",
    }
    bench = _read_json(STUDIES / "robustness.json")
    for split in ("grouped", "earliest"):
        if bench is None:
            result = None
        else:
            result = bench["results"][split]["new"]
        original = result["shifts"]["original"] if result else {}
        values[f"{split}_held_out_threshold"] = (
            f"{result['held_out_threshold']:.3f}" if result else MISSING
        )
        for key in ("sensitivity", "specificity"):
            values[f"{split}_{key}"] = f"{original[key]:.3f}" if result else MISSING
        values[f"{split}_n_images"] = (
            f"{result['n_test']} ({result['n_test_normal']} NORMAL)"
            if result
            else MISSING
        )
    quality = _read_json(STUDIES / "quality.json")
    values["cv_thresholds"] = (
        ", ".join(f"{t:.3f}" for t in quality["thresholds"]) if quality else MISSING
    )
    values["cv_pooled_threshold"] = (
        f"{quality['pooled_threshold']:.3f}" if quality else MISSING
    )
    return values


def epilog(values):
    """The ``rst_epilog`` lines that define ``values`` as substitutions."""
    return "\n".join(
        f".. |{name}| replace:: {text}" for name, text in sorted(values.items())
    )


def _add_substitutions(app, config):
    config.rst_epilog = (config.rst_epilog or "") + "\n" + epilog(substitutions())


def setup(app):
    """Append the operating point's substitutions to ``rst_epilog``."""
    app.connect("config-inited", _add_substitutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
