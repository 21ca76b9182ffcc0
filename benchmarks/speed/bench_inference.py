"""Prediction throughput of a fitted pipeline on the CPU: file paths and arrays.

Fits ``make_pneumonia_pipeline(image_size=128)`` with the default network (4
blocks, 16 filters) for 1 epoch on a small subset of the 224-px training images,
only to have a model, then times ``predict_proba`` on other images of the
training split

* given as file paths: decoding the 224-px JPEGs and resizing them to 128 px
  is included;
* given as uint8 arrays already at 128 px: the loader passes them through, so
  this is the network alone (plus the pipeline's checks).

The loader's own time on the paths (``ImageLoader.transform``) is measured too,
to show how the first figure splits. The three are timed in rounds of rotating
order, and the median of each is reported.

Run from the repository root::

    python -m benchmarks.speed.bench_inference

Options: ``--n-images`` (images predicted, default 512), ``--n-train``
(default 64), ``--size`` (default 128), ``--n-jobs`` (decoding threads,
default 2), ``--rounds`` (default 3), ``--data``.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._common import add_data_argument, timed


def split_paths(data, n_train, n_images):
    """Interleave the two classes; the first ``n_train`` train, the next are predicted."""
    folder = Path(data) / "chest_xray" / "train"
    normal = sorted(str(p) for p in (folder / "NORMAL").glob("*.jpeg"))
    pneumonia = sorted(str(p) for p in (folder / "PNEUMONIA").glob("*.jpeg"))
    if not normal or not pneumonia:
        sys.exit(f"No images under {folder}; pass --data.")
    paths = [p for pair in zip(normal, pneumonia, strict=False) for p in pair]
    labels = np.array(["NORMAL", "PNEUMONIA"] * (len(paths) // 2))
    if n_train + n_images > len(paths):
        sys.exit(f"Only {len(paths)} images available.")
    train = slice(0, n_train)
    test = slice(n_train, n_train + n_images)
    return paths[train], labels[train], paths[test]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--n-images", type=int, default=512)
    parser.add_argument("--n-train", type=int, default=64)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import keras

    from skpneumo import make_pneumonia_pipeline

    train_paths, y_train, paths = split_paths(args.data, args.n_train, args.n_images)
    pipe = make_pneumonia_pipeline(
        image_size=args.size,
        classifier__epochs=1,
        n_jobs=args.n_jobs,
        random_state=0,
    )
    start = time.perf_counter()
    pipe.fit(train_paths, y_train)
    fit_s = time.perf_counter() - start
    loader = pipe.named_steps["loader"]
    arrays = loader.transform(paths)  # uint8, already at the model's size
    pipe.predict_proba(paths[:64])  # warm-up: traces the predict function

    contenders = {
        "predict_proba(paths)": lambda: pipe.predict_proba(paths),
        "predict_proba(uint8 arrays)": lambda: pipe.predict_proba(arrays),
        "loader alone on paths": lambda: loader.transform(paths),
    }
    names = list(contenders)
    load_before = os.getloadavg()[0]
    times = {name: [] for name in names}
    for round_ in range(args.rounds):
        for name in names[round_ % 3 :] + names[: round_ % 3]:
            times[name].append(timed(contenders[name])[0])

    n = len(paths)
    clf = pipe.named_steps["classifier"]
    print(
        f"pipeline: image_size={args.size}, n_blocks={clf.n_blocks}, "
        f"filters={clf.filters}, batch_size={clf.batch_size}, "
        f"{clf.model_.count_params()} weights, backend {keras.backend.backend()}, "
        f"fitted on {args.n_train} images for 1 epoch in {fit_s:.1f} s"
    )
    print(
        f"predicting {n} 224-px training JPEGs; loader n_jobs={args.n_jobs}; "
        f"cpus: {os.cpu_count()}, rounds: {args.rounds} (rotating order, median), "
        f"1-min load average before: {load_before:.2f}"
    )
    for name in names:
        median = statistics.median(times[name])
        print(
            f"{name:<28}: {n / median:7.1f} images/s  (median {median:.2f} s; "
            f"all {[round(t, 2) for t in times[name]]})"
        )


if __name__ == "__main__":
    main()
