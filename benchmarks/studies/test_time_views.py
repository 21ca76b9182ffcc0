"""Specificity under framing shifts when predict_proba averages fields of view.

Loads the two models that ``tta_fit`` style runs saved (the default recipe
fitted on the robustness benchmark's grouped and earliest splits, saved with
``skpneumo.save_model`` to MODELS/model-CONFIG-SPLIT) and prints, for each
view set, the held-out threshold (sensitivity 0.97 on the unshifted held-out
patients), sensitivity, ROC-AUC and specificity under each framing shift.

Usage::

    python -m benchmarks.studies.test_time_views MODELS CONFIG 1.0,0.9/1.0/1.1
"""

import sys

import numpy as np
from sklearn.metrics import roc_auc_score

from benchmarks.studies import robustness as rb
from skpneumo import ImageLoader
from skpneumo._persistence import load_model
from skpneumo.datasets import load_chest_xray
from skpneumo.metrics import threshold_for_sensitivity

SH = [
    "original",
    "sides padded 10% (wider view)",
    "sides padded 35%",
    "zoom out 20% (black border)",
    "zoom in 10% (centre crop)",
    "zoom in 20% (centre crop)",
    "top/bottom cropped 20%",
]


def main():
    MODELS, CONFIG = sys.argv[1], sys.argv[2]
    VIEWS = [tuple(float(v) for v in s.split("/")) for s in sys.argv[3].split(",")]
    data = load_chest_xray("../shared/data/chest_xray", split="train")
    X = ImageLoader(image_size=224, n_jobs=2).fit_transform(data.paths)[..., 0]
    y = data.target
    for split, fn in (("grouped", rb.grouped_split), ("earliest", rb.earliest_split)):
        _, test = fn(data)
        pipe = load_model(f"{MODELS}/model-{CONFIG}-{split}")
        shifted = {s: rb.SHIFTS[s](X[test])[..., None] for s in SH}
        for views in VIEWS:
            pipe.set_params(classifier__test_time_views=views)
            P = {s: pipe.predict_proba(shifted[s])[:, 1] for s in SH}
            yt = y[test]
            t = threshold_for_sensitivity(yt, P["original"], 0.97)
            cells = [f"{np.mean(P[s][yt == 0] < t):.3f}" for s in SH]
            print(
                split,
                views,
                f"t={t:.3f} sens={np.mean(P['original'][yt == 1] >= t):.3f}",
                f"auc={roc_auc_score(yt, P['original']):.4f}",
                " ".join(cells),
                flush=True,
            )
    print(SH)


if __name__ == "__main__":
    main()
