"""Wall time of a grid search with and without ImageLoader's decoded-image cache.

A ``GridSearchCV`` with 3 folds x 2 candidates (plus the refit) over
``make_pneumonia_pipeline`` loads every image 10 times: once per fold as training
or test data, per candidate, and once more in the refit. With
``memory=<folder>`` each file is decoded once and read back from the cache
after that. The classifier is tiny (1 block of 4 filters, 1 epoch) and the
images are full-size files loaded at 64 px, so decoding is a large part of the
work; with a real network the saving is the same number of seconds but a
smaller fraction. Besides each search's wall time, the seconds spent inside
``ImageLoader.transform`` (decoding, or reading the cache) are reported.

Three searches run in order and each is timed: without the cache, with a cold
(empty) cache, and again with the now warm cache (as a second experiment on
the same files would). With ``--rounds 2`` the whole sequence is repeated in
reverse order and the median is reported.

Run from the repository root::

    python -m benchmarks.speed.bench_cache

Options: ``--n-images`` (default 200), ``--size`` (default 64), ``--n-jobs``
(decoding threads, default 1), ``--rounds`` (default 1), ``--data``.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from benchmarks._common import add_data_argument
from skpneumo import ImageLoader, make_pneumonia_pipeline


def sample(data, n_images):
    """The first ``n_images`` full-size files, both classes in their proportion."""
    folder = Path(data) / "chest_xray_fullsize_sample"
    by_class = {
        c: sorted(str(p) for p in (folder / c).glob("*.jpeg"))
        for c in ("NORMAL", "PNEUMONIA")
    }
    total = sum(len(v) for v in by_class.values())
    if total == 0:
        sys.exit(f"No images under {folder}; pass --data.")
    paths, labels = [], []
    for label, files in by_class.items():
        take = files[: round(n_images * len(files) / total)]
        paths += take
        labels += [label] * len(take)
    return paths, np.array(labels)


class _LoadTimer:
    """Add up the seconds spent in ImageLoader.transform (decoding or cache reads)."""

    def __init__(self):
        self.seconds = 0.0
        self._transform = ImageLoader.transform
        timer = self

        def transform(loader, X):
            start = time.perf_counter()
            try:
                return timer._transform(loader, X)
            finally:
                timer.seconds += time.perf_counter() - start

        ImageLoader.transform = transform

    def close(self):
        ImageLoader.transform = self._transform


def grid_search(paths, y, size, n_jobs, memory):
    """Run the search; return its wall time and the part spent loading images."""
    pipe = make_pneumonia_pipeline(
        image_size=size,
        classifier__epochs=1,
        classifier__n_blocks=1,
        classifier__filters=4,
        classifier__batch_size=64,
        n_jobs=n_jobs,
        memory=memory,
        random_state=0,
    )
    search = GridSearchCV(
        pipe,
        {"classifier__dropout": [0.0, 0.5]},
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
        scoring="roc_auc",
    )
    timer = _LoadTimer()
    try:
        start = time.perf_counter()
        search.fit(paths, y)
        return time.perf_counter() - start, timer.seconds
    finally:
        timer.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--n-images", type=int, default=200)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)

    paths, y = sample(args.data, args.n_images)
    work = Path(tempfile.mkdtemp(prefix="bench_cache_"))
    try:
        # warm-up: imports, TensorFlow's start-up and the page cache
        grid_search(
            paths[:12] + paths[-12:],
            np.r_[y[:12], y[-12:]],
            args.size,
            args.n_jobs,
            None,
        )
        load_before = os.getloadavg()[0]
        times = {"no cache": [], "cold cache": [], "warm cache": []}
        loading = {name: [] for name in times}
        for round_ in range(args.rounds):
            cache = work / f"cache{round_}"
            runs = [("no cache", None), ("cold cache", cache), ("warm cache", cache)]
            if round_ % 2:
                # reverse, but a warm cache needs its cold run first
                runs = [runs[1], runs[2], runs[0]]
            for name, memory in runs:
                total, load = grid_search(paths, y, args.size, args.n_jobs, memory)
                times[name].append(total)
                loading[name].append(load)
        cache_mb = sum(f.stat().st_size for f in work.rglob("*") if f.is_file()) / 2**20
    finally:
        shutil.rmtree(work, ignore_errors=True)

    median = {name: statistics.median(t) for name, t in times.items()}
    print(
        f"GridSearchCV, 3 folds x 2 candidates + refit, {len(paths)} full-size "
        f"JPEGs ({(y == 'NORMAL').sum()} NORMAL) at {args.size} px, "
        f"loader n_jobs={args.n_jobs}"
    )
    print(
        f"cpus: {os.cpu_count()}, rounds: {args.rounds}, "
        f"1-min load average before: {load_before:.2f}, cache size: {cache_mb:.1f} MiB"
    )
    for name, seconds in median.items():
        print(
            f"{name:<11}: {seconds:6.2f} s, of which loading images "
            f"{statistics.median(loading[name]):5.2f} s  "
            f"(all {[round(t, 2) for t in times[name]]})"
        )
    base = median["no cache"]
    print(f"speed-up, cold cache: {base / median['cold cache']:.2f}x")
    print(f"speed-up, warm cache: {base / median['warm cache']:.2f}x")


if __name__ == "__main__":
    main()
