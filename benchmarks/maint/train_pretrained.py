"""Train the model that ships inside the package (``skpneumo.load_pretrained()``).

Usage::

    python -m benchmarks.maint.train_pretrained [DATA_DIR] [--output skpneumo/pretrained/default]

Does what ``skpneumo train DATA_DIR --calibrate`` does, with every setting at
its default and ``random_state=0``: fits ``make_pneumonia_pipeline()`` on four
fifths of the patients of the official training split of DATA_DIR (default
``../shared/data/chest_xray``) and calibrates its probabilities (Platt's
sigmoid, ``CalibratedClassifierCV(FrozenEstimator(pipe))``) on the fifth it
never saw. The network's raw probabilities are far from calibrated (the default
network spreads NORMAL images up to 0.99), and a user who reads
"P(pneumonia) 0.97" must be able to take it at its word.

The sigmoid is fitted to the classifier's ``decision_function``, the log-odds
measured from its threshold. The decisions stay those of the pipeline's own
operating threshold: the model is wrapped in ``FixedThresholdClassifier`` at the
calibrated value of that threshold, so it calls PNEUMONIA exactly the images
the uncalibrated pipeline would. It is saved with :func:`skpneumo.save_model` (pickle-free;
``skpneumo.json`` records the SHA-256 of ``model.keras``), with
``provenance.json`` beside it: the command, the data (image counts and a digest
of the sorted list of file names and sizes), the split, both thresholds, the
library versions, the CPU and the wall time. The same command on the same CPU family and library
versions gives the same network, bit for bit (the fit is seeded); another CPU
family may round differently.

Run it again, and commit the folder, whenever the defaults of
``make_pneumonia_pipeline`` change.
"""

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

from benchmarks._common import ROOT, cpu_name

DEFAULT_OUTPUT = ROOT / "skpneumo" / "pretrained" / "default"


def _data_digest(paths):
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(f"{os.path.basename(path)}:{os.path.getsize(path)}\n".encode())
    return digest.hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default="../shared/data/chest_xray")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--n-jobs", type=int, default=2, help="image decoding threads")
    args = parser.parse_args(argv)

    import keras
    import sklearn

    import skpneumo
    from skpneumo import fit_calibrated, make_pneumonia_pipeline, save_model
    from skpneumo._tuning import CALIBRATION_FOLDS
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(args.data_dir, split="train")
    pipeline = make_pneumonia_pipeline(random_state=0, n_jobs=args.n_jobs, verbose=2)
    start = time.perf_counter()
    model = fit_calibrated(
        pipeline,
        data.paths,
        data.target,
        data.groups,
        method="sigmoid",
        random_state=0,
        verbose=1,
    )
    wall = time.perf_counter() - start
    raw_threshold = float(pipeline.named_steps["classifier"].threshold)
    threshold = float(model.threshold)
    # what a user of the bundled model gets: no progress output, default decoding
    pipeline.set_params(loader__verbose=0, loader__n_jobs=None, classifier__verbose=0)
    provenance = {
        "command": "python -m benchmarks.maint.train_pretrained "
        + " ".join(argv or sys.argv[1:]),
        "data": {
            "split": "train",
            "n_normal": int((data.target == 0).sum()),
            "n_pneumonia": int((data.target == 1).sum()),
            "names_and_sizes_sha256": _data_digest(data.paths),
        },
        "random_state": 0,
        "calibration": {
            "method": "sigmoid",
            "held_out": f"1 of {CALIBRATION_FOLDS} StratifiedGroupKFold folds by patient",
            "raw_threshold": raw_threshold,
            "threshold": threshold,
        },
        "versions": {
            "skpneumo": skpneumo.__version__,
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "scikit-learn": sklearn.__version__,
            "python": platform.python_version(),
        },
        "cpu": cpu_name(),
        "n_cpus": os.cpu_count(),
        "fit_wall_seconds": round(wall, 1),
    }
    # written with the model, so that the folder never holds one without the other
    folder = save_model(
        model,
        args.output,
        extra_files={"provenance.json": json.dumps(provenance, indent=2) + "\n"},
    )
    size = sum(f.stat().st_size for f in folder.iterdir())
    print(
        f"Model written to {folder} ({size / 1024:.0f} KiB) after {wall / 60:.1f} min of fitting"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
