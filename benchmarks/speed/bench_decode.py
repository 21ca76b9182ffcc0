"""Decoding throughput of ImageLoader against a plain Pillow loop.

Compares ``ImageLoader(image_size=224, n_jobs=2)`` (JPEG draft mode, decoding
threads) with the obvious single-threaded loop
``Image.open(p).convert("L").resize((224, 224))`` on the 240 full-size X-rays of
``chest_xray_fullsize_sample``; ``ImageLoader(n_jobs=1)`` runs alongside to
separate what draft mode gives from what the threads give. The contenders are
timed in rounds of rotating order and the median of each is reported, so that a
noisy, shared machine biases none of them. It also reports how far the loader's
pixels are from the plain loop's.

Run from the repository root::

    python -m benchmarks.speed.bench_decode

Options: ``--rounds`` (default 3), ``--n-jobs`` (default 2), ``--size``
(default 224), ``--data`` (default ``../shared/data`` beside the repository).
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks._common import add_data_argument, timed
from skpneumo import ImageLoader


def sample_paths(data):
    folder = Path(data) / "chest_xray_fullsize_sample"
    paths = sorted(str(p) for p in folder.glob("*/*.jpeg"))
    if not paths:
        sys.exit(f"No images under {folder}; pass --data.")
    return paths


def plain_loop(paths, size):
    out = np.empty((len(paths), size, size, 1), dtype=np.uint8)
    for i, path in enumerate(paths):
        image = Image.open(path).convert("L").resize((size, size))
        out[i, :, :, 0] = np.asarray(image)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args(argv)

    paths = sample_paths(args.data)
    n = len(paths)
    single = ImageLoader(image_size=args.size, n_jobs=1).fit()
    threaded = ImageLoader(image_size=args.size, n_jobs=args.n_jobs).fit()
    contenders = {
        "plain loop (1 thread)": lambda: plain_loop(paths, args.size),
        "ImageLoader n_jobs=1": lambda: single.transform(paths),
        f"ImageLoader n_jobs={args.n_jobs}": lambda: threaded.transform(paths),
    }
    names = list(contenders)
    # warm the page cache, the imports and the thread pool
    plain_loop(paths[:16], args.size)
    threaded.transform(paths[:16])

    load_before = os.getloadavg()[0]
    times = {name: [] for name in names}
    outputs = {}
    for round_ in range(args.rounds):
        # rotate the order, so that no contender always runs first or last
        for name in names[round_ % 3 :] + names[: round_ % 3]:
            seconds, outputs[name] = timed(contenders[name])
            times[name].append(seconds)

    print(f"images: {n} full-size JPEGs -> {args.size}x{args.size} greyscale")
    print(
        f"cpus: {os.cpu_count()}, rounds: {args.rounds} (rotating order, median), "
        f"1-min load average before: {load_before:.2f}"
    )
    median = {name: statistics.median(times[name]) for name in names}
    for name in names:
        print(
            f"{name:<24}: {n / median[name]:6.1f} images/s  (median "
            f"{median[name]:.2f} s; all {[round(t, 2) for t in times[name]]})"
        )
    plain = median[names[0]]
    print(f"speed-up, one thread (draft mode alone): {plain / median[names[1]]:.2f}x")
    print(f"speed-up, {names[2]}: {plain / median[names[2]]:.2f}x")
    reference = outputs[names[0]].astype(np.int16)
    diff = np.abs(outputs[names[2]].astype(np.int16) - reference)
    print(
        f"pixel difference from the plain loop: max {diff.max()}, "
        f"mean {diff.mean():.3f} (0-255 scale)"
    )


if __name__ == "__main__":
    main()
