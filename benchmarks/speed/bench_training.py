"""Training cost: wrapper overhead, peak memory, and growth with data and image size.

Usage (from the repository root)::

    python -m benchmarks.speed.bench_training overhead [--images 1500] [--size 96] [--rounds 3]
    python -m benchmarks.speed.bench_training memory   [--size 224] [--epochs 1]
    python -m benchmarks.speed.bench_training growth   [--size 96] [--out benchmarks/speed]

``overhead``
    Times ``PneumoniaClassifier.fit`` against building the same network with
    :func:`skpneumo.build_cnn`, compiling it identically and calling
    ``model.fit`` directly, on the same uint8 arrays, alternating the two in
    each round; prints the medians and their ratio (target: at most 1.05).
``memory``
    Runs ``skpneumo train`` on the full shared training split in a child
    process and reports its peak resident memory (target: at most 3 GB).
``growth``
    Fits the default pipeline for one epoch, each in a fresh child process,
    on 1000, 2000, 4000 and 5216 images at the default 96 px, and on 2000
    images at 64, 96, 128 and 224 px; reports wall time, CPU time and peak
    memory, fits a line through each series (to the CPU time, which the
    machine's share of its cores moves less than the wall time), and plots
    them into ``bench_training_growth.png``.
"""

import argparse
import inspect
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import DEFAULT_DATA

DATA = DEFAULT_DATA / "chest_xray"


def _load(n_images, size, seed=0):
    from skpneumo import ImageLoader
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(DATA, split="train")
    rng = np.random.RandomState(seed)
    keep = np.sort(
        rng.choice(len(data.paths), min(n_images, len(data.paths)), replace=False)
    )
    X = ImageLoader(image_size=size, n_jobs=2).fit_transform(data.paths[keep])
    return X, data.target[keep]


def overhead(args):
    import keras

    from skpneumo import PneumoniaClassifier, build_cnn

    X, y = _load(args.images, args.size)
    params = dict(epochs=1, batch_size=32, lr_schedule="constant", random_state=0)

    def wrapped():
        PneumoniaClassifier(**params).fit(X, y)

    def direct():
        keras.utils.set_random_seed(0)
        # the classifier's own network settings (those of its parameters that
        # build_cnn takes), so both paths train one network
        network = {
            key: value
            for key, value in PneumoniaClassifier().get_params().items()
            if key in inspect.signature(build_cnn).parameters
        }
        model = build_cnn(X.shape[1:], seed=None, **network)
        model.compile(
            optimizer=keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4),
            loss="binary_crossentropy",
            metrics=[
                keras.metrics.AUC(name="auc"),
                keras.metrics.BinaryAccuracy(name="accuracy"),
            ],
        )
        model.fit(
            X, y.astype("float32"), batch_size=32, epochs=1, shuffle=True, verbose=0
        )

    wrapped(), direct()  # warm up both paths once (imports, first traces)
    # wall seconds, and CPU seconds of the process (user + system), which the
    # machine's varying share of its two cores moves far less
    times = {"PneumoniaClassifier.fit": [], "model.fit": []}
    cpu = {name: [] for name in times}
    for r in range(args.rounds):
        order = [("PneumoniaClassifier.fit", wrapped), ("model.fit", direct)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    print(
        f"{len(X)} uint8 images at {args.size} px ({X.nbytes / 1e6:.0f} MB), 1 epoch, "
        f"{args.rounds} alternating rounds"
    )
    for label, measured in (("wall", times), ("CPU", cpu)):
        medians = {name: statistics.median(t) for name, t in measured.items()}
        for name, t in measured.items():
            print(
                f"  {name:<24} {label:>4} median {medians[name]:.2f} s  "
                f"(rounds: {', '.join(f'{v:.2f}' for v in t)})"
            )
        paired = [
            w / d
            for w, d in zip(
                measured["PneumoniaClassifier.fit"], measured["model.fit"], strict=True
            )
        ]
        print(
            f"  {label} ratio of medians: "
            f"{medians['PneumoniaClassifier.fit'] / medians['model.fit']:.3f}; "
            f"median of the per-round ratios {statistics.median(paired):.3f} "
            f"(rounds: {', '.join(f'{r:.2f}' for r in paired)}) (target <= 1.05)"
        )


def _child(n_images, size, epochs):
    """Fit the default pipeline in a child process.

    Returns wall seconds, CPU seconds (user + system, of the child and of any
    process it started) and peak RSS bytes.
    """
    code = (
        "import time, numpy as np\n"
        "from skpneumo import make_pneumonia_pipeline\n"
        "from skpneumo.datasets import load_chest_xray\n"
        f"data = load_chest_xray({str(DATA)!r}, split='train')\n"
        f"n = min({n_images}, len(data.paths))\n"
        "keep = np.sort(np.random.RandomState(0).choice(len(data.paths), n, replace=False))\n"
        f"pipe = make_pneumonia_pipeline(image_size={size}, classifier__epochs={epochs},\n"
        "                               n_jobs=2, random_state=0)\n"
        "import resource\n"
        "def cpu():\n"
        "    own, kids = (resource.getrusage(w)\n"
        "                 for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
        "    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime\n"
        "start, start_cpu = time.perf_counter(), cpu()\n"
        "pipe.fit(data.paths[keep], data.target[keep])\n"
        "print('SECONDS', time.perf_counter() - start)\n"
        "print('CPU', cpu() - start_cpu)\n"
        "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    seconds = float(out.stdout.split("SECONDS")[-1].split()[0])
    cpu = float(out.stdout.split("CPU")[-1].split()[0])
    peak_kb = int(out.stdout.split("PEAK_KB")[-1].split()[0])
    return seconds, cpu, peak_kb * 1024


def memory(args):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "skpneumo",
            "train",
            str(DATA),
            "--output",
            f"{tmp}/model",
            "--image-size",
            str(args.size),
            "--epochs",
            str(args.epochs),
            "--quiet",
        ]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(
        f"skpneumo train on the full training split (5216 images) at {args.size} px, "
        f"{args.epochs} epoch(s): peak RSS {peak / 1e9:.2f} GB, wall {seconds:.0f} s "
        f"(target <= 3 GB)"
    )


def growth(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = args.size
    sizes = sorted({64, size, 128, 224})
    by_count = [(n, *_child(n, size, 1)) for n in (1000, 2000, 4000, 5216)]
    by_size = [(s, *_child(2000, s, 1)) for s in sizes]
    result = {f"by_count_{size}px": by_count, "by_size_2000_images": by_size}

    def linearity(xs, ys):
        slope, intercept = np.polyfit(xs, ys, 1)
        fitted = slope * np.asarray(xs) + intercept
        r2 = 1 - np.sum((np.asarray(ys) - fitted) ** 2) / np.sum(
            (np.asarray(ys) - np.mean(ys)) ** 2
        )
        return slope, intercept, r2

    lines = [
        "| images | size | fit seconds (1 epoch) | CPU seconds | peak RSS (GB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {n} | {size} | {t:.1f} | {c:.1f} | {m / 1e9:.2f} |"
        for n, t, c, m in by_count
    ]
    lines += [
        f"| 2000 | {s} | {t:.1f} | {c:.1f} | {m / 1e9:.2f} |" for s, t, c, m in by_size
    ]
    n, t, c, m = (np.array(v) for v in zip(*by_count, strict=True))
    # the lines are fitted to CPU seconds: the wall time of these 2-core VMs
    # follows their varying share of the two cores as much as the work
    slope_t, _, r2_t = linearity(n, c)
    slope_m, _, r2_m = linearity(n, m / 1e9)
    pixels = np.array([s * s for s, _, _, _ in by_size])
    _, ts, cs, ms = (np.array(v) for v in zip(*by_size, strict=True))
    _, _, r2_p = linearity(pixels, cs)
    lines += [
        "",
        f"CPU time vs images: {slope_t * 1000:.1f} s per 1000 images, R² of a straight "
        f"line {r2_t:.3f}. Memory vs images: {slope_m * 1000:.3f} GB per 1000 images, "
        f"R² {r2_m:.3f}.",
        f"CPU time vs pixels per image ({', '.join(f'{s}²' for s in sizes)}): "
        f"R² of a straight line {r2_p:.3f}.",
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].plot(n, c, "o-", label="CPU seconds")
    axes[0].plot(n, t, "o:", color="tab:gray", label="wall seconds")
    axes[0].legend(loc="upper left")
    axes[0].set_xlabel(f"training images ({size} px, 1 epoch)")
    axes[0].set_ylabel("seconds")
    ax2 = axes[0].twinx()
    ax2.plot(n, m / 1e9, "s--", color="tab:red", label="peak RSS (GB)")
    ax2.set_ylabel("peak RSS (GB)")
    axes[0].set_title("growth with the number of images")
    axes[1].plot(pixels, cs, "o-", label="CPU seconds")
    axes[1].plot(pixels, ts, "o:", color="tab:gray", label="wall seconds")
    axes[1].set_xlabel(
        f"pixels per image ({', '.join(f'{s}²' for s in sizes)}; 2000 images)"
    )
    axes[1].set_ylabel("seconds")
    ax3 = axes[1].twinx()
    ax3.plot(pixels, ms / 1e9, "s--", color="tab:red")
    ax3.set_ylabel("peak RSS (GB)")
    axes[1].set_title("growth with image size")
    fig.tight_layout()
    out = Path(args.out)
    fig.savefig(out / "bench_training_growth.png", dpi=100)
    (out / "bench_training_growth.json").write_text(json.dumps(result, indent=2))
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("overhead")
    p.add_argument("--images", type=int, default=1500)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--rounds", type=int, default=3)
    p = sub.add_parser("memory")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--epochs", type=int, default=1)
    p = sub.add_parser("growth")
    p.add_argument("--size", type=int, default=96, help="the default image size")
    p.add_argument("--out", default=str(Path(__file__).parent))
    args = parser.parse_args()
    {"overhead": overhead, "memory": memory, "growth": growth}[args.what](args)


if __name__ == "__main__":
    main()
