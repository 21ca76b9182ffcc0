"""The skpneumo command line: train, evaluate, predict, and its errors."""

import html
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from _helpers import TINY, routed, synthetic_frontal_xray
from PIL import Image

from skpneumo._cli import main
from skpneumo._decision import DEFAULT_THRESHOLD

TRAIN = ["--image-size", "16", "--epochs", "1", "--quiet"]


@pytest.fixture(scope="module")
def trained(kaggle_root, tmp_path_factory):
    model = tmp_path_factory.mktemp("cli") / "model"
    assert main(["train", str(kaggle_root), "--output", str(model), *TRAIN]) == 0
    return model


def test_train_writes_model_and_curves(trained, capsys):
    assert (trained / "model.keras").is_file()
    assert (trained / "skpneumo.json").is_file()
    assert (trained / "training_curves.png").stat().st_size > 0


def test_train_holds_out_patients_for_its_validation_curves(
    trained, kaggle_root, tmp_path
):
    from skpneumo import load_model
    from skpneumo.datasets import load_chest_xray

    history = load_model(trained).named_steps["classifier"].history_
    assert len(history["val_loss"]) == len(history["val_auc"]) == 1
    report = json.loads((trained / "validation.json").read_text())
    data = load_chest_xray(kaggle_root, split="train")
    # whole patients of both classes, a tenth of them, none also trained on
    held = np.isin(data.groups, report["patients"])
    assert report["n_images"] == held.sum() and 2 <= report["n_patients"] <= 4
    assert set(data.target[held].tolist()) == {0, 1}
    assert report["decision_rule"].startswith("P(pneumonia) >= 0.2")
    assert {"roc_auc", "sensitivity", "specificity", "ci"} <= set(report)
    # off at 0: every patient trained on, no held-out figures
    plain = tmp_path / "plain"
    argv = ["train", str(kaggle_root), "-o", str(plain), *TRAIN]
    assert main([*argv, "--validation-fraction", "0"]) == 0
    assert not (plain / "validation.json").exists()
    assert "val_loss" not in load_model(plain).named_steps["classifier"].history_


def test_evaluate_writes_report(trained, kaggle_root, tmp_path, capsys):
    report = tmp_path / "report"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(trained),
                str(kaggle_root),
                "--split",
                "val",
                "--report",
                str(report),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| recall / sensitivity |" in out and "| true NORMAL |" in out
    metrics = json.loads((report / "metrics.json").read_text())
    for key in (
        "accuracy",
        "precision",
        "sensitivity",
        "specificity",
        "f1",
        "roc_auc",
        "tn",
        "fp",
        "fn",
        "tp",
    ):
        assert key in metrics
    assert metrics["tn"] + metrics["fp"] + metrics["fn"] + metrics["tp"] == 8
    for name in (
        "metrics.md",
        "roc_curve.png",
        "confusion_matrix.png",
        "precision_recall_curve.png",
        "calibration_curve.png",
    ):
        assert (report / name).stat().st_size > 0
        assert name in out  # the last line lists the files written

    # 95% intervals from 1000 seeded resamples, for every metric and subtype
    assert (metrics["n_bootstraps"], metrics["confidence_level"]) == (1000, 0.95)
    assert metrics["random_state"] == 0
    for key in ("accuracy", "sensitivity", "specificity", "roc_auc", "brier", "ece"):
        low, high = metrics["ci"][key]
        assert 0 <= low <= high <= 1, key
    by_subtype = metrics["sensitivity_by_subtype"]  # the fixture names 2 of each
    assert {name: entry["n"] for name, entry in by_subtype.items()} == {
        "bacteria": 2,
        "virus": 2,
    }
    assert all(len(entry["ci"]) == 2 for entry in by_subtype.values())
    table = (report / "metrics.md").read_text()
    ci = metrics["ci"]["roc_auc"]
    assert (
        f"| ROC-AUC | {metrics['roc_auc']:.4f} | {ci[0]:.4f} to {ci[1]:.4f} |" in table
    )
    assert "| Brier score" in table and "| ECE, 10 bins" in table
    assert "1000 bootstrap resamples drawn within each true class, seed 0" in table
    assert "| bacteria | 2 |" in table and "| virus | 2 |" in table


def _evaluate_val(model, root, report):
    """``metrics.json`` of ``skpneumo evaluate`` on the val split, no intervals."""
    argv = ["evaluate", "-m", str(model), str(root), "--split", "val"]
    assert main([*argv, "--report", str(report), "--n-bootstraps", "0"]) == 0
    return json.loads((report / "metrics.json").read_text())


def test_evaluate_without_intervals(trained, kaggle_root, tmp_path, capsys):
    report = tmp_path / "report"
    metrics = _evaluate_val(trained, kaggle_root, report)
    assert metrics["n_bootstraps"] == 0 and "ci" not in metrics
    assert "ci" not in metrics["sensitivity_by_subtype"]["virus"]
    table = (report / "metrics.md").read_text()
    assert "| metric | value |" in table and "CI" not in table


# the ROC curve of a single class is undefined, and scikit-learn says so
@pytest.mark.filterwarnings("ignore:No negative samples in y_true")
def test_undefined_metrics_are_null_in_metrics_json(trained, kaggle_root, tmp_path):
    # Only PNEUMONIA images: ROC-AUC and specificity are undefined. The file
    # must still be strict JSON (no NaN), with null where a metric has no value.
    csv_file = tmp_path / "pneumonia.csv"
    files = sorted((kaggle_root / "val" / "PNEUMONIA").iterdir())
    csv_file.write_text("path,label\n" + "".join(f"{f},PNEUMONIA\n" for f in files))
    report = tmp_path / "report"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(trained),
                str(csv_file),
                "--report",
                str(report),
                "--n-bootstraps",
                "50",
            ]
        )
        == 0
    )

    def reject(constant):
        raise AssertionError(f"{constant} in metrics.json")

    metrics = json.loads((report / "metrics.json").read_text(), parse_constant=reject)
    assert metrics["roc_auc"] is None and metrics["specificity"] is None
    assert metrics["ci"]["roc_auc"] == [None, None]
    assert 0 <= metrics["sensitivity"] <= 1


def test_predict_csv_and_json(trained, kaggle_root, capsys):
    val = kaggle_root / "val"
    assert main(["predict", "--model", str(trained), str(val)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    # the rule that made the labels, from the model: the pipeline's threshold
    assert captured.err.splitlines()[0] == (
        f"skpneumo predict: labels by P(pneumonia) >= {DEFAULT_THRESHOLD:g} "
        "(the classifier's threshold)"
    )
    assert lines[0] == "path,p_pneumonia,label,quality"
    assert len(lines) == 9
    # the fixture's 24-px noise squares are flagged, and still predicted
    assert all(
        row.split(",")[2] in ("NORMAL", "PNEUMONIA") and "tiny image" in row
        for row in lines[1:]
    )

    one = sorted((val / "NORMAL").iterdir())[0]
    assert main(["predict", str(one), "--json", "--model", str(trained)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["path"] == str(one) and 0 <= rows[0]["p_pneumonia"] <= 1


def test_predict_flags_what_cannot_be_an_xray_and_notes_skipped_files(
    trained, tmp_path, capsys
):
    """Non-regression test: a blank image got a confident probability
    and no signal, and a folder's non-image files were skipped silently.
    """
    folder = tmp_path / "images"
    folder.mkdir()
    xray = folder / "a_xray.png"
    Image.fromarray(synthetic_frontal_xray(np.random.default_rng(0))).save(xray)
    black = folder / "b_black.png"
    Image.fromarray(np.zeros((256, 224), np.uint8)).save(black)
    (folder / "notes.txt").write_text("not an image")
    (folder / "scan0001").write_bytes(b"\0" * 200)  # no extension, no DICOM marker

    assert main(["predict", "--model", str(trained), str(folder), "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert [r["path"] for r in rows] == [str(xray), str(black)]
    assert rows[0]["quality"] == ""
    assert rows[1]["quality"].startswith("too few grey levels (1); no contrast")
    assert 0 <= rows[1]["p_pneumonia"] <= 1  # still predicted
    err = captured.err
    assert (
        f"skipped in {str(folder)!r}: 2 file(s) with neither an image extension" in err
    )
    assert "notes.txt" in err and "scan0001" in err
    assert "1 of 2 image(s) cannot be frontal chest X-rays" in err

    assert main(["predict", "--model", str(trained), str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith(",")  # an empty quality cell
    assert lines[2].endswith(
        ",too few grey levels (1); no contrast (1st to 99th percentile span 0 of 255)"
    )

    code = main(["predict", "-m", str(trained), str(folder), "--quality", "raise"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "1 of 2 image(s) cannot be frontal chest X-rays, and quality='raise'" in (
        captured.err
    )
    assert str(black) in captured.err and str(xray) not in captured.err

    assert main(["predict", "-m", str(trained), str(black), "--quality", "ignore"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].endswith(",")
    assert "cannot be frontal" not in captured.err


def test_model_from_train_loads_identically_in_a_new_process(
    trained, kaggle_root, capsys
):
    val = str(kaggle_root / "val")
    assert main(["predict", "--model", str(trained), val]) == 0
    here = capsys.readouterr().out
    fresh = subprocess.run(
        [sys.executable, "-m", "skpneumo", "predict", "--model", str(trained), val],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert fresh == here


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "{missing}", "--output", "{tmp}/m"], "does not exist"),
        (
            ["train", "{root}", "--output", "{tmp}/m", "--epochs", "0"],
            "must be a positive integer",
        ),
        (["train", "{root}"], "required: --output"),
        (
            [
                "evaluate",
                "-m",
                "{tmp}/nomodel",
                "{root}",
                "--split",
                "val",
                "--report",
                "{tmp}/r",
            ],
            "No saved model",
        ),
        (
            [
                "evaluate",
                "-m",
                "{model}",
                "{root}",
                "--split",
                "test",
                "--report",
                "{tmp}/r",
            ],
            "Split folder .*test.* does not exist",
        ),
        (
            [
                "evaluate",
                "-m",
                "{model}",
                "{root}",
                "--split",
                "nope",
                "--report",
                "{tmp}/r",
            ],
            "invalid choice",
        ),
        (
            [
                "evaluate",
                "-m",
                "{model}",
                "{root}",
                "--split",
                "val",
                "--report",
                "{tmp}/r",
                "--n-bootstraps",
                "-1",
            ],
            "--n-bootstraps: must be a non-negative integer",
        ),
        (["predict", "--model", "{model}", "{tmp}/no.jpeg"], "No such image or folder"),
        (["predict", "--model", "{tmp}", "{root}/val"], "not a skpneumo model folder"),
        (
            ["predict", "--model", "nope", "{root}/val"],
            r"No model folder 'nope' and no bundled model of that name; this installation "
            r"bundles (\[.*'default'.*\]|no model)",
        ),
        (
            ["evaluate", "-m", "nope", "{root}", "--report", "{tmp}/r"],
            "No model folder 'nope'",
        ),
        # the positional model of unreleased versions is gone
        (
            ["predict", "{model}", "{root}/val"],
            "is a model folder: give it with --model",
        ),
        (
            ["evaluate", "{model}", "{root}", "--report", "{tmp}/r"],
            "unrecognized arguments",
        ),
        (
            ["evaluate", "-m", "{model}", "{tmp}/data.csv", "--report", "{tmp}/r"],
            "Manifest .*data.csv.* does not exist",
        ),
        (
            [
                "evaluate",
                "-m",
                "{model}",
                "{manifest}",
                "--split",
                "val",
                "--report",
                "{tmp}/r",
            ],
            "--split picks a split of a Kaggle-layout folder, but .*val.csv.* is a manifest",
        ),
        (
            ["train", "{root}", "--output", "{tmp}/m", "--calibration-method", "beta"],
            "invalid choice: 'beta'",
        ),
        (["frobnicate"], "invalid choice"),
        (["tune", "{root}"], "required: --output"),
        (
            ["tune", "{root}", "-m", "{model}", "--sensitivity", "0", "-o", "{tmp}/m"],
            r"--sensitivity: must be in \(0, 1\], got 0",
        ),
        (
            ["tune", "{root}", "-m", "{model}", "--youden", "--specificity", "0.9"],
            "not allowed with argument",
        ),
        (
            ["tune", "{manifest}", "-m", "{model}", "--split", "val", "-o", "{tmp}/m"],
            "--split picks a split of a Kaggle-layout folder",
        ),
        (
            ["tune", "{root}", "-m", "{model}", "--output", "{model}"],
            "is or holds the model being tuned, which writing it would delete",
        ),
        (
            ["explain", "{tmp}/no.jpeg", "-m", "{model}", "-o", "{tmp}/maps"],
            "No such image or folder",
        ),
        (
            ["explain", "{root}/val", "-m", "{model}", "-o", "{model}"],
            "is or holds the model, which writing it would delete",
        ),
    ],
)
def test_errors_exit_2_with_one_line(
    argv, message, trained, kaggle_root, tmp_path, capsys
):
    fields = dict(
        missing=tmp_path / "missing",
        tmp=tmp_path,
        root=kaggle_root,
        model=trained,
        manifest=_manifest(kaggle_root, "val", tmp_path / "val.csv"),
    )
    argv = [a.format(**fields) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert re.search(message, err[-1]), err


def test_unreadable_image_names_the_file(trained, tmp_path, capsys):
    bad = tmp_path / "broken.jpeg"
    bad.write_text("not an image")
    assert main(["predict", "--model", str(trained), str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.jpeg" in err[0]


def test_ctrl_c_during_training_leaves_no_model(
    kaggle_root, tmp_path, monkeypatch, capsys
):
    from imblearn.pipeline import Pipeline

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "fit", interrupted)
    out = tmp_path / "model"
    assert main(["train", str(kaggle_root), "--output", str(out), *TRAIN]) == 130
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert "interrupted" in capsys.readouterr().err


def test_help_for_every_subcommand(capsys):
    for command in ("predict", "evaluate", "tune", "explain", "train"):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        assert f"usage: skpneumo {command}" in out
        assert f"Example: skpneumo {command} " in out  # an example line
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "{predict,evaluate,tune,explain,train}" in capsys.readouterr().out


def test_version(capsys):
    from skpneumo import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"skpneumo {__version__}\n"


def test_evaluate_writes_a_page_a_person_can_open(trained, kaggle_root, tmp_path):
    report = tmp_path / "report"
    metrics = _evaluate_val(trained, kaggle_root, report)
    page = (report / "index.html").read_text()
    assert str(trained) in page and html.escape(metrics["decision_rule"]) in page
    assert f"<td>ROC-AUC</td><td>{metrics['roc_auc']:.4f}</td>" in page
    figures = re.findall(r'<img src="([^"]+)"', page)
    assert figures == [
        "roc_curve.png",
        "precision_recall_curve.png",
        "calibration_curve.png",
        "confusion_matrix.png",
    ]
    assert all((report / name).is_file() for name in figures)
    assert "http" not in page and "<script" not in page and "<link" not in page


def test_tune_saves_a_model_that_predict_and_evaluate_read(
    trained, kaggle_root, tmp_path, capsys
):
    out = tmp_path / "site"
    argv = ["tune", str(kaggle_root), "-m", str(trained), "--split", "train"]
    argv += ["--sensitivity", "0.9", "--n-bootstraps", "100", "--output", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "| | current model | tuned model |" in captured.out
    assert "| sensitivity |" in captured.out and "95% CI" in captured.out
    # 24 images a class: below the stated minimum, with the interval's width
    warnings = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warnings) == 2 and all("too wide to rely on" in w for w in warnings)
    record = json.loads((out / "operating_point.json").read_text())
    assert record["criterion"] == "sensitivity" and record["target"] == 0.9
    assert record["n_images"] == {"NORMAL": 24, "PNEUMONIA": 24}
    assert record["data"] == str(kaggle_root / "train")
    assert record["tuned"]["sensitivity"] >= 0.9

    metrics = _evaluate_val(out, kaggle_root, tmp_path / "report")
    assert metrics["threshold"] == record["threshold"]
    page = (tmp_path / "report" / "index.html").read_text()
    assert "chosen for sensitivity &gt;= 0.9 on 24 NORMAL and 24 PNEUMONIA" in page
    assert main(["predict", "-m", str(out), str(kaggle_root / "val")]) == 0
    assert f"{record['threshold']:g}" in capsys.readouterr().err

    # a model folder is replaced, as train replaces one, and the output says so
    assert main(argv) == 0
    assert "it replaced a model folder" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # --youden excludes --sensitivity
        main([*argv, "--youden", "--overwrite"])
    youden = [*argv[:6], "--youden", "--output", str(out), "--overwrite"]
    assert main(youden) == 0
    assert json.loads((out / "operating_point.json").read_text())["target"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report", "site"]


def test_explain_writes_pictures_and_a_page(trained, kaggle_root, tmp_path, capsys):
    out = tmp_path / "maps"
    val = kaggle_root / "val"
    assert main(["explain", str(val), "-m", str(trained), "--output", str(out)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "path,p_pneumonia,label,picture" and len(rows) == 9
    pictures = sorted(p.name for p in out.glob("*.png"))
    assert len(pictures) == 8
    page = (out / "index.html").read_text()
    assert re.findall(r'<img src="([^"]+)"', page) == pictures
    assert page.count("P(pneumonia) = ") == 8

    # a user's folder is not replaced unless asked, and nothing is left beside it
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    argv = ["explain", str(val / "NORMAL"), "-m", str(trained), "--output", str(mine)]
    assert main([*argv, "--method", "occlusion"]) == 2
    assert "so it is left alone" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep me"
    assert main([*argv, "--method", "occlusion", "--overwrite"]) == 0
    assert not (mine / "notes.txt").exists() and len(list(mine.glob("*.png"))) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps", "mine"]


def _manifest(root, split, csv_file, *, patients=True):
    """A CSV manifest of a Kaggle-layout split, with paths relative to the CSV."""
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(root, split=split)
    rows = ["path,label" + (",patient" if patients else "")]
    for path, label, group in zip(
        data.paths, data.target_names[data.target], data.groups, strict=True
    ):
        relative = os.path.relpath(path, csv_file.parent)
        rows.append(f"{relative},{label}" + (f",{group}" if patients else ""))
    csv_file.write_text("\n".join(rows) + "\n")
    return csv_file


def test_no_model_means_the_bundled_default(trained, kaggle_root, monkeypatch, capsys):
    import skpneumo._pretrained as pretrained

    # the bundled model is not part of a source checkout's tests: stand one in
    monkeypatch.setattr(pretrained, "pretrained_names", lambda: ["default"])
    monkeypatch.setattr(pretrained, "pretrained_path", lambda name="default": trained)
    val = str(kaggle_root / "val")
    assert main(["predict", val]) == 0
    default = capsys.readouterr().out
    assert main(["predict", "--model", "default", val]) == 0
    by_name = capsys.readouterr().out
    assert main(["predict", "--model", str(trained), val]) == 0
    assert default == by_name == capsys.readouterr().out


def test_labels_are_the_classifiers_predict_at_its_threshold(
    trained, kaggle_root, tmp_path, capsys
):
    """``predict`` and ``evaluate`` label images by the saved classifier's own
    ``predict``, at whatever threshold it was saved with.
    """
    from skpneumo import load_model, save_model

    val = str(kaggle_root / "val")
    assert main(["predict", "--model", str(trained), val, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    threshold = float(np.median([row["p_pneumonia"] for row in rows]))
    model = load_model(trained).set_params(classifier__threshold=threshold)
    save_model(model, tmp_path / "moved")

    assert main(["predict", "--model", str(tmp_path / "moved"), val, "--json"]) == 0
    captured = capsys.readouterr()
    moved = json.loads(captured.out)
    expected = model.predict([row["path"] for row in moved])
    labels = [row["label"] for row in moved]
    assert labels == ["PNEUMONIA" if label else "NORMAL" for label in expected]
    assert labels == [
        "PNEUMONIA" if row["p_pneumonia"] >= threshold else "NORMAL" for row in moved
    ]
    assert len(set(labels)) == 2
    assert f">= {threshold:g} (the classifier's threshold)" in captured.err

    metrics = _evaluate_val(tmp_path / "moved", kaggle_root, tmp_path / "report")
    assert metrics["tp"] + metrics["fp"] == labels.count("PNEUMONIA")
    assert metrics["threshold"] == threshold


def test_predict_labels_follow_a_saved_fixed_threshold(
    trained, kaggle_root, tmp_path, capsys
):
    """Non-regression test: the CLI applied the classifier's threshold itself."""
    import numpy as np
    from sklearn.model_selection import FixedThresholdClassifier

    from skpneumo import load_model, save_model

    val = str(kaggle_root / "val")
    assert main(["predict", "--model", str(trained), val, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    proba = np.array([row["p_pneumonia"] for row in rows])
    threshold = float(np.median(proba))  # splits the images between the two labels
    wrapped = FixedThresholdClassifier(
        load_model(trained), threshold=threshold, response_method="predict_proba"
    )
    save_model(wrapped, tmp_path / "fixed")

    assert main(["predict", "--model", str(tmp_path / "fixed"), val, "--json"]) == 0
    captured = capsys.readouterr()
    labels = [row["label"] for row in json.loads(captured.out)]
    expected = np.where(proba >= threshold, "PNEUMONIA", "NORMAL").tolist()
    assert labels == expected and len(set(labels)) == 2
    assert f">= {threshold:g} (FixedThresholdClassifier)" in captured.err

    metrics = _evaluate_val(tmp_path / "fixed", kaggle_root, tmp_path / "report")
    assert metrics["tp"] + metrics["fp"] == expected.count("PNEUMONIA")
    assert (
        metrics["decision_rule"]
        == f"P(pneumonia) >= {threshold:g} (FixedThresholdClassifier)"
    )


def test_evaluate_a_manifest(trained, kaggle_root, tmp_path, capsys):
    (tmp_path / "lists").mkdir()
    csv_file = _manifest(kaggle_root, "val", tmp_path / "lists" / "val.csv")
    report = tmp_path / "report"
    assert (
        main(
            [
                "evaluate",
                "-m",
                str(trained),
                str(csv_file),
                "--report",
                str(report),
                "--n-bootstraps",
                "0",
            ]
        )
        == 0
    )
    from_manifest = json.loads((report / "metrics.json").read_text())
    from_folder = _evaluate_val(trained, kaggle_root, report)
    assert from_manifest["split"] == "val.csv" and from_manifest["n_images"] == 8
    for key in ("tn", "fp", "fn", "tp", "roc_auc"):
        assert from_manifest[key] == from_folder[key], key


# CalibratedClassifierCV splits the few held-out images of these tests in 5 folds
# to predict them (with a FrozenEstimator every fold predicts with the same model)
@pytest.mark.filterwarnings("ignore:The least populated class in y:UserWarning")
def test_train_calibrated_on_a_manifest(kaggle_root, tmp_path, capsys):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import FixedThresholdClassifier

    from skpneumo import load_model
    from skpneumo.datasets import load_chest_xray

    csv_file = _manifest(kaggle_root, "train", tmp_path / "train.csv")
    model = tmp_path / "model"
    assert (
        main(
            [
                "train",
                str(csv_file),
                "--output",
                str(model),
                "--calibrate",
                "--image-size",
                "16",
                "--epochs",
                "1",
                # 48 images: the calibration fold needs every patient left
                "--validation-fraction",
                "0",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    # 24 patients of 2 images each: one fold of five holds out 4 or 5 of them
    fitted_on = int(re.search(r"Training on (\d+) images", out).group(1))
    held_out = int(re.search(r"Calibrating \(sigmoid\) on (\d+) images", out).group(1))
    assert fitted_on + held_out == 48 and held_out in (8, 10)
    loaded = load_model(model)
    assert isinstance(loaded, FixedThresholdClassifier)
    calibrated = loaded.estimator
    assert (
        isinstance(calibrated, CalibratedClassifierCV)
        and calibrated.method == "sigmoid"
    )
    # the operating point is the pipeline's, carried to the calibrated scale:
    # the same images are called PNEUMONIA as by the network at its threshold
    pipe = calibrated.estimator.estimator
    data_paths = load_chest_xray(kaggle_root, split="val").paths
    raw = pipe.predict_proba(data_paths)[:, 1]
    threshold = pipe.named_steps["classifier"].threshold
    assert np.array_equal(loaded.predict(data_paths), (raw >= threshold).astype(int))
    assert re.search(
        rf"Operating threshold {threshold:g} .* is ([0-9.]+) on the calibrated", out
    )
    report = tmp_path / "report"
    metrics = _evaluate_val(model, kaggle_root, report)
    assert metrics["decision_rule"].startswith("calibrated P(pneumonia) >= ")


# CalibratedClassifierCV splits the few held-out images of these tests in 5 folds
# to predict them (with a FrozenEstimator every fold predicts with the same model)
@pytest.mark.filterwarnings("ignore:The least populated class in y:UserWarning")
def test_calibration_holds_out_whole_patients(kaggle_root):
    import numpy as np

    from skpneumo import fit_calibrated, make_pneumonia_pipeline
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(kaggle_root, split="train")
    seen = []

    def run(random_state):
        pipe = make_pneumonia_pipeline(image_size=16, **routed(TINY))
        fit = pipe.fit
        pipe.fit = lambda X, y: (seen.append(("fit", list(X))), fit(X, y))[1]
        calibrated = fit_calibrated(
            pipe,
            data.paths,
            data.target,
            data.groups,
            method="isotonic",
            random_state=random_state,
        )
        return calibrated

    calibrated = run(0)
    fitted_on = set(seen[-1][1])
    held_out = [p for p in data.paths if p not in fitted_on]
    groups = dict(zip(data.paths, data.groups, strict=True))
    # no patient on both sides, both classes held out, a fifth of the 24 patients
    assert not {groups[p] for p in fitted_on} & {groups[p] for p in held_out}
    assert len({groups[p] for p in held_out}) in (4, 5)
    labels = dict(zip(data.paths, data.target, strict=True))
    assert {labels[p] for p in held_out} == {0, 1}
    assert calibrated.estimator.method == "isotonic"
    assert np.all(np.isin(calibrated.predict(data.paths[:4]), [0, 1]))
    # the seed decides which patients are held out
    run(0)
    assert set(seen[-1][1]) == fitted_on
    run(1)
    assert set(seen[-1][1]) != fitted_on


def test_calibrate_options_parse():
    from skpneumo._cli import build_parser

    args = build_parser().parse_args(["train", "data.csv", "-o", "m", "--calibrate"])
    assert args.calibrate and args.calibration_method == "sigmoid"
    args = build_parser().parse_args(
        ["train", "d", "-o", "m", "--calibrate", "--calibration-method", "isotonic"]
    )
    assert args.calibration_method == "isotonic"
    assert not build_parser().parse_args(["train", "d", "-o", "m"]).calibrate


def test_explain_without_gradients_points_to_occlusion(
    trained, kaggle_root, tmp_path, monkeypatch, capsys
):
    import skpneumo.inspection._explain as explain

    def no_gradients(*args, **kwargs):
        raise NotImplementedError("Grad-CAM needs the TensorFlow or JAX backend.")

    monkeypatch.setattr(explain, "grad_cam", no_gradients)
    out = tmp_path / "maps"
    argv = ["explain", str(kaggle_root / "val"), "-m", str(trained), "-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("Use --method occlusion.")
    assert list(tmp_path.iterdir()) == []  # nothing left beside the output


# What train and evaluate replace, and what an interrupt leaves -----------------------


def _contents(folder):
    """Every file under ``folder``, by relative path, with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.fixture
def no_training(monkeypatch):
    """Make a fit an error: the output must be refused before any training."""
    from imblearn.pipeline import Pipeline

    def refuse(self, *args, **kwargs):
        raise AssertionError("trained before the output was checked")

    monkeypatch.setattr(Pipeline, "fit", refuse)


@pytest.mark.parametrize(
    "output, overwrite, message",
    [
        # formerly: thesis.txt was deleted, exit 0
        ("notes", False, r"'{out}' exists and is not a model folder .*--overwrite"),
        ("some_file.txt", False, r"'{out}' exists .*\(a file\)"),
        # formerly: the training images were deleted
        ("data", True, r"--output '{out}' is or holds the training data"),
        (".", True, r"--output '{out}' is or holds the training data"),
        ("data/train", True, r"--output '{out}' is or holds the training data"),
        ("data/train/NORMAL/IM-0000-0001.jpeg", True, r"is or holds the training"),
        # formerly: failed only after training, naming a temporary folder
        (
            "some_file.txt/model",
            True,
            r"model folder '{out}': '.*some_file.txt' is not",
        ),
    ],
)
def test_train_refuses_its_output_before_training(
    tmp_path, monkeypatch, capsys, no_training, output, overwrite, message
):
    from _helpers import make_kaggle_folder

    make_kaggle_folder(tmp_path / "data", n_train=(4, 4), n_val=(2, 2))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.txt").write_text("three years of work")
    (tmp_path / "some_file.txt").write_text("keep me")
    before = _contents(tmp_path)
    monkeypatch.chdir(tmp_path)  # outputs are given as the user types them
    argv = ["train", "data", "-o", output, *TRAIN] + (["--overwrite"] * overwrite)
    assert main(argv) == 2
    assert re.search(message.format(out=re.escape(output)), _one_error_line(capsys))
    assert _contents(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "data",
        "notes",
        "some_file.txt",
    ]


def test_train_never_replaces_the_current_folder(
    tmp_path, monkeypatch, capsys, no_training, kaggle_root
):
    """Non-regression test for ``-o .``, which left an empty ``..old.*`` folder."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["train", str(kaggle_root), "-o", ".", *TRAIN, "--overwrite"]) == 2
    assert "'.': it is the current folder or holds it" in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == [work] and list(work.iterdir()) == []


def test_train_replaces_a_model_folder_and_says_so(
    trained, kaggle_root, tmp_path, capsys
):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(trained, model)
    assert main(["train", str(kaggle_root), "-o", str(model), *TRAIN]) == 0
    out = capsys.readouterr().out
    assert f"Model written to {model} (it replaced a model folder)" in out
    assert sorted(p.name for p in model.iterdir()) == [
        "model.keras",
        "skpneumo.json",
        "training_curves.png",
        "validation.json",
    ]
    meta = json.loads((model / "skpneumo.json").read_text())
    assert meta["extra_files"] == ["training_curves.png", "validation.json"]
    # asked to, it replaces a folder that is not a model
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "old.txt").write_text("x")
    argv = ["train", str(kaggle_root), "-o", str(notes), *TRAIN, "--overwrite"]
    assert main(argv) == 0
    assert "(it replaced a folder, as --overwrite asked)" in capsys.readouterr().out
    assert not (notes / "old.txt").exists() and (notes / "model.keras").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "notes"]


def test_ctrl_c_while_the_curves_are_drawn_leaves_the_previous_model(
    trained, kaggle_root, tmp_path, monkeypatch, capsys
):
    """Non-regression test for a false "nothing was written".

    Ctrl-C while the curves were drawn had already replaced the previous
    model, left it without training_curves.png, and said nothing was written.
    """
    import shutil

    from matplotlib.figure import Figure

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    model = tmp_path / "model"
    shutil.copytree(trained, model)
    before = _contents(model)
    assert main(["train", str(kaggle_root), "-o", str(model), *TRAIN]) == 130
    assert _one_error_line(capsys) == (
        f"skpneumo train: interrupted; {str(model)!r} was left as it was."
    )
    assert _contents(model) == before
    assert list(tmp_path.iterdir()) == [model]  # no temporary folder either

    fresh = tmp_path / "fresh"
    assert main(["train", str(kaggle_root), "-o", str(fresh), *TRAIN]) == 130
    assert _one_error_line(capsys) == (
        f"skpneumo train: interrupted; nothing was written to {str(fresh)!r}."
    )
    assert list(tmp_path.iterdir()) == [model]


def test_ctrl_c_after_the_model_is_in_place_says_so(
    kaggle_root, tmp_path, monkeypatch, capsys
):
    import skpneumo._persistence

    save_model = skpneumo._persistence.save_model

    def interrupted(*args, **kwargs):
        save_model(*args, **kwargs)  # the folder is in place, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(skpneumo._persistence, "save_model", interrupted)
    model = tmp_path / "model"
    assert main(["train", str(kaggle_root), "-o", str(model), *TRAIN]) == 130
    assert _one_error_line(capsys) == (
        f"skpneumo train: interrupted after {str(model)!r} was written in full; "
        "it holds the new output."
    )
    assert (model / "training_curves.png").is_file()


def test_evaluate_writes_its_report_whole_or_not_at_all(
    trained, kaggle_root, tmp_path, monkeypatch, capsys
):
    """Non-regression test for a report that mixed two runs."""
    import skpneumo.metrics._evaluation

    report = tmp_path / "report"
    _evaluate_val(trained, kaggle_root, report)
    capsys.readouterr()
    before = _contents(report)

    def broken(*args, **kwargs):
        raise ValueError("the plot failed")

    # where write_report_folder looks it up
    monkeypatch.setattr(skpneumo.metrics._evaluation, "plot_confusion_matrix", broken)
    argv = ["evaluate", "-m", str(trained), str(kaggle_root), "--split", "val"]
    # with intervals, metrics.json would differ from the first run's
    assert main([*argv, "--report", str(report), "--n-bootstraps", "20"]) == 2
    assert "the plot failed" in _one_error_line(capsys)
    assert _contents(report) == before
    assert list(tmp_path.iterdir()) == [report]


@pytest.mark.parametrize(
    "report, message",
    [
        ("notes", r"'{report}' exists and is not a report folder"),
        ("{model}", r"--report '{report}' is or holds the model"),
        ("{root}", r"--report '{report}' is or holds the data"),
    ],
)
def test_evaluate_leaves_alone_what_is_not_a_report(
    trained, kaggle_root, tmp_path, capsys, report, message
):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.txt").write_text("three years of work")
    report = report.format(model=trained, root=kaggle_root).replace("notes", str(notes))
    watched = [notes, trained, kaggle_root]
    before = [_contents(folder) for folder in watched]
    argv = ["evaluate", "-m", str(trained), str(kaggle_root), "--split", "val"]
    overwrite = [] if report == str(notes) else ["--overwrite"]
    assert main([*argv, "--report", report, *overwrite]) == 2
    line = _one_error_line(capsys)
    assert re.search(message.format(report=re.escape(report)), line), line
    assert [_contents(folder) for folder in watched] == before


def test_malformed_model_exits_2_with_one_line(trained, kaggle_root, tmp_path, capsys):
    """Non-regression test for tracebacks from a damaged skpneumo.json."""
    import shutil

    from _helpers import write_meta

    model = tmp_path / "model"
    shutil.copytree(trained, model)
    meta = json.loads((model / "skpneumo.json").read_text())
    val = str(kaggle_root / "val")
    (model / "skpneumo.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(["predict", "--model", str(model), val]) == 2
    assert "skpneumo.json' is damaged" in _one_error_line(capsys)
    meta["steps"]["classifier"]["fitted"]["X_dtype"] = "object"
    write_meta(model, meta)
    assert main(["predict", "--model", str(model), val]) == 2
    assert "X_dtype must name a numeric dtype" in _one_error_line(capsys)
