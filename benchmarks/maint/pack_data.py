"""Pack the shared training images into one uint8 .npz for benchmarks/maint/gpu_check.sh.

The GPU machine of ``gpu_check.sh`` cannot see ``../shared/data``; only the
working tree travels to it. This script decodes the training split once with
:class:`skpneumo.ImageLoader` and writes, to a git-ignored path
(``benchmarks/_work/train128.npz`` by default):

``X_rowdiff``
    The uint8 images of shape ``(n, 128, 128)`` (greyscale, squashed to
    128 px), each row stored as its difference from the row above, modulo 256
    (lossless; deflate then packs the 85.5 MB of pixels into about 50 MB
    instead of 71). :func:`load_pack` undoes it with one ``np.cumsum``.
``y``
    uint8 labels, 0 NORMAL, 1 PNEUMONIA.
``groups``
    The patient of each image (for the patient-disjoint hold-out).

Never commit the output: these are the data set's images (see
``../shared/data/README.md``). It is stored with ``np.savez_compressed``; the
script refuses to write more than ``--max-mb`` (default 60 MB), so that it
travels together with the wheels inside the device tool's 64 MiB.

Run from the repository root::

    python -m benchmarks.maint.pack_data                      # all 5,216 training images
    python -m benchmarks.maint.pack_data --limit 64 --out benchmarks/_work/smoke.npz
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._common import DEFAULT_DATA as SHARED_DATA
from benchmarks._common import WORK

DEFAULT_DATA = SHARED_DATA / "chest_xray"
DEFAULT_OUT = WORK / "train128.npz"


def load_pack(path):
    """Read a pack written by this script: ``(X, y, groups)``, X uint8 (n, h, w)."""
    with np.load(path) as pack:
        X = np.cumsum(pack["X_rowdiff"], axis=1, dtype=np.uint8)  # wraps mod 256
        return X, pack["y"], pack["groups"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="Kaggle-layout folder (default: ../shared/data/chest_xray)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="keep only this many images (every k-th, both classes)",
    )
    parser.add_argument("--max-mb", type=float, default=60.0)
    args = parser.parse_args(argv)

    from skpneumo import ImageLoader
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(args.data, split="train")
    index = np.arange(data.paths.size)
    if args.limit is not None and args.limit < index.size:
        index = np.linspace(0, index.size - 1, args.limit).round().astype(int)
    start = time.perf_counter()
    X = ImageLoader(image_size=args.image_size, n_jobs=os.cpu_count()).transform(
        data.paths[index]
    )[..., 0]
    seconds = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rowdiff = np.diff(X, axis=1, prepend=np.zeros_like(X[:, :1]))  # uint8, mod 256
    np.savez_compressed(
        args.out,
        X_rowdiff=rowdiff,
        y=data.target[index].astype(np.uint8),
        groups=data.groups[index].astype(str),
    )
    assert np.array_equal(load_pack(args.out)[0], X)
    size_mb = args.out.stat().st_size / 1e6
    print(
        f"{args.out}: {X.shape[0]} images of {X.shape[1]}x{X.shape[2]} uint8 "
        f"({np.bincount(data.target[index], minlength=2).tolist()} NORMAL/PNEUMONIA, "
        f"{np.unique(data.groups[index]).size} patients), {size_mb:.1f} MB "
        f"(raw {X.nbytes / 1e6:.1f} MB); decoded in {seconds:.1f} s"
    )
    if size_mb > args.max_mb:
        args.out.unlink()
        sys.exit(f"{size_mb:.1f} MB is over --max-mb={args.max_mb}; file removed.")


if __name__ == "__main__":
    main()
