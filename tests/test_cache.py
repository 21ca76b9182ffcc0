"""ImageLoader(memory=...) decodes each file once, and again only when it changes."""

import os
from collections import Counter

import numpy as np
import pytest
from _helpers import TINY, routed
from PIL import Image
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skpneumo import ImageLoader, _image, make_pneumonia_pipeline

CLASSES = ("NORMAL", "PNEUMONIA")


def _write_images(folder, n_per_class=12, size=20):
    """Write small PNG and JPEG files, brighter for PNEUMONIA; return paths and labels."""
    rng = np.random.RandomState(0)
    paths, labels = [], []
    for label, (name, base) in enumerate(zip(CLASSES, (70, 170), strict=True)):
        for i in range(n_per_class):
            pixels = rng.randint(base - 40, base + 40, size=(size, size + 4 * label))
            suffix = "png" if i % 2 else "jpeg"
            path = folder / f"{name}_{i:02d}.{suffix}"
            Image.fromarray(pixels.astype(np.uint8), mode="L").save(path)
            paths.append(str(path))
            labels.append(name)
    return paths, np.array(labels)


@pytest.fixture
def decodes(monkeypatch):
    """Count calls of ``_image.decode`` (what the loader calls) per path."""
    counts = Counter()
    decode = _image.decode

    def counting_decode(path, *args, **kwargs):
        counts[os.fspath(path)] += 1
        return decode(path, *args, **kwargs)

    monkeypatch.setattr(_image, "decode", counting_decode)
    return counts


@pytest.mark.slow
def test_grid_search_decodes_each_image_once(tmp_path, decodes):
    image_dir = tmp_path / "images"
    image_dir.mkdir()
    paths, y = _write_images(image_dir)
    pipe = make_pneumonia_pipeline(
        image_size=16, memory=tmp_path / "cache", **routed(TINY)
    )
    search = GridSearchCV(
        pipe,
        {"classifier__dropout": [0.0, 0.5]},
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
        scoring="accuracy",
    )
    search.fit(paths, y)

    # 3 folds x 2 candidates + the refit load every image 10 times (train or
    # test); with the cache each is decoded on its first load only.
    assert sorted(decodes) == sorted(paths)
    assert set(decodes.values()) == {1}
    assert search.predict_proba(paths).shape == (len(paths), 2)
    assert set(decodes.values()) == {1}


def test_modified_file_is_decoded_again(tmp_path, decodes):
    paths, _ = _write_images(tmp_path, n_per_class=2)
    loader = ImageLoader(image_size=16, memory=tmp_path / "cache")
    before = loader.fit_transform(paths)
    assert set(decodes.values()) == {1}

    changed = paths[0]
    stat = os.stat(changed)
    Image.new("L", (20, 20), 255).save(changed, format="JPEG")
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after = loader.transform(paths)

    assert decodes[changed] == 2
    assert all(decodes[path] == 1 for path in paths[1:])
    assert after[0].min() > 240 and before[0].max() < 240
    np.testing.assert_array_equal(after[1:], before[1:])


def test_cached_output_equals_fresh_decoding(tmp_path):
    paths, _ = _write_images(tmp_path, n_per_class=2)
    fresh = ImageLoader(image_size=16).fit_transform(paths)
    cached = ImageLoader(image_size=16, memory=tmp_path / "cache")
    np.testing.assert_array_equal(cached.fit_transform(paths), fresh)
    np.testing.assert_array_equal(cached.transform(paths), fresh)


def test_loader_parameters_key_the_cache(tmp_path, decodes):
    paths, _ = _write_images(tmp_path, n_per_class=2)
    cache = tmp_path / "cache"
    small = ImageLoader(image_size=16, memory=cache).fit_transform(paths)
    large = ImageLoader(image_size=12, memory=cache).fit_transform(paths)
    assert small.shape[1:3] == (16, 16) and large.shape[1:3] == (12, 12)
    assert set(decodes.values()) == {2}


def test_no_memory_decodes_every_time(tmp_path, decodes):
    paths, _ = _write_images(tmp_path, n_per_class=2)
    loader = ImageLoader(image_size=16, memory=None).fit()
    for _ in range(3):
        loader.transform(paths)
    assert sorted(decodes) == sorted(paths)
    assert set(decodes.values()) == {3}
