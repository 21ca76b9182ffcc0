"""Plain helpers shared by the test modules; fixtures live in ``conftest.py``.

Test modules import them as ``from _helpers import ...``: pytest puts ``tests/``
on ``sys.path`` before it imports a test module there (its default ``prepend``
import mode, for a folder without ``__init__.py``).
"""

import re
from pathlib import Path

import numpy as np
from hypothesis import settings
from PIL import Image

from skpneumo import ImageLoader, ZoomOverSampler

# The tiny network settings of the suite: a fit takes a second or two on a CPU.
# Pipelines add ``image_size=16``; a test that counts epochs or gradient steps
# says so with ``dict(TINY, epochs=2)``.
TINY = dict(n_blocks=1, filters=4, epochs=1, random_state=0)

# What make_pneumonia_pipeline takes itself; the rest goes to a step.
_FACTORY_PARAMS = {
    "image_size",
    "threshold",
    "n_jobs",
    "memory",
    "random_state",
    "verbose",
}


def routed(params, step="classifier"):
    """``params`` as ``make_pneumonia_pipeline`` takes them.

    The factory's own parameters stay as they are; every other one is
    prefixed with ``step``, e.g. ``routed(dict(TINY, image_size=16))``.
    """
    return {
        key if key in _FACTORY_PARAMS else f"{step}__{key}": value
        for key, value in params.items()
    }


# The property-based tests (hypothesis): enough examples to find an edge case,
# and no deadline, since a first call may import and compile.
HYPOTHESIS_SETTINGS = settings(max_examples=25, deadline=None)


def synthetic_xray(label, rng, size=24):
    """A noisy grey square; PNEUMONIA images carry a bright patch in the right lung."""
    image = rng.normal(90, 25, size=(size, size))
    if label == 1:
        q = size // 4
        image[q : 3 * q, size // 2 + 1 : size - 2] += 90
    return np.clip(image, 0, 255).astype(np.uint8)


def make_kaggle_folder(root, *, n_train=(12, 12), n_val=(4, 4), size=24, seed=0):
    """Write a Kaggle-layout folder of generated images; return its root.

    NORMAL files are named like ``IM-0007-0001.jpeg`` and PNEUMONIA files like
    ``person7_bacteria_12.jpeg``; every patient has two images, so that grouped
    cross-validation has something to group.
    """
    rng = np.random.RandomState(seed)
    root = Path(root)
    for split, counts in (("train", n_train), ("val", n_val)):
        offset = 0 if split == "train" else 5000
        classes = zip(("NORMAL", "PNEUMONIA"), counts, strict=True)
        for label, (class_name, count) in enumerate(classes):
            folder = root / split / class_name
            folder.mkdir(parents=True)
            for i in range(count):
                patient = offset + i // 2
                if label == 0:
                    name = f"IM-{patient:04d}-{i % 2 + 1:04d}.jpeg"
                else:
                    kind = "bacteria" if patient % 2 else "virus"
                    name = f"person{patient}_{kind}_{i}.jpeg"
                Image.fromarray(synthetic_xray(label, rng, size)).save(
                    folder / name, quality=95
                )
    return root


def noise(shape, seed=0):
    """Uniform uint8 noise of ``shape``."""
    return np.random.RandomState(seed).randint(0, 256, size=shape, dtype=np.uint8)


def save_image(path, image, **kwargs):
    """Save the Pillow ``image`` to ``path`` (``kwargs`` go to ``Image.save``)."""
    image.save(path, **kwargs)
    return path


def quoted(path):
    """A pattern matching ``path`` as the messages quote it."""
    return re.escape(repr(str(path)))


# The estimators with the settings of the input-validation tests; each takes
# ``(X, y)``, so that a test can be parametrized over them.


def loader_transform(X, y):
    """``ImageLoader(image_size=8).fit_transform(X)``; ``y`` is ignored."""
    return ImageLoader(image_size=8).fit_transform(X)


def sampler_resample(X, y):
    """``ZoomOverSampler(random_state=0).fit_resample(X, y)``."""
    return ZoomOverSampler(random_state=0).fit_resample(X, y)


def classifier_fit(X, y):
    """A ``PneumoniaClassifier(**TINY)`` fitted on ``X, y``.

    Reached as ``skpneumo.PneumoniaClassifier``, so that Keras is imported on
    the first fit, not when ``conftest.py`` imports this module.
    """
    import skpneumo

    return skpneumo.PneumoniaClassifier(**TINY).fit(X, y)


def synthetic_frontal_xray(rng, size=(256, 224)):
    """A (height, width) uint8 picture with the layout of a frontal chest X-ray.

    Dark air around a grey body, two dark lungs either side of a bright band
    down the middle (the mediastinum and the spine), and noise: what the
    input-quality check takes for a plausible X-ray.
    """
    height, width = size
    rows, cols = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    image = np.full(size, 20.0)
    image[(cols > 0.1) & (cols < 0.9) & (rows > 0.05)] = 150
    for centre in (0.3, 0.7):
        lung = ((cols - centre) / 0.15) ** 2 + ((rows - 0.5) / 0.3) ** 2 < 1
        image[lung] = 60
    image[(cols > 0.42) & (cols < 0.58) & (rows > 0.1)] = 200
    image += rng.normal(0, 10, size)
    return np.clip(image, 0, 255).astype(np.uint8)


def network_passes(monkeypatch):
    """The batch of images of each pass of a PneumoniaClassifier's network, as a list.

    Filled by every ``_predict_in_fixed_batches`` call from now on (undone
    with ``monkeypatch``), which each score of a classifier goes through.
    """
    from skpneumo import _classifier

    passes = []
    network = _classifier._predict_in_fixed_batches

    def counted(model, X, *args):
        passes.append(X.shape)
        return network(model, X, *args)

    monkeypatch.setattr(_classifier, "_predict_in_fixed_batches", counted)
    return passes


def write_meta(folder, meta):
    """Write ``meta`` as ``folder``'s skpneumo.json, with the digest of its content.

    What a deliberate editor does: the digest (SHA-256 of the JSON but its
    ``meta_sha256``, keys sorted, no spaces, ASCII) catches damage, not a
    change made on purpose, so the checks behind it must hold on their own.
    The digest is computed here as the format documents it, not by skpneumo.
    """
    import hashlib
    import json

    content = {key: value for key, value in meta.items() if key != "meta_sha256"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    content["meta_sha256"] = hashlib.sha256(text.encode("ascii")).hexdigest()
    (Path(folder) / "skpneumo.json").write_text(json.dumps(content, indent=2))
    return content
