"""Simulated site: ``skpneumo tune`` on shifted patients the bundled network never saw.

Usage::

    python -m benchmarks.studies.simulated_site [DATA_DIR] [--shifts NAME,NAME]
        [--repeats 3] [--target 0.95] [--n-bootstraps 1000] [--out PREFIX]

The bundled model (``skpneumo/pretrained/default``) was trained by
``benchmarks/maint/train_pretrained.py`` on four fifths of the patients of the
official training split, and its sigmoid calibration was fitted on the fifth
its network never saw: fold 0 of ``StratifiedGroupKFold(5, shuffle=True,
random_state=0)`` by patient. This script rebuilds that fold from DATA_DIR
(default ``../shared/data/chest_xray``), after checking that the images are
those the model's ``provenance.json`` names (their digest), and uses only
those patients: none of their images trained the network (they did fit the
default's calibration, a monotonic map, which does not change which images a
threshold separates).

A site is simulated by one of the shifts of ``benchmarks/studies/robustness.py``
applied to every held-out image (decoded at 224 px as there). The patients
are then halved at random, stratified by class (``StratifiedGroupKFold(2)``,
one halving per repeat): on the first half,
:func:`skpneumo._tuning.tune_operating_point` (what ``skpneumo tune`` runs)
chooses the threshold of sensitivity ``--target``, with a bootstrap 95%
interval resampling patients; on the second half, the bundled model before
and after tuning is scored. The check: the second half's sensitivity lies
within the interval the first half reported.

It writes PREFIX.md and PREFIX.json (default ``benchmarks/studies/simulated_site``).
Run time: about three minutes on two CPU cores for the defaults.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.maint.train_pretrained import _data_digest
from benchmarks.studies.robustness import SHIFTS

DEFAULT_SHIFTS = (
    "original",
    "zoom in 20% (centre crop)",
    "top/bottom cropped 20%",
    "sides padded 20%",
)


def held_out_patients(data):
    """The indices of the patients the bundled network never saw."""
    from sklearn.model_selection import StratifiedGroupKFold

    from skpneumo._tuning import CALIBRATION_FOLDS

    folds = StratifiedGroupKFold(CALIBRATION_FOLDS, shuffle=True, random_state=0)
    return next(folds.split(data.paths, data.target, data.groups))[1]


def rates(y, labels):
    """Sensitivity and specificity of 0/1 ``labels``."""
    return float(labels[y == 1].mean()), float(1 - labels[y == 0].mean())


def run_site(model, images, y, groups, *, target, repeats, n_bootstraps):
    """Tune on one half of the patients and score the other, ``repeats`` times."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    from skpneumo._tuning import tune_operating_point

    positive = model.classes_[1]
    before = (np.asarray(model.predict(images)) == positive).astype(int)
    rows = []
    for repeat in range(repeats):
        halves = StratifiedGroupKFold(2, shuffle=True, random_state=repeat)
        tune_part, check_part = next(halves.split(images, y, groups))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a half has more than 100 of each class
            tuned, record = tune_operating_point(
                model,
                images[tune_part],
                y[tune_part],
                groups[tune_part],
                target=target,
                n_bootstraps=n_bootstraps,
                random_state=repeat,
            )
        after = (np.asarray(tuned.predict(images[check_part])) == positive).astype(int)
        low, high = record["tuned"]["ci"]["sensitivity"]
        sens_after, spec_after = rates(y[check_part], after)
        sens_before, spec_before = rates(y[check_part], before[check_part])
        rows.append(
            {
                "repeat": repeat,
                "n_tune": record["n_images"],
                "patients_tune": record["n_patients"],
                "n_check": {
                    "NORMAL": int((y[check_part] == 0).sum()),
                    "PNEUMONIA": int((y[check_part] == 1).sum()),
                },
                "threshold_before": record["previous"]["threshold"],
                "threshold_after": record["threshold"],
                "tune_sensitivity": record["tuned"]["sensitivity"],
                "tune_specificity": record["tuned"]["specificity"],
                "ci_sensitivity": [low, high],
                "ci_specificity": record["tuned"]["ci"]["specificity"],
                "check_before": {
                    "sensitivity": sens_before,
                    "specificity": spec_before,
                },
                "check_after": {"sensitivity": sens_after, "specificity": spec_after},
                "within_ci": bool(low <= sens_after <= high),
                "target_within_ci": bool(low <= target <= high),
            }
        )
    return {
        "all_images_before": dict(
            zip(("sensitivity", "specificity"), rates(y, before), strict=True)
        ),
        "repeats": rows,
    }


def markdown(results, settings):
    lines = [
        "# Simulated site: `skpneumo tune` on shifted held-out patients",
        "",
        f"`{settings['command']}`",
        "",
        f"Bundled model `default` (threshold {settings['default_threshold']:.4f} on "
        f"its calibrated P(pneumonia)); {settings['n_images']} held-out images "
        f"({settings['n_normal']} NORMAL, {settings['n_pneumonia']} PNEUMONIA) of "
        f"{settings['n_patients']} patients its network never saw (fold 0 of the "
        "bundled model's StratifiedGroupKFold; data digest checked against its "
        "provenance.json). Each repeat halves the patients (StratifiedGroupKFold(2), "
        "seed = repeat), tunes on the first half for sensitivity "
        f">= {settings['target']:g} and scores the second. CI: the 95% interval "
        "that `tune` reports for the sensitivity on other patients of the site: "
        f"{settings['n_bootstraps']} bootstrap resamples of the tuning half's "
        "patients within class, the threshold chosen again in each and measured on "
        "the patients it left out.",
        "",
        "| shift | repeat | threshold before / after | tuning half: sensitivity "
        "(95% CI) | other half before tuning: sens. / spec. | other half after "
        "tuning: sens. / spec. | other half's sensitivity in the CI |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    inside = total = 0
    for shift, result in results.items():
        for row in result["repeats"]:
            low, high = row["ci_sensitivity"]
            b, a = row["check_before"], row["check_after"]
            total += 1
            inside += row["within_ci"]
            lines.append(
                f"| {shift} | {row['repeat']} | {row['threshold_before']:.4f} / "
                f"{row['threshold_after']:.4f} | {row['tune_sensitivity']:.3f} "
                f"({low:.3f} to {high:.3f}) | {b['sensitivity']:.3f} / "
                f"{b['specificity']:.3f} | {a['sensitivity']:.3f} / "
                f"{a['specificity']:.3f} | {'yes' if row['within_ci'] else '**no**'} |"
            )
    lines += [
        "",
        f"The other half's sensitivity lay within the tuning half's interval in "
        f"{inside} of {total} site-halvings.",
        "",
        "Whole held-out set under each shift, bundled model before tuning "
        "(sensitivity / specificity):",
        "",
        "| shift | sensitivity | specificity |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {shift} | {r['all_images_before']['sensitivity']:.3f} | "
        f"{r['all_images_before']['specificity']:.3f} |"
        for shift, r in results.items()
    ]
    lines += ["", f"Run time {settings['wall_seconds']:.0f} s.", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default="../shared/data/chest_xray")
    parser.add_argument("--shifts", default=",".join(DEFAULT_SHIFTS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--n-bootstraps", type=int, default=1000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/studies/simulated_site")
    args = parser.parse_args(argv)
    shifts = args.shifts.split(",")
    unknown = [name for name in shifts if name not in SHIFTS]
    if unknown:
        parser.error(f"unknown shift(s) {unknown}; known: {list(SHIFTS)}")

    from skpneumo import ImageLoader
    from skpneumo._decision import decision_rule
    from skpneumo._persistence import load_model
    from skpneumo._pretrained import pretrained_path
    from skpneumo._wrappers import inner_pipeline
    from skpneumo.datasets import load_chest_xray

    start = time.perf_counter()
    folder = pretrained_path("default")
    provenance = json.loads((folder / "provenance.json").read_text())
    data = load_chest_xray(args.data_dir, split="train")
    if _data_digest(data.paths) != provenance["data"]["names_and_sizes_sha256"]:
        sys.exit(
            f"{args.data_dir}/train is not the data the bundled model was trained on "
            "(its names-and-sizes digest differs from provenance.json): the held-out "
            "patients cannot be recovered."
        )
    held = held_out_patients(data)
    y, groups = data.target[held], data.groups[held]
    model = load_model(folder)
    loader = inner_pipeline(model).named_steps["loader"]
    raw = ImageLoader(image_size=224, n_jobs=args.n_jobs).fit_transform(
        data.paths[held]
    )
    results = {}
    for name in shifts:
        shifted = SHIFTS[name](raw[..., 0])[..., np.newaxis]
        images = loader.transform(shifted)  # once, at the model's size
        results[name] = run_site(
            model,
            images,
            y,
            groups,
            target=args.target,
            repeats=args.repeats,
            n_bootstraps=args.n_bootstraps,
        )
        for row in results[name]["repeats"]:
            print(
                f"{name} / {row['repeat']}: threshold {row['threshold_after']:.4f}, "
                f"CI {row['ci_sensitivity'][0]:.3f}-{row['ci_sensitivity'][1]:.3f}, "
                f"other half {row['check_after']['sensitivity']:.3f} / "
                f"{row['check_after']['specificity']:.3f}",
                flush=True,
            )
    settings = {
        "command": "python -m benchmarks.studies.simulated_site "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "default_threshold": decision_rule(model)[0],
        "n_images": len(y),
        "n_normal": int((y == 0).sum()),
        "n_pneumonia": int((y == 1).sum()),
        "n_patients": len(set(groups.tolist())),
        "target": args.target,
        "n_bootstraps": args.n_bootstraps,
        "wall_seconds": time.perf_counter() - start,
    }
    out = Path(args.out)
    out.with_suffix(".json").write_text(
        json.dumps({"settings": settings, "results": results}, indent=2) + "\n"
    )
    out.with_suffix(".md").write_text(markdown(results, settings))
    print(f"Wrote {out}.md and {out}.json")


if __name__ == "__main__":
    main()
