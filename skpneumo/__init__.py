"""skpneumo: pneumonia detection in chest X-rays with scikit-learn and Keras.

``import skpneumo`` stays light: the loader, the sampler and the datasets need
neither Keras nor TensorFlow, and :class:`PneumoniaClassifier` (which does) is
imported the first time it is used.
"""

from ._calibration import calibrate_fitted, fit_calibrated
from ._image import ImageLoadError
from ._loader import ImageLoader
from ._pipeline import make_pneumonia_pipeline
from ._quality import ImageQualityError, ImageQualityWarning, check_xray_quality
from ._sampler import ZoomOverSampler

__version__ = "0.1.0"

__all__ = [
    "ImageLoadError",
    "ImageLoader",
    "ImageQualityError",
    "ImageQualityWarning",
    "ModelFormatError",
    "PneumoniaClassifier",
    "ZoomOverSampler",
    "build_cnn",
    "calibrate_fitted",
    "check_xray_quality",
    "fit_calibrated",
    "load_model",
    "load_pretrained",
    "make_pneumonia_pipeline",
    "save_model",
]

_LAZY = {
    "PneumoniaClassifier": "._classifier",
    "build_cnn": "._architectures",
    "ModelFormatError": "._persistence",
    "load_model": "._persistence",
    "load_pretrained": "._pretrained",
    "save_model": "._persistence",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
