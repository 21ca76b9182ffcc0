"""Specificity under framing shifts when predict_proba averages fields of view.

Fits the configuration once per split of the robustness benchmark (grouped
and earliest, on every other training patient) and keeps each fitted
pipeline in WORK, as the benchmark's ``--models WORK`` does (either loads
the other's). Each single field of
view's log-odds of the held-out images under each framing shift are cached
in WORK/views-CONFIG-SPLIT.npz, so that view sets and ways of combining them
are compared on the same network outputs without another pass. For each
view set it prints the held-out threshold (sensitivity 0.97 on the
unshifted held-out patients: the shifts are checks, not inputs), the
sensitivity and ROC-AUC there, and the specificity under each framing shift.

``mean`` is what ``PneumoniaClassifier(test_time_views=...)`` does: the mean
of the views' log-odds; ``median`` and ``min`` are alternatives to rank.

Usage::

    python -m benchmarks.studies.test_time_views --work /tmp/views --views
        1.0 0.9,1.0 0.8,0.9,1.0,1.1 --combine mean,median
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from benchmarks._common import add_data_argument
from benchmarks.studies import robustness as rb
from skpneumo import ImageLoader
from skpneumo._classifier import _log_odds
from skpneumo.datasets import load_chest_xray
from skpneumo.metrics import threshold_for_sensitivity

FRAMING = [
    "original",
    "sides padded 10% (wider view)",
    "sides padded 35%",
    "zoom out 20% (black border)",
    "zoom in 10% (centre crop)",
    "zoom in 20% (centre crop)",
    "top/bottom cropped 20%",
]
COMBINE = {"mean": np.mean, "median": np.median, "min": np.min}


def view_log_odds(pipe, shifted, views, cache):
    """Log-odds of each shift under each single view: {(shift, view): array}."""
    known = dict(np.load(cache)) if cache.exists() else {}
    for view in views:
        keys = [f"{shift}|{view:g}" for shift in shifted]
        if all(key in known for key in keys):
            continue
        pipe.set_params(classifier__test_time_views=(view,))
        for key, shift in zip(keys, shifted, strict=True):
            p = pipe.predict_proba(shifted[shift])[:, 1].astype(np.float64)
            known[key] = _log_odds(p)
        np.savez(cache, **known)
    return known


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(parser)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--config", default="new")
    parser.add_argument("--views", nargs="+", default=["1.0"])
    parser.add_argument("--combine", default="mean")
    args = parser.parse_args()
    view_sets = [tuple(float(v) for v in s.split(",")) for s in args.views]
    singles = sorted({view for views in view_sets for view in views})
    args.work.mkdir(parents=True, exist_ok=True)

    data = load_chest_xray(args.data / "chest_xray", split="train")
    X = ImageLoader(image_size=224, n_jobs=2).fit_transform(data.paths)
    y = data.target
    for split, splitter in (
        ("grouped", rb.grouped_split),
        ("earliest", rb.earliest_split),
    ):
        train, test = splitter(data)
        pipe, seconds = rb.fitted_pipeline(
            args.config, rb.FULL_SCALE, split, X[train], y[train], args.work
        )
        print(f"{args.config} on {split}: fit {rb._seconds(seconds)} s", flush=True)
        shifted = {s: rb.SHIFTS[s](X[test][..., 0])[..., None] for s in FRAMING}
        cache = args.work / f"views-{args.config}-{split}.npz"
        known = view_log_odds(pipe, shifted, singles, cache)
        yt = y[test]
        for combine in args.combine.split(","):
            for views in view_sets:
                P = {
                    s: 1
                    / (
                        1
                        + np.exp(
                            -COMBINE[combine](
                                [known[f"{s}|{v:g}"] for v in views], axis=0
                            )
                        )
                    )
                    for s in FRAMING
                }
                t = threshold_for_sensitivity(yt, P["original"], 0.97)
                cells = " | ".join(f"{np.mean(P[s][yt == 0] < t):.3f}" for s in FRAMING)
                print(
                    f"| {split} | {combine} | {views} | {t:.3f} "
                    f"| {np.mean(P['original'][yt == 1] >= t):.3f} "
                    f"| {roc_auc_score(yt, P['original']):.4f} | {cells} |",
                    flush=True,
                )
    print(
        "| split | combine | views | threshold | sensitivity | ROC-AUC | "
        + " | ".join(FRAMING)
        + " |"
    )


if __name__ == "__main__":
    main()
