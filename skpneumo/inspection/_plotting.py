"""Drawing a heatmap over its X-ray (matplotlib is imported only when drawing)."""

import numpy as np


def plot_heatmap(image, heatmap, ax=None, *, alpha=0.5, cmap="inferno", colorbar=False):
    """Draw a heatmap over its X-ray.

    The image is drawn in grey and the heatmap over it, stretched to the image's
    extent, so a map at the network's resolution can be drawn over the image at
    any size (the full-resolution file, say). matplotlib is imported only here.

    Parameters
    ----------
    image : array-like of shape (height, width) or (height, width, channels)
        The X-ray, pixel values on the 0-255 scale.
    heatmap : array-like of shape (map_height, map_width)
        From :func:`occlusion_sensitivity` or :func:`grad_cam`, for this image.
    ax : matplotlib.axes.Axes or None, default=None
        Where to draw; None draws on the current axes of pyplot.
    alpha : float, default=0.5
        Opacity of the heatmap, in [0, 1].
    cmap : str or matplotlib colormap, default="inferno"
        Colours of the heatmap, from its minimum to its maximum.
    colorbar : bool, default=False
        Whether to add a colour bar for the heatmap's values.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from skpneumo.inspection import plot_heatmap
    >>> image = np.zeros((64, 64), dtype=np.uint8)
    >>> heatmap = np.zeros((16, 16))
    >>> heatmap[2:6, 10:14] = 1.0
    >>> ax = plot_heatmap(image, heatmap, ax=Figure().subplots())
    >>> len(ax.images)
    2
    """
    image = np.asarray(image)
    heatmap = np.asarray(heatmap, dtype=float)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3):
        raise ValueError(
            f"image must have shape (height, width) or (height, width, channels); "
            f"got {image.shape}."
        )
    if heatmap.ndim != 2:
        raise ValueError(
            f"heatmap must have shape (height, width); got {heatmap.shape}."
        )
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha!r}.")
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    height, width = image.shape[:2]
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, extent=extent)
    else:
        ax.imshow(np.clip(image, 0, 255).astype(np.uint8), extent=extent)
    overlay = ax.imshow(
        heatmap, cmap=cmap, alpha=alpha, extent=extent, interpolation="bilinear"
    )
    if colorbar:
        ax.figure.colorbar(overlay, ax=ax)
    ax.set_axis_off()
    return ax
