"""The skpneumo command line: train, evaluate, predict, and its errors."""

import json
import subprocess
import sys

import pytest

from skpneumo._cli import main

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


def test_evaluate_writes_report(trained, kaggle_root, tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["evaluate", str(trained), str(kaggle_root), "--split", "val",
                 "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "| recall / sensitivity |" in out and "| true NORMAL |" in out
    metrics = json.loads((report / "metrics.json").read_text())
    for key in ("accuracy", "precision", "sensitivity", "specificity", "f1", "roc_auc",
                "tn", "fp", "fn", "tp"):
        assert key in metrics
    assert metrics["tn"] + metrics["fp"] + metrics["fn"] + metrics["tp"] == 8
    for name in ("metrics.md", "roc_curve.png", "confusion_matrix.png"):
        assert (report / name).stat().st_size > 0


def test_predict_csv_and_json(trained, kaggle_root, capsys):
    val = kaggle_root / "val"
    assert main(["predict", str(trained), str(val)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "path,p_pneumonia,label"
    assert len(lines) == 9
    assert all(line.rsplit(",", 1)[1] in ("NORMAL", "PNEUMONIA") for line in lines[1:])

    one = sorted((val / "NORMAL").iterdir())[0]
    assert main(["predict", str(trained), str(one), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["path"] == str(one) and 0 <= rows[0]["p_pneumonia"] <= 1


def test_model_from_train_loads_identically_in_a_new_process(trained, kaggle_root, capsys):
    val = str(kaggle_root / "val")
    assert main(["predict", str(trained), val]) == 0
    here = capsys.readouterr().out
    fresh = subprocess.run(
        [sys.executable, "-m", "skpneumo", "predict", str(trained), val],
        capture_output=True, text=True, check=True,
    ).stdout
    assert fresh == here


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "{missing}", "--output", "{tmp}/m"], "does not exist"),
        (["train", "{root}", "--output", "{tmp}/m", "--epochs", "0"], "must be a positive integer"),
        (["train", "{root}"], "required: --output"),
        (["evaluate", "{tmp}/nomodel", "{root}", "--split", "val", "--report", "{tmp}/r"],
         "No saved model"),
        (["evaluate", "{model}", "{root}", "--split", "test", "--report", "{tmp}/r"],
         "Split folder .*test.* does not exist"),
        (["evaluate", "{model}", "{root}", "--split", "nope", "--report", "{tmp}/r"],
         "invalid choice"),
        (["predict", "{model}", "{tmp}/no.jpeg"], "No such image or folder"),
        (["predict", "{tmp}", "{root}/val"], "not a skpneumo model folder"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_errors_exit_2_with_one_line(argv, message, trained, kaggle_root, tmp_path, capsys):
    import re

    fields = dict(missing=tmp_path / "missing", tmp=tmp_path, root=kaggle_root, model=trained)
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
    assert main(["predict", str(trained), str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.jpeg" in err[0]


def test_ctrl_c_during_training_leaves_no_model(kaggle_root, tmp_path, monkeypatch, capsys):
    from imblearn.pipeline import Pipeline

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "fit", interrupted)
    out = tmp_path / "model"
    assert main(["train", str(kaggle_root), "--output", str(out), *TRAIN]) == 130
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert "interrupted" in capsys.readouterr().err


def test_help_for_every_subcommand(capsys):
    for command in ("train", "evaluate", "predict"):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        assert f"usage: skpneumo {command}" in capsys.readouterr().out
