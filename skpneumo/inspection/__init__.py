"""Which regions of an X-ray drive a prediction: occlusion maps and Grad-CAM.

Importing this module does not import Keras; the functions do, when called.
One private module per job: ``_occlusion.py``, ``_gradcam.py`` and
``_plotting.py``, with what the two heatmaps share (the classifier inside an
estimator, the images it sees, the class a map explains) in ``_base.py``.
"""

from ._explain import write_explanations
from ._gradcam import grad_cam
from ._occlusion import occlusion_sensitivity
from ._plotting import plot_heatmap

__all__ = ["grad_cam", "occlusion_sensitivity", "plot_heatmap", "write_explanations"]
