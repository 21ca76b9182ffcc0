"""Heatmaps must point at the region that carries the signal.

The images are noise, and only PNEUMONIA images carry a bright patch, always in
the same place of the top-right quadrant; a network trained without augmentation
can only have learned that patch, so both the occlusion map and Grad-CAM must
peak inside the quadrant, on the patch (or within one pixel of it), and be far
stronger there than elsewhere.
"""

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from PIL import Image
from sklearn.metrics import roc_auc_score

from skpneumo import ImageLoader, PneumoniaClassifier, ZoomOverSampler
from skpneumo.inspection import grad_cam, occlusion_sensitivity, plot_heatmap

SIZE = 24
PATCH = (slice(3, 10), slice(15, 22))  # rows 3-9, columns 15-21
QUADRANT = np.zeros((SIZE, SIZE), dtype=bool)
QUADRANT[: SIZE // 2, SIZE // 2 :] = True
NEAR_PATCH = np.zeros((SIZE, SIZE), dtype=bool)  # the patch and 1 pixel around it
NEAR_PATCH[2:11, 14:23] = True


def make_images(n, seed):
    """Noise around grey 90; class 1 adds +90 on PATCH."""
    rng = np.random.RandomState(seed)
    y = np.array([0, 1] * (n // 2))
    X = rng.normal(90, 25, size=(n, SIZE, SIZE))
    X[y == 1, PATCH[0], PATCH[1]] += 90
    return np.clip(X, 0, 255).astype(np.uint8)[..., np.newaxis], y


@pytest.fixture(scope="module")
def fitted():
    X, y = make_images(80, seed=0)
    clf = PneumoniaClassifier(
        n_blocks=2,
        filters=8,
        dropout=0.0,
        # the heatmap methods are under test, not the invariance recipe: a
        # plain network that learns the patch in a few epochs
        augmentation=0.0,
        intensity_augmentation=0.0,
        standardize=False,
        learning_rate=1e-2,
        epochs=8,
        batch_size=16,
        random_state=0,
    ).fit(X, y)
    X_test, y_test = make_images(20, seed=1)
    auc = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
    print(f"synthetic task: test ROC-AUC {auc:.3f}")
    assert auc >= 0.95, f"the synthetic task was not learnt (test ROC-AUC {auc:.3f})"
    return clf, X_test[y_test == 1][:5]


def _check_peaks_in_quadrant(maps, name):
    for i, heatmap in enumerate(maps):
        row, col = np.unravel_index(heatmap.argmax(), heatmap.shape)
        inside, outside = heatmap[QUADRANT].mean(), np.abs(heatmap[~QUADRANT]).mean()
        print(
            f"{name} image {i}: peak at (row {row}, col {col}) = {heatmap.max():.4f}; "
            f"mean in quadrant {inside:.4f}, mean |value| elsewhere {outside:.4f}"
        )
        assert QUADRANT[row, col], f"{name}: image {i} peaks at ({row}, {col})"
        assert NEAR_PATCH[row, col], f"{name}: image {i} peaks at ({row}, {col})"
        assert inside > 5 * outside, f"{name}: image {i}: {inside:.4f} vs {outside:.4f}"


def test_occlusion_peaks_on_the_signal(fitted):
    clf, X = fitted
    maps = occlusion_sensitivity(clf, X, patch_size=6, stride=2)
    assert maps.shape == (len(X), SIZE, SIZE)
    assert maps.dtype == np.float64
    _check_peaks_in_quadrant(maps, "occlusion")


def _has_gradients():
    from skpneumo import _backend

    return _backend.supports_gradients()


def test_grad_cam_peaks_on_the_signal(fitted):
    if not _has_gradients():
        pytest.skip("grad_cam needs the TensorFlow or JAX backend")
    clf, X = fitted
    maps = grad_cam(clf, X)
    assert maps.shape == (len(X), SIZE, SIZE)
    assert (maps >= 0).all()
    _check_peaks_in_quadrant(maps, "Grad-CAM")


def test_occlusion_of_the_other_class_is_the_negative(fitted):
    clf, X = fitted
    for_pneumonia = occlusion_sensitivity(clf, X[:2], patch_size=6, stride=3, target=1)
    for_normal = occlusion_sensitivity(clf, X[:2], patch_size=6, stride=3, target=0)
    np.testing.assert_allclose(for_normal, -for_pneumonia, atol=1e-6)
    predicted = occlusion_sensitivity(clf, X[:2], patch_size=6, stride=3)
    np.testing.assert_allclose(predicted, for_pneumonia)  # both predicted PNEUMONIA


def test_predicted_target_is_the_class_predict_gives(fitted):
    """``target="predicted"`` explains, for each image, the class of the
    classifier's ``predict`` at its threshold, also when that is not 0.5.
    """
    clf, X = fitted
    proba = clf.predict_proba(X)[:, 1]
    threshold = float(np.median(proba))  # some images NORMAL, some PNEUMONIA
    original = clf.threshold
    clf.set_params(threshold=threshold)
    try:
        predicted = clf.predict(X)
        assert set(predicted.tolist()) == {0, 1}
        settings = dict(patch_size=6, stride=6)
        maps = occlusion_sensitivity(clf, X, **settings)
        by_class = {
            c: occlusion_sensitivity(clf, X, target=c, **settings) for c in (0, 1)
        }
        for i, label in enumerate(predicted):
            np.testing.assert_array_equal(maps[i], by_class[label][i])
        if _has_gradients():
            cams = grad_cam(clf, X)
            cams_by_class = {c: grad_cam(clf, X, target=c) for c in (0, 1)}
            for i, label in enumerate(predicted):
                np.testing.assert_allclose(cams[i], cams_by_class[label][i], rtol=1e-5)
    finally:
        clf.set_params(threshold=original)


def test_pipeline_uses_the_loader_like_predict(fitted, tmp_path):
    clf, X = fitted
    paths = []
    for i, image in enumerate(X[:2, ..., 0]):
        paths.append(str(tmp_path / f"person{i}_bacteria_{i}.png"))
        Image.fromarray(image).save(paths[-1])
    pipe = Pipeline(
        [
            ("loader", ImageLoader(image_size=SIZE)),
            ("sampler", ZoomOverSampler()),  # acts in fit only, skipped here
            ("classifier", clf),
        ]
    )
    np.testing.assert_allclose(pipe.predict_proba(paths), clf.predict_proba(X[:2]))
    np.testing.assert_allclose(
        occlusion_sensitivity(pipe, paths, patch_size=6, stride=3),
        occlusion_sensitivity(clf, X[:2], patch_size=6, stride=3),
    )
    if _has_gradients():
        np.testing.assert_allclose(
            grad_cam(pipe, paths), grad_cam(clf, X[:2]), rtol=1e-5
        )


def test_uncovered_and_default_patches(fitted):
    clf, X = fitted
    maps = occlusion_sensitivity(clf, X[:1])  # patch 3, stride 1
    assert maps.shape == (1, SIZE, SIZE)
    sparse = occlusion_sensitivity(clf, X[:1], patch_size=2, stride=(5, 7))
    assert sparse[0, 2, :].tolist() == [0.0] * SIZE  # row 2 is under no patch


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"patch_size": 0}, "patch_size"),
        ({"patch_size": SIZE + 1}, "patch_size"),
        ({"patch_size": 2.5}, "patch_size"),
        ({"stride": 0}, "stride"),
        ({"fill_value": 300}, "fill_value"),
        ({"fill_value": "median"}, "fill_value"),
        ({"target": "PNEUMONIA"}, "target"),
    ],
)
def test_occlusion_parameter_errors(fitted, kwargs, match):
    clf, X = fitted
    with pytest.raises(ValueError, match=match):
        occlusion_sensitivity(clf, X[:1], **kwargs)


def test_input_errors(fitted):
    clf, X = fitted
    with pytest.raises(ValueError, match="fitted on images of shape"):
        occlusion_sensitivity(clf, np.zeros((1, 16, 16, 1), dtype=np.uint8))
    with pytest.raises(TypeError, match="PneumoniaClassifier"):
        occlusion_sensitivity(ImageLoader(), X[:1])
    with pytest.raises(ValueError, match="not in the network"):
        grad_cam(clf, X[:1], layer="no_such_layer")
    with pytest.raises(ValueError, match="spatial output"):
        grad_cam(clf, X[:1], layer="pool")


def test_grad_cam_names_an_unsupported_backend(fitted, monkeypatch):
    keras = pytest.importorskip("keras")
    clf, X = fitted
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(NotImplementedError, match="'torch'"):
        grad_cam(clf, X[:1])


def test_plot_heatmap_over_a_larger_image():
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    image = np.full((96, 64, 1), 128, dtype=np.uint8)
    returned = plot_heatmap(image, np.eye(24, 16), ax=ax, alpha=0.3, colorbar=True)
    assert returned is ax
    assert [im.get_extent() for im in ax.images] == [[-0.5, 63.5, 95.5, -0.5]] * 2
    with pytest.raises(ValueError, match="heatmap"):
        plot_heatmap(image, np.zeros((2, 2, 2)), ax=ax)
    with pytest.raises(ValueError, match="alpha"):
        plot_heatmap(image, np.zeros((2, 2)), ax=ax, alpha=2)


def test_maps_of_a_wrapped_model_follow_the_wrapper(fitted):
    """Through scikit-learn's post-fit wrappers (as ``load_pretrained`` returns
    them) the maps explain the same network, and ``target="predicted"`` is the
    class the wrapper's own ``predict`` gives, at its threshold.
    """
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import (
        FixedThresholdClassifier,
        TunedThresholdClassifierCV,
    )

    clf, X = fitted
    proba = clf.predict_proba(X)[:, 1]
    threshold = float(np.median(proba))  # some images each side
    wrapped = FixedThresholdClassifier(FrozenEstimator(clf), threshold=threshold)
    predicted = wrapped.predict(X)
    assert set(predicted.tolist()) == {0, 1}
    assert not np.array_equal(predicted, clf.predict(X))  # clf's own rule differs
    settings = dict(patch_size=6, stride=6)
    maps = occlusion_sensitivity(wrapped, X, **settings)
    by_class = {c: occlusion_sensitivity(clf, X, target=c, **settings) for c in (0, 1)}
    for i, label in enumerate(predicted):
        np.testing.assert_array_equal(maps[i], by_class[label][i])
    with pytest.raises(TypeError, match="unfitted TunedThresholdClassifierCV"):
        occlusion_sensitivity(TunedThresholdClassifierCV(clf), X)


@pytest.mark.parametrize("method", ["grad_cam", "occlusion"])
def test_write_explanations_draws_each_map_and_a_page(fitted, tmp_path, method):
    from sklearn.model_selection import FixedThresholdClassifier

    from skpneumo.inspection import write_explanations

    if method == "grad_cam" and not _has_gradients():
        pytest.skip("Grad-CAM needs the TensorFlow or JAX backend")
    clf, X = fitted
    paths = []
    for i, image in enumerate(X[:3, ..., 0]):
        paths.append(tmp_path / f"person{i}_virus_{i}.png")
        Image.fromarray(image).save(paths[-1])
    pipe = Pipeline([("loader", ImageLoader(image_size=SIZE)), ("classifier", clf)])
    model = FixedThresholdClassifier(pipe, threshold=0.999999)  # the wrapper decides
    out = tmp_path / "out"
    out.mkdir()
    rows = write_explanations(model, paths, out, method=method)
    expected = (
        grad_cam(model, X[:3])
        if method == "grad_cam"
        else occlusion_sensitivity(model, X[:3])
    )
    labels = model.predict(paths)
    for row, path, heatmap, label in zip(rows, paths, expected, labels, strict=True):
        assert row["heatmap"].shape == (SIZE, SIZE)  # the image the network sees
        np.testing.assert_allclose(row["heatmap"], heatmap, rtol=1e-5, atol=1e-7)
        assert row["label"] == ("PNEUMONIA" if label == 1 else "NORMAL")
        assert row["path"] == str(path)
        with Image.open(out / row["picture"]) as picture:
            assert picture.format == "PNG" and min(picture.size) > 100
    page = (out / "index.html").read_text()
    assert [row["picture"] for row in rows] == sorted(p.name for p in out.glob("*.png"))
    assert all(f'<img src="{row["picture"]}"' in page for row in rows)
    with pytest.raises(ValueError, match="method must be one of"):
        write_explanations(model, paths, out, method="saliency")
