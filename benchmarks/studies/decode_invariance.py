"""Decode-path benchmark: one X-ray, read in several ways, must get one answer.

Usage::

    python -m benchmarks.studies.decode_invariance [DATA_DIR] [--models default]
        [--fit f693afc,new] [--work DIR] [--out benchmarks/studies/decode_invariance]

One X-ray stored or read in two ways must get one answer. For each of the 240
full-size originals of ``chest_xray_fullsize_sample`` the reference is what a
user gets, the model's own loader on the original file; each variant reads the
same picture another way:

- the JPEG decoded in full instead of in draft mode (libjpeg's reduced-scale
  decoding), then resized as the loader does (bicubic);
- the full decode resized by another Pillow filter (bilinear, Lanczos, box);
- the 224-px copy of the same file in ``chest_xray/train``;
- the original re-encoded as JPEG at quality 95 and 75;
- a DICOM file holding exactly the original's decoded pixels.

For every model and variant it reports the median, 90th percentile and
largest ``|P(variant) - P(reference)|`` of P(pneumonia), and the share of
images whose label (the model's own ``predict``) flips. The targets are a
90th percentile of at most 0.02 and at most 2% of the labels flipped.

``--models`` takes model folders or bundled names. ``--fit`` fits
configurations of ``benchmarks/studies/robustness.py`` on the training split without
the sample's patients, saves each in ``--work`` (reused there by a later run;
configurations that differ only in threshold or fields of view share one fit)
and adds it; on these held-out patients the report also gives ROC-AUC,
sensitivity, specificity and the median NORMAL probability of the reference
reading, at full size as the official test split is.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.studies.robustness import FULL_SCALE, _seconds, fitted_pipeline
from skpneumo import load_model
from skpneumo._image import decode_file
from skpneumo._pretrained import model_location
from skpneumo._wrappers import inner_pipeline
from skpneumo.datasets import load_chest_xray
from skpneumo.metrics import binary_report

FILTERS = {
    "bilinear": Image.Resampling.BILINEAR,
    "Lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}


def _full(path):
    """The file's pixels at full size, greyscale, decoded without draft mode."""
    with Image.open(path) as image:
        return image.convert("L")


def _resized(image, size, resample):
    return np.asarray(image.resize(size[::-1], resample=resample))[..., np.newaxis]


def _jpeg_file(image, quality, folder, name):
    path = Path(folder) / f"{name}.q{quality}.jpeg"
    image.save(path, format="JPEG", quality=quality)
    return path


def _dicom_file(image, folder, name):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import DigitalXRayImageStorageForPresentation

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = DigitalXRayImageStorageForPresentation
    ds.Modality = "DX"
    ds.set_pixel_data(np.asarray(image), "MONOCHROME2", 8)
    path = Path(folder) / f"{name}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def readings(paths, copies, size, folder):
    """Every variant's input for the model: a list of files or an image array."""
    out = {name: [] for name in ("full decode", *FILTERS)}
    out.update({"224-px copy": list(copies), "JPEG q95": [], "JPEG q75": []})
    out["DICOM"] = []
    for path in paths:
        image = _full(path)
        out["full decode"].append(decode_file(path, size, draft=False))
        for name, resample in FILTERS.items():
            out[name].append(_resized(image, size, resample))
        stem = Path(path).stem
        out["JPEG q95"].append(_jpeg_file(image, 95, folder, stem))
        out["JPEG q75"].append(_jpeg_file(image, 75, folder, stem))
        out["DICOM"].append(_dicom_file(image, folder, stem))
    return {
        name: np.stack(items) if isinstance(items[0], np.ndarray) else items
        for name, items in out.items()
    }


def score_model(model, paths, y, copies, folder):
    pipeline = inner_pipeline(model)
    loader = pipeline.named_steps["loader"]
    size = (
        (loader.image_size, loader.image_size)
        if np.isscalar(loader.image_size)
        else tuple(loader.image_size)
    )
    images = loader.transform([str(p) for p in paths])
    reference = model.predict_proba(images)[:, 1]
    labels = model.predict(images)
    positive = model.classes_[1]
    report = binary_report(
        y, reference, y_pred=(labels == positive).astype(int), n_bootstraps=0
    )
    result = {
        "held_out": {
            key: report[key] for key in ("roc_auc", "sensitivity", "specificity")
        },
        "median_p_normal": float(np.median(reference[y == 0])),
        "variants": {},
    }
    for name, inputs in readings(paths, copies, size, folder).items():
        if not isinstance(inputs, np.ndarray):
            inputs = loader.transform([str(p) for p in inputs])
        proba = model.predict_proba(inputs)[:, 1]
        delta = np.abs(proba - reference)
        result["variants"][name] = {
            "median": float(np.median(delta)),
            "p90": float(np.percentile(delta, 90)),
            "max": float(delta.max()),
            "flipped": float(np.mean(model.predict(inputs) != labels)),
        }
    return result


def fitted(config, data, sample_groups, work):
    """The configuration fitted on the patients outside the sample (cached).

    The fits are ``robustness.fitted_pipeline``'s, saved in ``work``: the
    configurations that differ only in predict-time parameters (threshold,
    fields of view) share one, each scoring with its own of today.
    """
    train = ~np.isin(data.groups, list(sample_groups))
    pipe, seconds = fitted_pipeline(
        config,
        FULL_SCALE,
        "without-sample",
        data.paths[train],
        data.target[train],
        models=work,
    )
    print(f"{config}: fit {_seconds(seconds)} s", flush=True)
    return pipe.set_params(loader__verbose=0, classifier__verbose=0)


def markdown(results, command, n_images):
    lines = [
        "# Decode-path benchmark",
        "",
        f"`python -m benchmarks.studies.decode_invariance {command}`",
        "",
        f"{n_images} full-size originals; |ΔP| against the model's own loader on "
        "the original file: median / 90th percentile / largest, then the share "
        "of labels flipped at the model's operating point. Targets: 90th "
        "percentile <= 0.02, <= 2% flipped.",
        "",
    ]
    models = list(results)
    lines += [
        "| reading | " + " | ".join(models) + " |",
        "| --- | " + " | ".join("---" for _ in models) + " |",
    ]
    for variant in next(iter(results.values()))["variants"]:
        cells = []
        for model in models:
            v = results[model]["variants"][variant]
            cells.append(
                f"{v['median']:.4f} / {v['p90']:.4f} / {v['max']:.3f}, "
                f"{100 * v['flipped']:.1f}%"
            )
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "On the original files (the fitted configurations never saw these "
        "patients; a bundled model may have): ROC-AUC, sensitivity / "
        "specificity at the model's operating point, median P of the NORMAL "
        "images.",
        "",
        "| model | ROC-AUC | sensitivity / specificity | median NORMAL P |",
        "| --- | --- | --- | --- |",
    ]
    for model, result in results.items():
        h = result["held_out"]
        lines.append(
            f"| {model} | {h['roc_auc']:.3f} | {h['sensitivity']:.3f} / "
            f"{h['specificity']:.3f} | {result['median_p_normal']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default="../shared/data")
    parser.add_argument("--models", default="default")
    parser.add_argument("--fit", default="")
    parser.add_argument("--work", default="benchmarks/_work/decode_invariance")
    parser.add_argument("--out", default="benchmarks/studies/decode_invariance")
    args = parser.parse_args(argv)

    root = Path(args.data_dir)
    train = load_chest_xray(root / "chest_xray", split="train")
    # the originals of some training files: their labels, patients and copies
    paths = sorted(str(p) for p in (root / "chest_xray_fullsize_sample").glob("*/*"))
    row_of = {Path(p).name: i for i, p in enumerate(train.paths)}
    rows = [row_of[Path(p).name] for p in paths]
    y, copies = train.target[rows], train.paths[rows]
    models = {}
    for name in filter(None, args.models.split(",")):
        models[name] = load_model(model_location(name))
    for config in filter(None, args.fit.split(",")):
        models[config] = fitted(config, train, set(train.groups[rows]), args.work)

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, model in models.items():
            start = time.perf_counter()
            results[name] = score_model(model, paths, y, copies, folder)
            worst = max(v["p90"] for v in results[name]["variants"].values())
            print(
                f"{name}: worst p90 |dP| {worst:.4f} "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    command = " ".join(argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(results, command, len(paths)))
    print(f"wrote {out}.md and {out}.json")


if __name__ == "__main__":
    main()
