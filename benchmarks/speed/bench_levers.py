"""Training speed levers, side by side: which settings make a CPU epoch cheaper.

Usage (from the repository root)::

    python -m benchmarks.speed.bench_levers [--images 1024] [--rounds 3] [--levers a,b,...]

Each lever is one change to the default (96 px, TensorFlow, batch 32,
float32, oneDNN kernels, glibc's malloc), against which the report gives its
speed-up; the previous default (128 px) is one of them. Each runs in a child
process of its own, since the backend, ``TF_ENABLE_ONEDNN_OPTS`` and
``LD_PRELOAD`` must be set before TensorFlow loads. A child loads the same
``--images`` training X-rays, fits :class:`~skpneumo.PneumoniaClassifier`
once on 64 of them to warm up (imports, first allocations), then times a
one-epoch ``fit`` on the same 64 (half of ``--images`` when that is fewer)
and one on all of them. The difference of the two is the cost of training on
the other images, without what every fit pays once (building the network,
tracing or compiling its step): wall time, CPU time (user + system) and minor
page faults.

The children run in rounds, in a rotated order each round, and the report
gives medians over rounds. Two figures per lever, because these 2-core
virtual machines lose part of a core to their neighbours for tens of seconds
at a time (the same configuration measured 100 and 209 images/s within five
minutes): images per wall second, and images per CPU second, which such a
loss barely moves. A lever is worth taking only if it wins on both. The
report also gives the machine's two-core capacity before and after the
rounds: busy loops pinned to each core, alone and together (2.0 means two
full cores; near 1.0 the two virtual cores shared one physical core).

Levers that change the model (image size, batch size, the stem, the dtype)
change what it learns; their quality is measured with ``quality.py`` and
``robustness.py``, never here. Levers that change only how the same model
runs (backend, XLA, kernels, allocator) keep it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._common import DEFAULT_DATA, cpu_name

DATA = DEFAULT_DATA / "chest_xray"
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"

# the new default's settings; each lever below changes one of them
BASE = dict(size=96, batch_size=32, stem_stride=1, mixed_precision="float32")

# name: (environment, classifier settings, how the model is fitted)
LEVERS = {
    "previous default: 128 px": ({}, dict(size=128), "wrapper"),
    "new default: 96 px": ({}, {}, "wrapper"),
    "112 px": ({}, dict(size=112), "wrapper"),
    "80 px": ({}, dict(size=80), "wrapper"),
    "batch 16": ({}, dict(batch_size=16), "wrapper"),
    "batch 64": ({}, dict(batch_size=64), "wrapper"),
    "strided first convolution": ({}, dict(stem_stride=2), "wrapper"),
    # what the default was before the last training-speed changes: each block
    # normalised before pooling, three warps (Keras' RandomZoom,
    # RandomTranslation and RandomRotation) where one RandomAffine now draws
    # the same views, and no blur (the "all three" lever keeps the name that
    # benchmarks/README.md's recorded command selects it by)
    "previous block order: pool after normalisation": (
        {},
        dict(pool_first=False),
        "wrapper",
    ),
    "previous augmentation: three warps": ({}, dict(warps=3), "wrapper"),
    "no blur (blur_augmentation=0)": ({}, dict(blur_augmentation=0.0), "wrapper"),
    "previous default: all three (f289573)": (
        {},
        dict(pool_first=False, warps=3, blur_augmentation=0.0),
        "wrapper",
    ),
    "bfloat16 convolutions": ({}, dict(mixed_precision="mixed_bfloat16"), "wrapper"),
    "JAX backend (XLA)": ({"KERAS_BACKEND": "jax"}, {}, "wrapper"),
    "TensorFlow Eigen kernels (TF_ENABLE_ONEDNN_OPTS=0)": (
        {"TF_ENABLE_ONEDNN_OPTS": "0"},
        {},
        "wrapper",
    ),
    "jemalloc (LD_PRELOAD)": ({"LD_PRELOAD": JEMALLOC}, {}, "wrapper"),
    "one inter-op thread (TF_NUM_INTEROP_THREADS=1)": (
        {"TF_NUM_INTEROP_THREADS": "1"},
        {},
        "wrapper",
    ),
    "two intra-op threads and one inter-op thread": (
        {"TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "2"},
        {},
        "wrapper",
    ),
    # XLA cannot compile TensorFlow's image-warping kernel, so these two pair
    # the same network without augmentation, compiled and not
    "no augmentation: plain model.fit": ({}, dict(jit=False), "keras"),
    "no augmentation: plain model.fit with XLA": ({}, dict(jit=True), "keras"),
    # how the images reach the network: Keras' own feeding of the uint8
    # arrays (what the classifier does) against a tf.data pipeline
    "plain model.fit fed from the arrays": ({}, dict(augment=True), "keras"),
    "plain model.fit fed by tf.data": (
        {},
        dict(augment=True, feed="tf.data"),
        "keras",
    ),
}

CHILD = r"""
import json, resource, sys, time
import numpy as np
settings = json.loads(sys.argv[1])
SMALL = settings.pop("small")
X = np.load(settings.pop("data"))
y = np.load(settings.pop("labels"))
how = settings.pop("how")
size = settings.pop("size")
if settings.pop("warps", 1) == 3:
    import keras
    from skpneumo import _architectures

    def three_warps(zoom, scale, shift, rotation, fill_mode, seed, dtype, name):
        assert tuple(scale) == (1.0, 1.0), "Keras' three warps have no common zoom"
        seeds = [None if seed is None else seed + k for k in range(3)]
        return keras.Sequential(
            [
                keras.layers.RandomZoom(
                    (-zoom, zoom), (-zoom, zoom), fill_mode=fill_mode,
                    seed=seeds[0], dtype=dtype,
                ),
                keras.layers.RandomTranslation(
                    shift, shift, fill_mode=fill_mode, seed=seeds[1], dtype=dtype
                ),
                keras.layers.RandomRotation(
                    rotation, fill_mode=fill_mode, seed=seeds[2], dtype=dtype
                ),
            ],
            name=name,
        )

    _architectures.RandomAffine = three_warps
from skpneumo import ImageLoader
X = ImageLoader(image_size=size).fit_transform(X)

if how == "wrapper":
    from skpneumo import PneumoniaClassifier

    def fit(X, y):
        PneumoniaClassifier(epochs=1, random_state=0, **settings).fit(X, y)
else:
    import keras
    from skpneumo import build_cnn

    augment = settings.get("augment", False)

    def fit(X, y):
        model = build_cnn(
            X.shape[1:],
            augmentation=float(augment),
            intensity_augmentation=float(augment),
            standardize=True,
            seed=0,
        )
        model.compile(
            optimizer="adamw",
            loss="binary_crossentropy",
            jit_compile=settings.get("jit", "auto"),
        )
        y = y.astype("float32")
        if settings.get("feed") == "tf.data":
            import tensorflow as tf

            data = (
                tf.data.Dataset.from_tensor_slices((X, y))
                .shuffle(len(X), seed=0)
                .batch(32)
                .prefetch(tf.data.AUTOTUNE)
            )
            model.fit(data, epochs=1, verbose=0)
        else:
            model.fit(X, y, batch_size=32, epochs=1, verbose=0)

def timed(n):
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    fit(X[:n], y[:n])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_minflt - before.ru_minflt

fit(X[:SMALL], y[:SMALL])  # warm-up: imports, first traces and allocations
small, full = timed(SMALL), timed(len(X))
# the difference leaves out what every fit pays once (building the network,
# tracing or compiling the step), which is not a cost per image
wall, cpu, faults = (b - a for a, b in zip(small, full))
print("RESULT", json.dumps({"wall": wall, "cpu": cpu, "faults": faults}))
"""


SPIN = r"""
import os, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
start, x = time.perf_counter(), 0
for i in range(30_000_000):
    x += i
print(time.perf_counter() - start)
"""


def parallel_capacity():
    """How many of two cores the machine gives now, from about 1 to 2.

    A busy loop pinned to each of the first two cores, first one at a time,
    then both at once: 2 means the cores ran side by side at full speed, 1
    that they shared one physical core (a virtual machine's neighbours can
    cause that for tens of seconds at a time), so a wall time measured then
    counts half the machine. None on a machine with one core.
    """
    cpus = sorted(os.sched_getaffinity(0))[:2]
    if len(cpus) < 2:
        return None

    def spin(cpu):
        return subprocess.Popen(
            [sys.executable, "-c", SPIN, str(cpu)], stdout=subprocess.PIPE, text=True
        )

    alone = [float(spin(cpu).communicate()[0]) for cpu in cpus]
    both = [spin(cpu) for cpu in cpus]
    together = [float(proc.communicate()[0]) for proc in both]
    return 2 * statistics.mean(alone) / max(together)


def run_child(lever, data, labels, n_images, small):
    env_extra, changes, how = LEVERS[lever]
    if "LD_PRELOAD" in env_extra and not Path(env_extra["LD_PRELOAD"]).exists():
        return None
    settings = {**BASE, **changes, "how": how, "data": data, "labels": labels}
    settings["small"] = small
    if how == "keras":
        for key in ("batch_size", "stem_stride", "mixed_precision"):
            settings.pop(key)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env_extra}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(settings)],
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode != 0:
        raise RuntimeError(f"lever {lever!r} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.split("RESULT", 1)[1])
    result["images_per_s"] = (n_images - small) / result["wall"]
    result["images_per_cpu_s"] = (n_images - small) / result["cpu"]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default=str(DATA))
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--levers", help=f"comma-separated, from: {', '.join(LEVERS)}", default=None
    )
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    levers = args.levers.split(",") if args.levers else list(LEVERS)
    unknown = [lever for lever in levers if lever not in LEVERS]
    if unknown:
        parser.error(f"unknown lever(s) {unknown}")

    from skpneumo import ImageLoader
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(args.data_dir, split="train")
    rng = np.random.RandomState(0)
    # in random order: the children warm up on the first few, which must hold
    # both classes (the folder order lists every NORMAL image first)
    keep = rng.choice(len(data.paths), args.images, replace=False)
    # decoded once, at the stored 224 px; each child resizes to its own size
    X = ImageLoader(image_size=224, n_jobs=2).fit_transform(data.paths[keep])
    flags = Path("/proc/cpuinfo").read_text()
    extras = [f for f in ("avx512f", "avx512_vnni", "avx512_bf16") if f" {f}" in flags]
    print(
        f"{args.images} training X-rays, 1 epoch per child after a warm-up, "
        f"{args.rounds} rounds in rotated order; CPU: {cpu_name()} "
        f"({os.cpu_count()} cores; {', '.join(extras) or 'no AVX-512'})",
        flush=True,
    )
    small = min(64, args.images // 2)
    results = {lever: [] for lever in levers}
    capacity = [parallel_capacity()]
    with tempfile.TemporaryDirectory() as tmp:
        data_file, labels_file = f"{tmp}/X.npy", f"{tmp}/y.npy"
        np.save(data_file, X)
        np.save(labels_file, data.target[keep])
        for r in range(args.rounds):
            order = levers[r % len(levers) :] + levers[: r % len(levers)]
            for lever in order:
                result = run_child(lever, data_file, labels_file, args.images, small)
                if result is not None:
                    results[lever].append(result)
                    print(
                        f"  round {r + 1}: {lever:52s} "
                        f"{result['images_per_s']:6.0f} img/s  "
                        f"{result['images_per_cpu_s']:6.0f} img/CPU-s",
                        flush=True,
                    )

    capacity.append(parallel_capacity())
    if None not in capacity:
        print(
            "two-core capacity (busy loops pinned to each core, alone against "
            f"together; 2.0 = two full cores): {capacity[0]:.2f} before the "
            f"rounds, {capacity[1]:.2f} after"
        )
    baseline = "new default: 96 px"
    base = {
        key: statistics.median(r[key] for r in results[baseline])
        for key in ("images_per_s", "images_per_cpu_s")
    }
    print()
    print(
        "| lever | images/s | speed-up | images per CPU-s | speed-up (CPU) "
        "| minor faults per image |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for lever in levers:
        runs = results[lever]
        if not runs:
            print(f"| {lever} | not run: {LEVERS[lever][0]} missing | | | | |")
            continue
        speed = statistics.median(r["images_per_s"] for r in runs)
        per_cpu = statistics.median(r["images_per_cpu_s"] for r in runs)
        faults = statistics.median(r["faults"] for r in runs) / (args.images - small)
        print(
            f"| {lever} | {speed:.0f} | {speed / base['images_per_s']:.2f}x "
            f"| {per_cpu:.0f} | {per_cpu / base['images_per_cpu_s']:.2f}x "
            f"| {faults:.0f} |"
        )
    pair = (
        "no augmentation: plain model.fit",
        "no augmentation: plain model.fit with XLA",
    )
    feeds = ("plain model.fit fed from the arrays", "plain model.fit fed by tf.data")
    for name in feeds:
        if results.get(name):
            share = statistics.median(r["cpu"] / r["wall"] for r in results[name])
            print(f"{name}: {share:.0%} CPU (of the 2 cores' 200%)")
    if all(results.get(name) for name in pair):
        plain, xla = (
            statistics.median(r["images_per_s"] for r in results[name]) for name in pair
        )
        print(
            f"\nXLA on the CPU against the same network without it: {xla / plain:.2f}x"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
