"""Pictures of heatmaps over X-rays, and a page that shows them: ``skpneumo explain``."""

import html
import re
from pathlib import Path

import numpy as np

from ._base import _unwrap
from ._gradcam import grad_cam
from ._occlusion import occlusion_sensitivity
from ._plotting import plot_heatmap

_METHODS = {"grad_cam": ("Grad-CAM", grad_cam), "occlusion": ("occlusion", None)}

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr));
        gap: 1em; }
figure { margin: 0; } figure img { width: 100%; height: auto; }
figcaption { font-size: 0.9em; word-break: break-all; }
.PNEUMONIA { color: #b00; font-weight: bold; } .NORMAL { color: #060; }
"""


def _picture_name(index, path):
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(path).stem)[:60] or "image"
    return f"{index:04d}_{stem}.png"


def write_explanations(
    model, paths, directory, *, method="grad_cam", n_jobs=None, title="Heatmaps"
):
    """Draw each image's heatmap over it as a PNG, and an ``index.html`` of them all.

    The images are decoded once by the pipeline's loader (its transformers);
    P(pneumonia) and the label are ``model.predict_proba`` and
    ``model.predict`` (the model's own rule), and the map explains the
    predicted class (``target="predicted"``). Each picture shows the image as
    the network sees it (the loader's output), the map over it with a colour
    bar, and in its title the file name, P(pneumonia) and the label.

    Parameters
    ----------
    model : estimator
        A fitted pipeline whose transformers turn file paths into images and
        that ends in a :class:`~skpneumo.PneumoniaClassifier`, bare or in
        scikit-learn's post-fit wrappers (any model :func:`~skpneumo.load_model`
        returns).
    paths : sequence of str or os.PathLike
        The image files.
    directory : str or os.PathLike
        An existing folder to write the pictures and ``index.html`` into.
    method : {"grad_cam", "occlusion"}, default="grad_cam"
        :func:`grad_cam` or :func:`occlusion_sensitivity` (default patches).
    n_jobs : int or None, default=None
        Decoding threads of the loader.
    title : str, default="Heatmaps"
        The heading of the page.

    Returns
    -------
    rows : list of dict
        One per image, in order: ``path``, ``p_pneumonia``, ``label``,
        ``picture`` (the PNG's name in ``directory``) and ``heatmap`` (the
        map, of the network's input height and width).

    Raises
    ------
    ValueError
        If ``method`` is unknown.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}; got {method!r}.")
    directory = Path(directory)
    transformers, _ = _unwrap(model)
    images = [str(p) for p in paths]
    for step in transformers:  # the loader: decoded once, passed through after
        if n_jobs is not None and "n_jobs" in step.get_params():
            step.set_params(n_jobs=n_jobs)
        images = step.transform(images)
    proba = model.predict_proba(images)[:, 1]
    labels = np.asarray(model.predict(images))
    if method == "grad_cam":
        heatmaps = grad_cam(model, images)
    else:
        heatmaps = occlusion_sensitivity(model, images)
    names = {0: "NORMAL", 1: "PNEUMONIA"}
    method_name = _METHODS[method][0]
    rows = []
    for i, path in enumerate(paths):
        label = names.get(labels[i].item(), str(labels[i]))
        figure = Figure(figsize=(4.5, 4.2))
        ax = figure.subplots()
        plot_heatmap(images[i], heatmaps[i], ax=ax, colorbar=True)
        ax.set_axis_off()
        ax.set_title(
            f"{Path(path).name[:40]}\nP(pneumonia) = {proba[i]:.3f}: {label}\n"
            f"{method_name} map of {label}",
            fontsize=9,
        )
        picture = _picture_name(i, path)
        figure.savefig(directory / picture, dpi=100, bbox_inches="tight")
        rows.append(
            {
                "path": str(path),
                "p_pneumonia": float(proba[i]),
                "label": label,
                "picture": picture,
                "heatmap": heatmaps[i],
            }
        )
    _write_index(rows, directory, title=title, method_name=method_name)
    return rows


def _write_index(rows, directory, *, title, method_name):
    esc = html.escape
    cells = [
        f'<figure><img src="{esc(row["picture"])}" alt="{esc(row["path"])}">'
        f"<figcaption>{esc(Path(row['path']).name)}<br>P(pneumonia) = "
        f'{row["p_pneumonia"]:.3f}: <span class="{esc(row["label"])}">'
        f"{esc(row['label'])}</span></figcaption></figure>"
        for row in rows
    ]
    from ..metrics._html import write_page

    write_page(
        directory / "index.html",
        title=title,
        style=_STYLE,
        body=[
            f"<h1>{esc(title)}</h1>",
            f"<p>{len(rows)} images; {esc(method_name)} map of the predicted class "
            "over the image as the network sees it. Brighter is more important.</p>",
            '<div class="grid">',
            *cells,
            "</div>",
        ],
    )


def write_explanation_folder(model, paths, path, *, overwrite, hint, **kwargs):
    """:func:`write_explanations` into a new folder that appears whole or not at all.

    The folder is written beside ``path`` and moved into place when complete
    (:func:`skpneumo._atomic.replacing`); only an empty folder is replaced
    without ``overwrite``, since nothing tells a folder of pictures written
    here from one of the user's. ``hint`` says how the user asks to overwrite,
    and ``kwargs`` go to :func:`write_explanations`.

    Returns
    -------
    rows : list of dict
        As :func:`write_explanations` returns them.
    """
    from .. import _atomic

    with _atomic.replacing(
        path,
        what="heatmap folder",
        replaceable=_never,
        overwrite=overwrite,
        hint=hint,
    ) as staging:
        return write_explanations(model, paths, staging, **kwargs)


def _never(path):
    """No existing heatmap folder is replaceable without being asked."""
    return False
