"""Quick ablation of augmentation and rebalancing on patient-disjoint held-out images.

Usage::

    python -m benchmarks.studies.ablation [--size 64] [--train 1200] [--test 600] [--epochs 6]

Splits the official training split by patient (70/30, ``GroupShuffleSplit``),
draws ``--train`` training and ``--test`` held-out images, and fits the default
pipeline with one change per variant. Prints ROC-AUC, sensitivity and
specificity at the 0.5 threshold, and the median P(pneumonia) of the held-out
NORMAL images (a calibration symptom: it should be far below 0.5).
"""

import argparse
import time

import numpy as np
from sklearn.model_selection import GroupShuffleSplit

from skpneumo import ImageLoader, make_pneumonia_pipeline
from skpneumo.datasets import load_chest_xray
from skpneumo.metrics import binary_report

VARIANTS = {
    "defaults (zoom over-sampling, in-network augmentation 1.0)": {},
    "in-network augmentation 1.0": {"classifier__augmentation": 1.0},
    "in-network augmentation 0.5": {"classifier__augmentation": 0.5},
    "class weights instead of over-sampling": {
        "sampler": "passthrough",
        "classifier__class_weight": "balanced",
    },
    "no rebalancing": {"sampler": "passthrough"},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default="../shared/data/chest_xray")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--train", type=int, default=1200)
    parser.add_argument("--test", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()

    data = load_chest_xray(args.data_dir, split="train")
    train, test = next(
        GroupShuffleSplit(1, test_size=0.3, random_state=0).split(
            data.paths, data.target, data.groups
        )
    )
    rng = np.random.RandomState(0)
    train = rng.choice(train, args.train, replace=False)
    test = rng.choice(test, args.test, replace=False)
    X = ImageLoader(image_size=args.size, n_jobs=2).fit_transform(data.paths)
    y = data.target
    print(
        f"{args.train} training / {args.test} held-out images (disjoint patients), "
        f"{args.size} px, {args.epochs} epochs\n"
    )
    print(
        "| variant | ROC-AUC | sensitivity@0.5 | specificity@0.5 "
        "| median P(pneumonia) of NORMAL | fit s |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, params in VARIANTS.items():
        pipe = make_pneumonia_pipeline(
            image_size=args.size, classifier__epochs=args.epochs, random_state=0
        )
        pipe.set_params(**params)
        start = time.perf_counter()
        pipe.fit(X[train], y[train])
        seconds = time.perf_counter() - start
        proba = pipe.predict_proba(X[test])[:, 1]
        r = binary_report(y[test], proba, n_bootstraps=0)
        print(
            f"| {name} | {r['roc_auc']:.3f} | {r['sensitivity']:.3f} | {r['specificity']:.3f} "
            f"| {np.median(proba[y[test] == 0]):.3f} | {seconds:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
