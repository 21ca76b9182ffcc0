"""Prediction throughput of a fitted pipeline on the CPU: file paths and arrays.

Fits ``make_pneumonia_pipeline()`` (the default 96 px and network; ``--size``
sets another) for 1 epoch on a small subset of the 224-px training images,
only to have a model, then times ``predict_proba`` on other images of the
training split

* given as file paths: decoding the JPEGs and resizing them is included;
* given as uint8 arrays already at the model's size: the loader passes them
  through, so this is the network alone (plus the pipeline's checks).

Both are timed with the default fields of view (``test_time_views``: the
image and two centre crops, three passes of the network) and with the image
alone (``(1.0,)``, the default before), side by side. The loader's own time
on the paths (``ImageLoader.transform``, with ``--n-jobs`` threads and with
one: the CPU time that decoding needs; and with one, without the
input-quality check) is measured too, to show how the
figures split, and so is what ``skpneumo predict`` does with the paths
(``skpneumo._predict.predict_images``: the probabilities, the labels of the
model's own ``predict`` and the quality flags, from one decoding and one
pass of the network). ``--against REV`` adds the code of an earlier commit, fitted
the same way in a child process that runs from a temporary ``git worktree``
of ``REV``, timed on the same paths in the same rounds: the speed "of
today's" that a change is held to. All are timed in rounds of rotating
order, and the median of each is reported. ``--fullsize`` predicts the
full-size originals of ``chest_xray_fullsize_sample`` instead of 224-px
training JPEGs, as many of each class (120: the 60 NORMAL and 60 PNEUMONIA).

Run from the repository root::

    python -m benchmarks.speed.bench_inference --fullsize --against f693afc

Options: ``--n-images`` (images predicted, default 512), ``--n-train``
(default 64), ``--size`` (default: the pipeline's), ``--n-jobs`` (decoding
threads, default 2), ``--rounds`` (default 3), ``--fullsize``,
``--against``, ``--data``.
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import ROOT, add_data_argument, cpu_name, timed

# Run by the child process of --against, from the earlier commit's worktree:
# it fits that commit's default pipeline as main() fits today's, says where
# its skpneumo came from and whether it has skpneumo predict's function, then
# times what each line read names: "proba" (predict_proba of the paths) or
# "labels" (predict_images, probabilities and labels, as skpneumo predict).
_CHILD = """
import json, sys, time
from pathlib import Path
import skpneumo
from skpneumo import make_pneumonia_pipeline
# an earlier commit may not have it
predict_images = None
if (Path(skpneumo.__file__).parent / "_predict.py").exists():
    from skpneumo._predict import predict_images
spec = json.loads(sys.stdin.readline())
size = {} if spec["size"] is None else {"image_size": spec["size"]}
pipe = make_pneumonia_pipeline(n_jobs=spec["n_jobs"], random_state=0, **size)
pipe.set_params(classifier__epochs=1)
pipe.fit(spec["train"], spec["labels"])
pipe.predict_proba(spec["paths"][:64])
paths = spec["paths"]
tasks = {"proba": lambda: pipe.predict_proba(paths)}
if predict_images is not None:
    tasks["labels"] = lambda: predict_images(pipe, paths, n_jobs=spec["n_jobs"])
print(json.dumps({"skpneumo": skpneumo.__file__, "tasks": list(tasks)}), flush=True)
for line in sys.stdin:
    start = time.perf_counter()
    tasks[line.strip()]()
    print(time.perf_counter() - start, flush=True)
"""


def _git(*args, check=True):
    result = subprocess.run(
        ["git", "-C", str(ROOT), *args], check=False, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result


class EarlierCommit:
    """The default pipeline of commit ``rev``, fitted and timed in a child process.

    The commit is checked out into a temporary ``git worktree`` (removed by
    :meth:`close`); the child imports ``skpneumo`` from there, with the
    packages of this environment.
    """

    def __init__(self, rev, spec):
        self.rev, self.child = rev, None
        self.folder = Path(tempfile.mkdtemp(prefix="bench_inference_")) / "tree"
        try:
            _git("worktree", "add", "--detach", "--quiet", "--", str(self.folder), rev)
            self._start(spec)
        except BaseException:
            self.close()
            raise

    def _start(self, spec):
        env = {**os.environ, "PYTHONPATH": str(self.folder)}
        self.child = subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            cwd=self.folder,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.child.stdin.write(json.dumps(spec) + "\n")
        self.child.stdin.flush()
        ready = json.loads(self._line())
        #: what the child can time: "proba", and "labels" where REV has it
        self.tasks = ready["tasks"]
        source = Path(ready["skpneumo"]).resolve()
        if self.folder.resolve() not in source.parents:
            sys.exit(f"The child imported skpneumo from {source}, not from {self.rev}.")

    def _line(self):
        line = self.child.stdout.readline()
        if not line:
            sys.exit(f"The child process for {self.rev} ended; see its output above.")
        return line

    def time(self, task):
        """Seconds of one run of ``task`` (one of :attr:`tasks`) in the child."""
        self.child.stdin.write(task + "\n")
        self.child.stdin.flush()
        return float(self._line())

    def close(self):
        """End the child and remove the worktree."""
        if self.child is not None:
            with contextlib.suppress(BrokenPipeError):  # the child may have failed
                self.child.stdin.close()
            self.child.wait()
        _git("worktree", "remove", "--force", str(self.folder), check=False)
        shutil.rmtree(self.folder.parent, ignore_errors=True)


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


def fullsize_paths(data):
    """The full-size originals, NORMAL and PNEUMONIA interleaved."""
    folder = Path(data) / "chest_xray_fullsize_sample"
    normal = sorted(str(p) for p in (folder / "NORMAL").iterdir())
    pneumonia = sorted(str(p) for p in (folder / "PNEUMONIA").iterdir())
    if not normal or not pneumonia:
        sys.exit(f"No images under {folder}; pass --data.")
    return [p for pair in zip(normal, pneumonia, strict=False) for p in pair]


def with_views(pipe, views, X):
    """``pipe.predict_proba(X)`` with the classifier's ``test_time_views`` set."""
    classifier = pipe.named_steps["classifier"]
    before = classifier.test_time_views
    classifier.set_params(test_time_views=views)
    try:
        return pipe.predict_proba(X)
    finally:
        classifier.set_params(test_time_views=before)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--n-images", type=int, default=512)
    parser.add_argument("--n-train", type=int, default=64)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--fullsize",
        action="store_true",
        help="predict the full-size originals instead of 224-px JPEGs",
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also time the default pipeline of this earlier commit, side by side",
    )
    args = parser.parse_args(argv)

    import keras
    from sklearn.base import clone

    from skpneumo import make_pneumonia_pipeline
    from skpneumo._predict import predict_images

    if args.against:
        commit = f"{args.against}^{{commit}}"
        found = _git("rev-parse", "--verify", "--quiet", commit, check=False)
        if found.returncode != 0:
            sys.exit(f"--against {args.against!r} is not a commit of {ROOT}.")
    train_paths, y_train, paths = split_paths(args.data, args.n_train, args.n_images)
    if args.fullsize:
        paths = fullsize_paths(args.data)[: args.n_images]
    size = {} if args.size is None else {"image_size": args.size}
    pipe = make_pneumonia_pipeline(
        classifier__epochs=1, n_jobs=args.n_jobs, random_state=0, **size
    )
    start = time.perf_counter()
    pipe.fit(train_paths, y_train)
    fit_s = time.perf_counter() - start
    loader = pipe.named_steps["loader"]
    arrays = loader.transform(paths)  # uint8, already at the model's size
    pipe.predict_proba(paths[:64])  # warm-up: traces the predict function

    views = pipe.named_steps["classifier"].test_time_views
    one = (1.0,)
    with_views(pipe, one, paths[:64])  # and with the one view's batch shapes
    contenders = {
        f"predict_proba(paths), views {views}": lambda: pipe.predict_proba(paths),
        f"predict_proba(paths), views {one}": lambda: with_views(pipe, one, paths),
        f"predict_proba(uint8 arrays), views {views}": lambda: pipe.predict_proba(
            arrays
        ),
        f"predict_proba(uint8 arrays), views {one}": lambda: with_views(
            pipe, one, arrays
        ),
        "loader alone on paths": lambda: loader.transform(paths),
        "loader alone on paths, one thread": lambda: (
            clone(loader).set_params(n_jobs=1).transform(paths)
        ),
        "loader, one thread, no quality check": lambda: (
            clone(loader).set_params(n_jobs=1, quality="ignore").transform(paths)
        ),
        "probabilities and labels (skpneumo predict)": lambda: predict_images(
            pipe, paths, n_jobs=args.n_jobs
        ),
    }
    timers = {name: (lambda f=f: timed(f)[0]) for name, f in contenders.items()}
    earlier = None
    if args.against:
        # absolute: the child runs in the worktree, where a relative --data fails
        spec = dict(
            size=args.size,
            n_jobs=args.n_jobs,
            train=[os.path.abspath(p) for p in train_paths],
            labels=y_train.tolist(),
            paths=[os.path.abspath(p) for p in paths],
        )
        # a kill (SIGTERM) unwinds like Ctrl-C, so the worktree is removed
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        earlier = EarlierCommit(args.against, spec)
        timers[f"{args.against}: predict_proba(paths)"] = lambda: earlier.time("proba")
        if "labels" in earlier.tasks:
            timers[f"{args.against}: probabilities and labels"] = lambda: earlier.time(
                "labels"
            )
    names = list(timers)
    load_before = os.getloadavg()[0]
    times = {name: [] for name in names}
    try:
        for round_ in range(args.rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                times[name].append(timers[name]())
    finally:
        if earlier is not None:
            earlier.close()

    n = len(paths)
    clf = pipe.named_steps["classifier"]
    print(
        f"pipeline: image_size={pipe.named_steps['loader'].image_size}, "
        f"n_blocks={clf.n_blocks}, "
        f"filters={clf.filters}, batch_size={clf.batch_size}, "
        f"{clf.model_.count_params()} weights, backend {keras.backend.backend()}, "
        f"fitted on {args.n_train} images for 1 epoch in {fit_s:.1f} s"
    )
    print(
        f"predicting {n} "
        + ("full-size originals" if args.fullsize else "224-px training JPEGs")
        + f"; loader n_jobs={args.n_jobs}; "
        f"CPU: {cpu_name()} x {os.cpu_count()}, rounds: {args.rounds} "
        "(rotating order, median), "
        f"1-min load average before: {load_before:.2f}"
    )
    for name in names:
        median = statistics.median(times[name])
        print(
            f"{name:<48}: {n / median:7.1f} images/s  (median {median:.2f} s; "
            f"all {[round(t, 2) for t in times[name]]})"
        )
    median = {name: statistics.median(times[name]) for name in names}
    default = median[names[0]]
    print(
        f"from paths, the default views against {one}: "
        f"{median[names[1]] / default:.2f}x the speed"
    )
    if args.against:
        print(
            f"from paths, today's default against {args.against}'s: "
            f"{median[f'{args.against}: predict_proba(paths)'] / default:.2f}x "
            "the speed (target: at least 1)"
        )
        if "labels" in earlier.tasks:
            ratio = (
                median[f"{args.against}: probabilities and labels"]
                / median["probabilities and labels (skpneumo predict)"]
            )
            print(
                f"probabilities and labels (skpneumo predict) against "
                f"{args.against}'s: {ratio:.2f}x the speed"
            )


if __name__ == "__main__":
    main()
