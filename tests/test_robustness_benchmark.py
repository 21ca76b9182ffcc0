"""benchmarks/studies/robustness.py, the shift benchmark, on a tiny generated data set.

The benchmark itself trains for tens of minutes; this runs its whole chain
(splits, shifts, report, re-scoring) in seconds, so that the one command the
documentation gives keeps working.
"""

import importlib
import json
import shutil

import numpy as np
import pytest

MODULE = "benchmarks.studies.robustness"


@pytest.fixture(scope="module")
def robustness():
    return importlib.import_module(MODULE)


def test_field_of_view_shifts_change_the_width_or_height(robustness):
    images = np.arange(2 * 40 * 50, dtype=np.uint8).reshape(2, 40, 50)
    assert robustness.wider(0.2)(images).shape == (2, 40, 60)
    assert robustness.narrower(0.2)(images).shape == (2, 40, 40)
    assert robustness.taller(0.2)(images).shape == (2, 48, 50)
    assert robustness.shorter(0.2)(images).shape == (2, 32, 50)
    zoomed_out = robustness.zoom_out(0.2)(images)
    assert (
        zoomed_out.shape == (2, 48, 60) and zoomed_out[:, 0].max() == 0
    )  # black border
    # the wider view shows the original picture in its middle
    np.testing.assert_array_equal(robustness.wider(0.2)(images)[:, :, 5:55], images)


def test_exposure_shifts_keep_the_shape_and_move_the_grey_levels(robustness):
    images = np.full((2, 8, 8), 128, dtype=np.uint8)
    assert robustness.brightness(0.1)(images).mean() > 128
    assert robustness.gamma(1.5)(images).mean() < 128
    for name, shift in robustness.SHIFTS.items():
        out = shift(images)
        assert out.dtype == np.uint8 and out.shape[0] == 2, name


def test_earliest_split_holds_out_the_lowest_numbered_patients(robustness, kaggle_root):
    from skpneumo.datasets import load_chest_xray

    data = load_chest_xray(kaggle_root, split="train")
    train, test = robustness.earliest_split(data)
    assert test.size and train.size
    assert not set(data.groups[train]) & set(data.groups[test])

    def numbers(idx, label):
        groups = data.groups[idx][data.target[idx] == label]
        return [robustness._patient_number(g) for g in groups]

    for label in (0, 1):
        assert max(numbers(test, label)) < min(numbers(train, label))


@pytest.mark.slow
def test_one_command_writes_the_report_and_rescores(robustness, tmp_path, kaggle_root):
    # in this process, as `python -m benchmarks.studies.robustness` runs main;
    # one split (each costs a fit per configuration): the earliest split's
    # patients are checked above, and every split goes through the same code
    out = tmp_path / "report" / "robustness"
    models = tmp_path / "models"
    scale = ["--image-size", "16", "--epochs", "1", "--fraction", "1"]
    scale += ["--splits", "grouped"]
    common = [str(kaggle_root), "--out", str(out), *scale]
    robustness.main([*common, "--configs", "old,new", "--models", str(models)])
    report = json.loads(out.with_suffix(".json").read_text())["results"]
    assert set(report) == {"grouped"}
    for by_config in report.values():
        assert set(by_config) == {"old", "new"}
        assert by_config["old"]["threshold"] == 0.74
        assert by_config["old"]["test_time_views"] == [1.0]
        assert by_config["new"]["test_time_views"] == robustness.views_of("new")
        assert len(by_config["new"]["shifts"]) == 22
    markdown = out.with_suffix(".md").read_text()
    assert "| sides padded 35% |" in markdown and "worst shift" in markdown
    assert out.with_suffix(".png").stat().st_size > 0
    # one fitted pipeline per configuration and split, with its fit time
    folders = sorted(p.name for p in models.iterdir() if p.is_dir())
    assert folders == [
        f"model-{config}-grouped-16px-1ep-1-seed0" for config in ("new", "old")
    ]

    robustness.main([*common, "--rescore"])
    assert json.loads(out.with_suffix(".json").read_text())["results"] == report

    # the saved fits are loaded, not fitted again: the same probabilities, and
    # the previous default, which differs from "new" in predict-time
    # parameters alone, shares its network
    again = tmp_path / "again" / "robustness"
    shared = ["--configs", "new,d72f2ba", "--models", str(models)]
    robustness.main([str(kaggle_root), "--out", str(again), *scale, *shared])
    assert len([p for p in models.iterdir() if p.is_dir()]) == 2
    again_report = json.loads(again.with_suffix(".json").read_text())["results"]
    saved, again_saved = (
        np.load(out.with_suffix(".npz")),
        np.load(again.with_suffix(".npz")),
    )
    for split in report:
        np.testing.assert_allclose(
            again_saved[f"{split}/new"], saved[f"{split}/new"], rtol=1e-5, atol=1e-6
        )
        assert again_report[split]["new"]["fit_seconds"] == pytest.approx(
            report[split]["new"]["fit_seconds"]
        )
        assert again_report[split]["d72f2ba"]["test_time_views"] == [1.0]
        assert again_report[split]["d72f2ba"]["threshold"] == 0.2
        # one view of the same network is another probability
        assert not np.allclose(again_saved[f"{split}/d72f2ba"], saved[f"{split}/new"])

    # a folder of another configuration's fit under this one's name stops the
    # run before it fits (no images given: a fit would fail otherwise)
    tag = "grouped-16px-1ep-1-seed0"
    shutil.copytree(models / f"model-old-{tag}", models / f"model-standardize-{tag}")
    scale_of = {"image_size": 16, "epochs": 1, "fraction": 1.0, "seed": 0}
    with pytest.raises(SystemExit, match="other training parameters"):
        robustness.fitted_pipeline(
            "standardize", scale_of, "grouped", None, None, models
        )

    # a later run that reuses this one fits only what it lacks, and refuses a
    # run at another scale, whose figures could not stand beside its own
    later = tmp_path / "later" / "robustness"
    reuse = ["--configs", "old,standardize", "--reuse", str(out)]
    robustness.main([str(kaggle_root), "--out", str(later), *scale, *reuse])
    later_report = json.loads(later.with_suffix(".json").read_text())["results"]
    later_saved = np.load(later.with_suffix(".npz"))
    for split in report:
        # the same figures, marked as taken from the earlier run
        assert later_report[split]["old"] == dict(report[split]["old"], reused=True)
        assert "reused" not in later_report[split]["standardize"]
        np.testing.assert_array_equal(
            later_saved[f"{split}/old"], saved[f"{split}/old"]
        )
    assert "(`--reuse`)" in later.with_suffix(".md").read_text()
    assert "(`--reuse`)" not in markdown
    other_scale = [str(kaggle_root), "--out", str(tmp_path / "x"), "--image-size"]
    with pytest.raises(SystemExit, match=r"differs in \['image_size'\]"):
        robustness.main(
            [
                *other_scale,
                "24",
                "--epochs",
                "1",
                "--fraction",
                "1",
                "--reuse",
                str(out),
            ]
        )


def test_a_reused_run_is_matched_by_shift_name(robustness):
    """A run made before a shift was added is reused for the shifts it has."""
    older = [name for name in robustness.SHIFTS if not name.startswith("zoom in 10%")]
    y = np.array([0, 0, 1, 1])
    probas = np.tile([0.1, 0.3, 0.6, 0.9], (len(older), 1))
    result = {
        "params": robustness.CONFIGS["new"],
        "test_time_views": robustness.views_of("new"),
        "shifts": {name: {} for name in older},
    }
    earlier = ({"grouped": {"new": result}}, {"grouped/new": probas, "grouped/y": y})
    _, by_name = robustness.reusable(earlier, "grouped", "new", y)
    assert list(by_name) == older and "zoom in 10% (centre crop)" not in by_name
    rescored = robustness.rescore(y, by_name, 0.5)
    assert (
        robustness._pair(
            rescored["shifts"], "zoom in 10% (centre crop)", "roc_auc", "specificity"
        )
        == "–"
    )
    assert rescored["shifts"]["original"]["specificity"] == 1.0
    # another split's labels, or changed parameters: not reused
    assert robustness.reusable(earlier, "grouped", "new", y[::-1]) is None
    assert robustness.reusable(earlier, "grouped", "f693afc", y) is None
    # a run that scored the image alone (before the views were recorded, or
    # with other views) is not today's default, whose parameters read the same
    del result["test_time_views"]
    assert robustness.reusable(earlier, "grouped", "new", y) is None
    # a configuration that now names the one view it always scored with is
    # still the earlier run's
    named = dict(robustness.CONFIGS["old"])
    assert named.pop("test_time_views") == (1.0,)
    old = dict(result, params=json.loads(json.dumps(named)))
    earlier = ({"grouped": {"old": old}}, {"grouped/old": probas, "grouped/y": y})
    assert robustness.reusable(earlier, "grouped", "old", y) is not None
