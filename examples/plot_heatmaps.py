"""
Which lung regions drive a prediction
=====================================

Two heatmaps from :mod:`skpneumo.inspection`, drawn over the X-rays:

* :func:`~skpneumo.inspection.occlusion_sensitivity` hides one patch at a
  time and records how much the predicted class's probability drops, as
  Kermany et al. (2018) did. Forward passes only: it works on every Keras
  backend.
* :func:`~skpneumo.inspection.grad_cam` weighs the last convolution block's
  feature maps by the gradient of the class score (TensorFlow and JAX
  backends).

Both take a fitted model and file paths, and prepare the images exactly as
``predict`` does. A map that lights up outside the lungs (on the side markers,
the shoulders, the text printed on the film) is a warning that the network
learnt a shortcut.

The model here is the one bundled with skpneumo
(:func:`skpneumo.load_pretrained`, described in the model card), so the maps
are those of the real default network, in the documentation build as when you
run the script. Pass your own fitted pipeline instead to inspect it.
"""

# %%
# The model
# ---------
# The held-out images come from the folder named by ``SKPNEUMO_DATA`` (by
# default ``../shared/data/chest_xray``, relative to where the script is run
# from).
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import skpneumo
from skpneumo.datasets import load_chest_xray
from skpneumo.inspection import grad_cam, occlusion_sensitivity, plot_heatmap

data_dir = Path(os.environ.get("SKPNEUMO_DATA", "../shared/data/chest_xray"))
model = skpneumo.load_pretrained()

# %%
# Two images of each class from the official ``val`` split: full-size
# originals of patients outside the training split, so the maps can be drawn
# over the X-rays at their own resolution. Four images are for looking at, not
# for measuring; the evaluation example scores the model on a thousand.
split = "test" if (data_dir / "test").is_dir() else "val"
held_out = load_chest_xray(data_dir, split=split)
chosen = np.concatenate(
    [np.flatnonzero(held_out.target == label)[:2] for label in (0, 1)]
)
paths = held_out.paths[chosen]
proba = model.predict_proba(paths)[:, 1]

# %%
# Occlusion sensitivity
# ---------------------
# A patch of an eighth of the image side (the default), moved by half its
# side.
occlusion = occlusion_sensitivity(model, paths)

# %%
# Grad-CAM needs gradients; on a backend without them, the occlusion maps are
# all there is.
try:
    cam = grad_cam(model, paths)
except NotImplementedError as exc:
    print(exc)
    cam = None

# %%
# The maps are at the network's resolution;
# :func:`~skpneumo.inspection.plot_heatmap` stretches them over the full-size
# X-ray.
rows = 2 if cam is not None else 1
fig, axes = plt.subplots(
    rows, len(paths), figsize=(3.2 * len(paths), 3.4 * rows), squeeze=False
)
for j, path in enumerate(paths):
    image = np.asarray(Image.open(path).convert("L"))
    truth = held_out.target_names[held_out.target[chosen[j]]]
    plot_heatmap(image, occlusion[j], ax=axes[0, j])
    axes[0, j].set_title(f"{truth}, P={proba[j]:.2f}\nocclusion", fontsize=9)
    if cam is not None:
        plot_heatmap(image, cam[j], ax=axes[1, j])
        axes[1, j].set_title("Grad-CAM", fontsize=9)
fig.tight_layout()
plt.show()

# sphinx_gallery_start_ignore
# The headline figures as JSON, for tests/test_examples.py: only when
# SKPNEUMO_RESULTS names a folder.
if os.environ.get("SKPNEUMO_RESULTS"):
    results = Path(os.environ["SKPNEUMO_RESULTS"])
    results.mkdir(parents=True, exist_ok=True)
    figures = {
        "truth": held_out.target[chosen].tolist(),
        "proba": proba.tolist(),
        "threshold": float(model.threshold),
        "occlusion_finite": bool(np.isfinite(occlusion).all()),
        "grad_cam": cam is not None,
    }
    (results / "plot_heatmaps.json").write_text(json.dumps(figures))
# sphinx_gallery_end_ignore
