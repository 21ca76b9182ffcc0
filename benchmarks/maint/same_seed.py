"""Same seed, same probabilities: a refactoring check across two checkouts.

Usage::

    python -m benchmarks.maint.same_seed write OUT.npy [--data DIR]
    python -m benchmarks.maint.same_seed compare BEFORE.npy AFTER.npy

``write`` fits ``make_pneumonia_pipeline(image_size=32, random_state=0)`` with
``classifier__epochs=2`` on 64 real training images (40 of each class are
drawn with seed 0, NORMAL first; it fits on the first 64: 40 NORMAL and 24
PNEUMONIA) and saves its P(pneumonia) for all 80. Run it in the checkout
before a change and in the one after it, on the same machine (another CPU
family may round differently), then ``compare``: a change that should not
alter behaviour gives identical arrays (``np.array_equal``). It sets step
parameters through ``set_params``, which every version of the factory accepts.
"""

import argparse
from pathlib import Path

import numpy as np

from benchmarks._common import DEFAULT_DATA, cpu_name


def write(out, data_dir):
    from skpneumo import make_pneumonia_pipeline
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(data_dir / "chest_xray", split="train")
    rng = np.random.RandomState(0)
    rows = np.concatenate(
        [
            rng.choice(np.flatnonzero(data.target == c), 40, replace=False)
            for c in (0, 1)
        ]
    )
    pipe = make_pneumonia_pipeline(image_size=32, random_state=0)
    pipe.set_params(classifier__epochs=2)
    pipe.fit(data.paths[rows[:64]], data.target[rows[:64]])
    proba = pipe.predict_proba(data.paths[rows])[:, 1]
    np.save(out, proba)
    print(f"wrote {out}: {proba.size} probabilities on {cpu_name()}")


def compare(before, after):
    a, b = np.load(before), np.load(after)
    same = a.shape == b.shape and np.array_equal(a, b)
    gap = float(np.abs(a - b).max()) if a.shape == b.shape else float("nan")
    print(f"identical: {same}; largest difference {gap:.3g}")
    return 0 if same else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    w = commands.add_parser("write", help="fit with a fixed seed and save P")
    w.add_argument("out", type=Path)
    w.add_argument("--data", type=Path, default=DEFAULT_DATA)
    c = commands.add_parser("compare", help="are two saved runs identical?")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "write":
        write(args.out, args.data)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())
