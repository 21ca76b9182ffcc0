"""Which regions of an X-ray drive a prediction: occlusion maps and Grad-CAM.

Importing this module does not import Keras; the functions do, when called.
"""

from ._heatmaps import grad_cam, occlusion_sensitivity, plot_heatmap

__all__ = ["grad_cam", "occlusion_sensitivity", "plot_heatmap"]
