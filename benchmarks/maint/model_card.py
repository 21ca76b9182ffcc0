"""Write ``MODEL_CARD.md``: the bundled model, its data, its figures with 95% CIs.

Usage::

    python -m benchmarks.maint.model_card [DATA_DIR] [--out MODEL_CARD.md] [--n-bootstraps 2000]

Nothing is trained here. The figures come from:

* the bundled model itself (``skpneumo.load_pretrained()``), scored on the 16
  images of the official validation split and on the 240 full-size originals
  of ``../shared/data/chest_xray_fullsize_sample`` (which are training images:
  a check that full-size files are read as in training, not a measure of
  generalisation);
* ``benchmarks/studies/robustness.npz``, the saved probabilities of the shift benchmark
  (``benchmarks/studies/robustness.py``), whose "new" configuration is the same recipe
  trained on three quarters of the training patients and scored on the held-out
  quarter, as they are and under 20 shifts;
* ``benchmarks/studies/quality.json``, the patient-grouped cross-validation.

Every interval is a seeded, stratified bootstrap percentile interval over
images (``skpneumo.metrics.binary_report``). Images of one patient are
resampled independently, so the intervals are somewhat narrower than a
patient-level bootstrap would give.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks._common import ROOT, STUDIES

SEED = 0
# The card's resamples (--n-bootstraps); docs/getting_started.rst quotes it
N_BOOTSTRAPS = 2000


def _fmt(report, key, digits=3):
    value = report[key]
    low, high = report["ci"][key]
    return f"{value:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def _row(label, n, report):
    return (
        f"| {label} | {n} | {_fmt(report, 'roc_auc')} | {_fmt(report, 'sensitivity')} | "
        f"{_fmt(report, 'specificity')} | {_fmt(report, 'brier')} | {_fmt(report, 'ece')} |"
    )


def _header():
    return [
        "| images | n (NORMAL) | ROC-AUC | sensitivity | specificity | Brier score | ECE |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]


def _shift_reports(y, probas, names, threshold, n_bootstraps):
    """Reports for every shift, NORMAL images shifted and PNEUMONIA as they are."""
    from skpneumo.metrics import binary_report

    original = probas[names.index("original")]
    reports = {}
    for name, shifted in zip(names, probas, strict=True):
        # the official test split's case: its NORMAL images come from another
        # period, its PNEUMONIA images do not
        mixed = np.where(y == 0, shifted, original)
        reports[name] = {
            "normal_shifted": binary_report(
                y,
                mixed,
                threshold=threshold,
                n_bootstraps=n_bootstraps,
                random_state=SEED,
            ),
            "all_shifted": binary_report(
                y,
                shifted,
                threshold=threshold,
                n_bootstraps=n_bootstraps,
                random_state=SEED,
            ),
        }
    return reports


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default="../shared/data")
    parser.add_argument("--out", type=Path, default=ROOT / "MODEL_CARD.md")
    parser.add_argument("--n-bootstraps", type=int, default=N_BOOTSTRAPS)
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir)

    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold

    import skpneumo
    from skpneumo._pretrained import pretrained_path
    from skpneumo._tuning import CALIBRATION_FOLDS
    from skpneumo._wrappers import inner_pipeline
    from skpneumo.datasets import load_chest_xray
    from skpneumo.metrics import TARGET_SENSITIVITY, binary_report

    folder = pretrained_path()
    meta = json.loads((folder / "skpneumo.json").read_text())
    provenance = json.loads((folder / "provenance.json").read_text())
    model = skpneumo.load_pretrained()
    pipe = inner_pipeline(model)
    classifier = pipe.named_steps["classifier"]
    threshold = float(model.threshold)
    raw_threshold = float(classifier.threshold)
    n_weights = int(classifier.model_.count_params())
    size_kib = (folder / "model.keras").stat().st_size / 1024

    def scores(paths):
        images = pipe.named_steps["loader"].transform(list(paths))
        return (
            model.predict_proba(images)[:, 1],
            model.predict(images),
            pipe.predict_proba(images)[:, 1],
        )

    def report(y, proba, pred=None, at=threshold):
        return binary_report(
            y,
            proba,
            threshold=at,
            y_pred=pred,
            n_bootstraps=args.n_bootstraps,
            random_state=SEED,
        )

    val = load_chest_xray(data_dir / "chest_xray", split="val")
    full_dir = data_dir / "chest_xray_fullsize_sample"
    full_paths = sorted(str(p) for p in (full_dir / "NORMAL").iterdir()) + sorted(
        str(p) for p in (full_dir / "PNEUMONIA").iterdir()
    )
    n_full_normal = len(list((full_dir / "NORMAL").iterdir()))
    full_y = np.r_[
        np.zeros(n_full_normal, int), np.ones(len(full_paths) - n_full_normal, int)
    ]
    val_p, val_pred, _ = scores(val.paths)
    full_p, full_pred, _ = scores(full_paths)
    val_report, full_report = (
        report(val.target, val_p, val_pred),
        report(full_y, full_p, full_pred),
    )

    # The calibration fold: the patients held out of the network's fit, drawn
    # as `skpneumo train --calibrate` draws them. The calibrator's two
    # parameters were fitted on these images, so its figures are in-sample
    # for the calibration (not for the network).
    train = load_chest_xray(data_dir / "chest_xray", split="train")
    folds = StratifiedGroupKFold(CALIBRATION_FOLDS, shuffle=True, random_state=0)
    _, held_out = next(folds.split(train.paths, train.target, train.groups))
    cal_y = train.target[held_out]
    cal_p, cal_pred, cal_raw = scores(train.paths[held_out])
    # Out of sample: a sigmoid of the same score refitted on four fifths of the
    # fold's patients and applied to the fifth left out, five times over
    score = pipe.decision_function(
        pipe.named_steps["loader"].transform(list(train.paths[held_out]))
    )
    # and, for comparison, a sigmoid of the probability itself, which is what
    # calibration would fit without decision_function
    crossed, crossed_p = np.empty(len(cal_y)), np.empty(len(cal_y))
    inner = StratifiedGroupKFold(5, shuffle=True, random_state=0)
    for fit_idx, test_idx in inner.split(score, cal_y, train.groups[held_out]):
        for feature, out in ((score, crossed), (cal_raw, crossed_p)):
            sigmoid = LogisticRegression(C=1e6).fit(
                feature[fit_idx, None], cal_y[fit_idx]
            )
            out[test_idx] = sigmoid.predict_proba(feature[test_idx, None])[:, 1]
    n = f"{len(cal_y)} ({int((cal_y == 0).sum())})"
    cal_rows = [
        _row("network's probability", n, report(cal_y, cal_raw, at=raw_threshold)),
        _row("calibrated probability (in-sample)", n, report(cal_y, cal_p, cal_pred)),
        _row(
            "sigmoid cross-fitted within the fold (out of sample)",
            n,
            report(cal_y, crossed, cal_pred),
        ),
        _row(
            "the same, sigmoid of the probability instead of the log-odds",
            n,
            report(cal_y, crossed_p, cal_pred),
        ),
    ]

    bench = json.loads((STUDIES / "robustness.json").read_text())
    saved = np.load(STUDIES / "robustness.npz")
    split_rows, worst_rows = [], []
    for split, label in (
        ("grouped", "held-out patients (grouped)"),
        ("earliest", "earliest-numbered patients"),
    ):
        result = bench["results"][split]["new"]
        names = list(result["shifts"])
        y = saved[f"{split}/y"]
        probas = saved[f"{split}/new"]
        bench_threshold = result["threshold"]
        reports = _shift_reports(y, probas, names, bench_threshold, args.n_bootstraps)
        split_rows.append(
            _row(
                label,
                f"{len(y)} ({int((y == 0).sum())})",
                reports["original"]["all_shifted"],
            )
        )
        for key, what in (
            ("roc_auc", "ROC-AUC"),
            ("specificity", "specificity"),
            ("sensitivity", "sensitivity"),
        ):
            case = "normal_shifted" if key != "sensitivity" else "all_shifted"
            worst = min(names, key=lambda n: reports[n][case][key])
            worst_rows.append(
                f"| {label} | {what} | {worst} | {_fmt(reports[worst][case], key)} |"
            )

    quality = json.loads((STUDIES / "quality.json").read_text())
    cv_lines = []
    for setting, label in (
        ("0.5", "at 0.5"),
        ("chosen", "at the threshold chosen on the other folds"),
    ):
        folds = quality["folds"][setting]
        keys = (
            ("roc_auc", "sensitivity", "specificity")
            if setting == "0.5"
            else ("sensitivity", "specificity")
        )
        for key in keys:
            values = np.array([fold[key] for fold in folds])
            name = "ROC-AUC" if key == "roc_auc" else f"{key} {label}"
            cv_lines.append(
                f"| {name} | {values.mean():.3f} ± {values.std(ddof=1):.3f} |"
            )

    grouped = _shift_reports(
        saved["grouped/y"],
        saved["grouped/new"],
        list(bench["results"]["grouped"]["new"]["shifts"]),
        bench["results"]["grouped"]["new"]["threshold"],
        0,
    )["original"]["all_shifted"]
    text = TEMPLATE.format(
        version=skpneumo.__version__,
        raw_threshold=raw_threshold,
        cal_table="\n".join(_header() + cal_rows),
        n_cal_patients=len(set(train.groups[held_out])),
        n_views=len(classifier.test_time_views),
        views=tuple(classifier.test_time_views),
        grouped_sens=grouped["sensitivity"],
        grouped_spec=grouped["specificity"],
        n_weights=n_weights,
        size_kib=size_kib,
        sha=meta["model_sha256"],
        threshold=threshold,
        keras_version=provenance["versions"]["keras"],
        backend=provenance["versions"]["backend"],
        cpu=provenance["cpu"],
        fit_minutes=provenance["fit_wall_seconds"] / 60,
        n_normal=provenance["data"]["n_normal"],
        n_pneumonia=provenance["data"]["n_pneumonia"],
        image_size=pipe.named_steps["loader"].image_size,
        epochs=classifier.epochs,
        n_bootstraps=args.n_bootstraps,
        own_table="\n".join(
            [
                *_header(),
                _row(
                    "official validation split",
                    f"{len(val.target)} ({int((val.target == 0).sum())})",
                    val_report,
                ),
                _row(
                    "240 full-size training originals",
                    f"{len(full_y)} ({n_full_normal})",
                    full_report,
                ),
            ]
        ),
        split_table="\n".join(_header() + split_rows),
        bench_threshold=bench["results"]["grouped"]["new"]["threshold"],
        worst_table="\n".join(
            [
                "| split | measure | worst shift | value (95% CI) |",
                "| --- | --- | --- | --- |",
                *worst_rows,
            ]
        ),
        cv_table="\n".join(
            [
                "| measure | mean ± sample SD (ddof=1) over 3 folds |",
                "| --- | --- |",
                *cv_lines,
            ]
        ),
        bench_command=bench["settings"]["command"],
        target_sensitivity=TARGET_SENSITIVITY,
    )
    args.out.write_text(text)
    print(f"Wrote {args.out} (keras {keras.__version__}, {keras.backend.backend()})")
    return 0


TEMPLATE = """\
# Model card: skpneumo's bundled model "default"

`skpneumo.load_pretrained()` and `skpneumo predict` with no `--model` use this model.
This card is written by `python -m benchmarks.maint.model_card`; every figure in it is
measured by that command from the files it names.

## Model details

- What: `make_pneumonia_pipeline(random_state=0)` with every other setting at its
  default (skpneumo {version}): greyscale images squashed to {image_size} px, the NORMAL
  class over-sampled with zoomed copies (`ZoomOverSampler`), and a 4-block CNN of
  {n_weights:,} weights trained from scratch for {epochs} epochs with scale, aspect,
  shift, rotation, blur, brightness, contrast and gamma augmentation, a fixed
  0.8-pixel smoothing of every image, batch-normalisation statistics recomputed on
  the clean training images, and per-image
  standardisation; it predicts with the mean log-odds of {n_views} fields of view
  (`test_time_views={views}`: centre crops below 1); fitted on four fifths of the
  training patients, its probabilities
  then calibrated (Platt's sigmoid, `CalibratedClassifierCV(FrozenEstimator(pipe))`)
  on the {n_cal_patients} patients of the other fifth, as `skpneumo train --calibrate` does.
- Operating threshold: PNEUMONIA when the calibrated P(pneumonia) >= {threshold:.4f}
  (`FixedThresholdClassifier`): the calibrated value of the pipeline's own threshold
  {raw_threshold:g} on the network's probability, so calibration changed what the
  probabilities mean, not which images are called PNEUMONIA.
- Files: `skpneumo/pretrained/default/`, in skpneumo's pickle-free format:
  `model.keras` ({size_kib:.0f} KiB, SHA-256 `{sha}`, checked at every load),
  `skpneumo.json` (the pipeline's parameters) and `provenance.json`.
- Reproduce: `python -m benchmarks.maint.train_pretrained ../shared/data/chest_xray`
  (Keras {keras_version} on {backend}, {fit_minutes:.1f} min of fitting on
  {cpu}). Another CPU family may round differently and give a slightly different network.

## Training data

The official training split of Kermany, Zhang and Goldbaum (2018), "Labeled Optical
Coherence Tomography (OCT) and Chest X-Ray Images for Classification", Mendeley Data v2,
doi:10.17632/rscbjbr9sj.2, licence CC BY 4.0 (the Kaggle "Chest X-Ray Images
(Pneumonia)" data set); cite Kermany et al., Cell 172(5):1122-1131, 2018.
{n_normal:,} NORMAL and {n_pneumonia:,} PNEUMONIA (bacterial and viral) images of
children aged one to five, anterior-posterior chest X-rays from routine care at one
centre, the Guangzhou Women and Children's Medical Center. This project's copy of the
split is resized to 224x224 without keeping the aspect ratio.

## Intended use

Research and teaching: a baseline to compare against, a model to probe, a starting
point for your own training. It is not a medical device and must not be used to
diagnose, triage or treat anyone.

## Figures

Intervals are 95% stratified-bootstrap percentile intervals over images
({n_bootstraps} resamples, seed 0, the `--n-bootstraps` of this command; `skpneumo
evaluate` draws 1000 by default); images of one patient are resampled independently,
so they are somewhat narrower than a patient-level bootstrap would give. ECE is the
expected calibration error over 10 equal-width bins.

### The bundled model itself

The 240 full-size originals are training images: these rows check that full-size
files are read as in training, and say nothing about new patients. The validation
split has 16 images, hence its wide intervals.

{own_table}

### Calibration

On the {n_cal_patients} held-out patients' images, the network's own probability and
the calibrated one. The calibrator's two parameters were fitted on these images, so
that row is in-sample for them (the network never saw the images); the last row
refits the sigmoid (a plain logistic regression on the same score) on four fifths of
these patients and scores the fifth left out, five times over, for an out-of-sample
Brier score and ECE (its labels are the model's own). The last row fits the same
sigmoid to the network's probability instead of its log-odds: it cannot rise above
its value at a probability of 1, so it calibrates worse and ties the top images.

{cal_table}

### The same recipe on patients it never saw

From the shift benchmark (`python -m benchmarks.studies.robustness {bench_command}`): the
same recipe, uncalibrated, trained on three quarters of the training patients and
scored on the other quarter, at the network's threshold {bench_threshold}. Brier score
and ECE here are those of the uncalibrated network. "Earliest-numbered patients" holds out
the lowest-numbered quarter of each class, a stand-in for an earlier acquisition
period.

{split_table}

Worst case over the benchmark's 21 shifts (field of view, zoom, exposure,
JPEG re-encoding, resolution). ROC-AUC and specificity are measured with only the
NORMAL images shifted, the case of X-rays of healthy children from another period;
sensitivity with every image shifted:

{worst_table}

### Patient-grouped cross-validation

`python -m benchmarks.studies.quality` (3 folds of the training split, split by patient;
the same run as `benchmarks/studies/quality.md`, whose ± is also the sample SD):

{cv_table}

### The official test split

Not measured by this project: its 624 images are kept out of the shared data on
purpose. Run `skpneumo evaluate chest_xray --split test --report report` on your copy
of the Kaggle data for figures with intervals.

## The threshold and what it trades

The network's own operating point ({raw_threshold:g}) is the highest threshold that
kept a sensitivity of {target_sensitivity:g} (`skpneumo.metrics.TARGET_SENSITIVITY`) on
held-out patients as they are, on both splits of the shift benchmark; the shifts were
checked at it and did not set it. The bundled model applies its calibrated value,
{threshold:.4f}, to its calibrated probability; a bare `PneumoniaClassifier` keeps
scikit-learn's 0.5. On new patients of the
training period it keeps a sensitivity of {grouped_sens:.3f} at a specificity of
{grouped_spec:.3f} (held-out patients above). A higher threshold buys specificity at the
cost of sensitivity. The calibrated probability is what to read as a risk; the label is
the operating point's. Re-choose the threshold on images of your own site
(`skpneumo tune`) before relying on the labels there. The documentation's threshold page
(`docs/user_guide/threshold.rst`) says which threshold applies to which probability and
how to choose your own.

## Known failure modes

- Adults: trained on children aged one to five only.
- Lateral views and anything but frontal chest X-rays: never seen; the model still
  returns a probability. The loader's input-quality check flags (warns about, or with
  `quality="raise"` refuses) blank, tiny, colour, inverted and rotated images, but not
  lateral views or other body parts.
- Other hospitals, devices and periods: one centre only. The shift benchmark shows the
  model's weak spots: a view cropped closer to the chest pushes NORMAL images
  towards PNEUMONIA (the worst specificities above).
- Probabilities are calibrated on patients of the training period; on another site
  or period they can be off again (the shifts above move them).
- Diseases other than bacterial and viral pneumonia: the model knows two classes only.
- DICOM files are read through their window or VOI LUT; a study exported with an
  unusual window can look darker or brighter than the training images.
"""

if __name__ == "__main__":
    sys.exit(main())
