"""Train the default pipeline on a GPU with JAX, and check it against the CPU.

Run through ``benchmarks/maint/gpu_check.sh``, which installs the carried wheels and
sets ``KERAS_BACKEND=jax``. In one run it

1. trains ``make_pneumonia_pipeline(random_state=0)`` (defaults: 96 px,
   20 epochs, ``mixed_precision="auto"``) on the GPU on the packed training
   images (``benchmarks/maint/pack_data.py``) less a patient-disjoint 20% held out,
   and prints the training images/s of epochs 2 to N (epoch 1 holds the XLA
   compilation) and the ROC-AUC on the held-out patients;
2. in a child process restricted to the CPU (``JAX_PLATFORMS=cpu``), loads the
   saved model, predicts the same held-out images and checks that the
   probabilities agree with the GPU's within the tolerance of the policy the
   network computed in (TOLERANCE below), then trains the same pipeline on
   ``--cpu-images`` of the training images for 2 epochs to measure the CPU's
   training images/s (epoch 2).

``--smoke`` runs the whole chain on the CPU on a tiny subset (160 images at
32 px, 2 epochs), to test the script where there is no GPU.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import ROOT, WORK
from benchmarks.maint.pack_data import load_pack

# Largest |P_gpu - P_cpu| accepted for the same saved network, by the policy it
# computes in: bfloat16 keeps 8 significant bits, and the GPU and the CPU
# accumulate in another order; float32 convolutions on Ampere+ GPUs use TF32
# (10 bits) under XLA's default precision.
TOLERANCE = {"mixed_bfloat16": 2e-2, "mixed_float16": 5e-3, "float32": 5e-3}
AUC_TOLERANCE = 5e-3


def _timed_pipeline(**params):
    """make_pneumonia_pipeline, its classifier timing each epoch."""
    import keras

    from skpneumo import PneumoniaClassifier, make_pneumonia_pipeline

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):  # logs hold synced metrics
            self.seconds.append(time.perf_counter() - self._start)

    class TimedClassifier(PneumoniaClassifier):
        def _fit_keras_model(self, X, y, *args, **kwargs):
            timer, model = EpochTimer(), self.model_
            fit = model.fit
            model.fit = lambda *a, callbacks=(), **k: fit(
                *a, callbacks=[*callbacks, timer], **k
            )
            try:
                super()._fit_keras_model(X, y, *args, **kwargs)
            finally:
                del model.fit
            self.epoch_seconds_, self.epoch_images_ = timer.seconds, len(X)

    pipe = make_pneumonia_pipeline(**params)
    classifier = TimedClassifier(**pipe.named_steps["classifier"].get_params())
    return pipe.set_params(classifier=classifier)


def _throughput(classifier):
    seconds = classifier.epoch_seconds_
    steady = seconds[1:] or seconds  # epoch 1 compiles
    return {
        "images_per_epoch": classifier.epoch_images_,
        "epoch_seconds": [round(s, 3) for s in seconds],
        "images_per_s": classifier.epoch_images_ * len(steady) / sum(steady),
        "images_per_s_with_compile": classifier.epoch_images_
        * len(seconds)
        / sum(seconds),
        "steady_epochs": len(seconds) - 1,
    }


def _split(args):
    from sklearn.model_selection import GroupShuffleSplit

    X, y, groups = load_pack(args.data)
    if args.limit:
        keep = np.linspace(0, len(y) - 1, args.limit).round().astype(int)
        X, y, groups = X[keep], y[keep], groups[keep]
    train, test = next(
        GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=0).split(X, y, groups)
    )
    assert not set(groups[train]) & set(groups[test])
    return X, y, train, test


def _device():
    import jax

    device = jax.devices()[0]
    return f"{device.platform}: {device.device_kind}", device.platform


def main_phase(args):
    """Train on the default device (the GPU), evaluate, save; then run the CPU phase."""
    import keras
    from sklearn.metrics import roc_auc_score

    from skpneumo import PneumoniaClassifier, save_model

    assert keras.config.backend() == "jax", (
        "run with KERAS_BACKEND=jax (gpu_check.sh does)"
    )
    device, platform = _device()
    print(f"main process: {device}; keras {keras.__version__}", flush=True)
    if platform != "gpu" and not args.smoke:
        sys.exit(
            "JAX sees no GPU (its default device is the CPU); use --smoke to test on a CPU."
        )
    X, y, train, test = _split(args)
    params = dict(random_state=0)
    if args.image_size:
        params["image_size"] = args.image_size
    if args.epochs:
        params["classifier__epochs"] = args.epochs
    pipe = _timed_pipeline(classifier__mixed_precision=args.mixed_precision, **params)
    start = time.perf_counter()
    pipe.fit(X[train], y[train])
    fit_seconds = time.perf_counter() - start
    classifier = pipe.named_steps["classifier"]
    proba = pipe.predict_proba(X[test])[:, 1]
    result = {
        "device": device,
        "policy": classifier.dtype_policy_,
        "jit_compile": bool(classifier.model_.jit_compile),
        "train_images": len(train),
        "test_images": len(test),
        "fit_seconds": fit_seconds,
        "auc": roc_auc_score(y[test], proba),
        **_throughput(classifier),
    }
    print(
        f"  trained in {fit_seconds:.1f} s ({result['policy']}, jit_compile="
        f"{result['jit_compile']}); held-out ROC-AUC {result['auc']:.4f}",
        flush=True,
    )
    # save_model knows PneumoniaClassifier by name: hand it the fitted state
    plain = PneumoniaClassifier()
    vars(plain).update(vars(classifier))
    pipe.steps[-1] = ("classifier", plain)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        save_model(pipe, tmp / "model")
        np.save(tmp / "proba.npy", proba)
        env = dict(os.environ, JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="")
        module = "benchmarks.maint.gpu_check"
        child = [sys.executable, "-m", module, "--cpu-phase", str(tmp), *sys.argv[1:]]
        subprocess.run(child, env=env, check=True, cwd=ROOT)
        cpu = json.loads((tmp / "cpu.json").read_text())
    report(args, result, cpu)


def cpu_phase(args, folder):
    """In a CPU-only process: predict with the saved model, then time CPU training."""
    from sklearn.metrics import roc_auc_score

    from skpneumo import load_model

    device, platform = _device()
    assert platform == "cpu", device
    print(f"child process: {device}, {os.cpu_count()} CPU cores", flush=True)
    X, y, train, test = _split(args)
    gpu_proba = np.load(folder / "proba.npy")
    model = load_model(folder / "model")
    cpu_proba = model.predict_proba(X[test])[:, 1]
    policy = model.named_steps["classifier"].dtype_policy_
    result = {
        "device": device,
        "policy_of_loaded_model": policy,
        "max_abs_diff": float(np.abs(cpu_proba - gpu_proba).max()),
        "auc": roc_auc_score(y[test], cpu_proba),
        "tolerance": TOLERANCE[policy],
    }
    subset = train[
        np.linspace(0, len(train) - 1, min(args.cpu_images, len(train))).astype(int)
    ]
    params = dict(random_state=0, classifier__epochs=2)
    if args.image_size:
        params["image_size"] = args.image_size
    pipe = _timed_pipeline(**params).fit(X[subset], y[subset])
    classifier = pipe.named_steps["classifier"]
    result.update(train_policy=classifier.dtype_policy_, **_throughput(classifier))
    (folder / "cpu.json").write_text(json.dumps(result))


def report(args, gpu, cpu):
    auc_diff = abs(gpu["auc"] - cpu["auc"])
    agree = cpu["max_abs_diff"] <= cpu["tolerance"] and auc_diff <= AUC_TOLERANCE
    summary = {"gpu_phase": gpu, "cpu_phase": cpu, "agree": agree, "smoke": args.smoke}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")
    label = "main (CPU: --smoke)" if args.smoke else "GPU"
    rows = [
        (f"{label} training, {gpu['policy']}", gpu),
        (f"CPU training, {cpu['train_policy']}", cpu),
    ]
    print(
        "\n| device | images/epoch | steady epochs | images/s | images/s incl. compile |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        print(
            f"| {name} ({r['device']}) | {r['images_per_epoch']} | {r['steady_epochs']} | "
            f"{r['images_per_s']:.0f} | {r['images_per_s_with_compile']:.0f} |"
        )
    if cpu["images_per_s"] > 0:
        print(f"speed-up of training: {gpu['images_per_s'] / cpu['images_per_s']:.1f}x")
    print(
        f"held-out ROC-AUC ({gpu['test_images']} images of other patients, trained on "
        f"{gpu['train_images']}): {gpu['auc']:.4f}"
    )
    print(
        f"same network on the CPU: ROC-AUC {cpu['auc']:.4f} (|diff| {auc_diff:.2e}, "
        f"tolerance {AUC_TOLERANCE:g}); max |P_main - P_cpu| = {cpu['max_abs_diff']:.2e} "
        f"(tolerance {cpu['tolerance']:g} for {cpu['policy_of_loaded_model']})"
    )
    print(
        "GPU and CPU predictions AGREE" if agree else "GPU and CPU predictions DISAGREE"
    )
    if not agree:
        sys.exit(1)


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=WORK / "train128.npz")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny run on the CPU: 160 images, 32 px, 2 epochs",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="default: the pipeline's (20)"
    )
    parser.add_argument(
        "--image-size", type=int, default=None, help="default: the pipeline's (96)"
    )
    parser.add_argument("--limit", type=int, default=None, help="use this many images")
    parser.add_argument(
        "--mixed-precision",
        default="auto",
        choices=["auto", "float32", "mixed_float16", "mixed_bfloat16"],
        help="policy of the main training run (the CPU run uses auto)",
    )
    parser.add_argument(
        "--cpu-images",
        type=int,
        default=1024,
        help="training images of the CPU timing run",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for gpu_check.json"
    )
    parser.add_argument("--cpu-phase", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.limit = args.limit or 160
        args.image_size = args.image_size or 32
        args.epochs = args.epochs or 2
        args.cpu_images = min(args.cpu_images, 64)
    return args


if __name__ == "__main__":
    args = parse()
    if args.cpu_phase is not None:
        cpu_phase(args, args.cpu_phase)
    else:
        main_phase(args)
