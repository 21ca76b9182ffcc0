"""Which Keras backend and which device: the one module that asks.

Everything that depends on the backend Keras runs on (TensorFlow, JAX or
PyTorch) or on the device it finds lives here, so that no other module of
skpneumo branches on it: the GPU and the dtype policy it calls for, seeding,
XLA on JAX, gradients for Grad-CAM, and a quiet import of TensorFlow.

Keras is imported inside the functions, never when this module is imported:
:func:`import_keras_quietly` must be the one to import it, and
``import skpneumo`` stays light.
"""

import os
import random
import sys
from contextlib import contextmanager

import numpy as np


def name():
    """The Keras backend in use: ``"tensorflow"``, ``"jax"``, ``"torch"``, ..."""
    import keras

    return keras.backend.backend()


def xla_can_warp():
    """Whether XLA can compile image warping on the Keras backend in use.

    TensorFlow's warping kernel (ImageProjectiveTransformV3) has no XLA
    version, so a TensorFlow model that warps images in training must not be
    compiled; JAX's warp is plain ``jax.numpy`` and compiles.
    """
    return name() != "tensorflow"


def import_keras_quietly():
    """Import Keras (and its backend) with the C++ start-up log silenced.

    TensorFlow's native code prints oneDNN and CUDA notices straight to file
    descriptor 2 when it loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; they
    would bury a command's own output and one-line errors.
    """
    if "keras" in sys.modules:
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        name()  # imports Keras, and its backend with it
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextmanager
def seeded(seed):
    """Seed Python, NumPy and the Keras backend for a fit; restore Python and NumPy.

    ``keras.utils.set_random_seed`` seeds the backend in use (TensorFlow, JAX or
    PyTorch) and Keras' own seed generator; those have no public way to be read
    back, so they stay seeded after the fit, as after any call of
    ``set_random_seed``. Python's and NumPy's global generators are restored.
    TensorFlow's op-determinism switch is left alone (the CPU kernels used here
    are deterministic without it).
    """
    if seed is None:
        yield
        return
    import keras

    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        keras.utils.set_random_seed(seed)
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def gpu_capability():
    """The first GPU of the Keras backend as ``(major, minor)``, or None without one.

    Asks the backend in use, so that ``JAX_PLATFORMS=cpu`` or
    ``CUDA_VISIBLE_DEVICES=""`` count as no GPU. ``(0, 0)`` stands for a GPU
    whose compute capability cannot be read.
    """
    backend = name()
    try:
        if backend == "jax":
            import jax

            gpus = [device for device in jax.devices() if device.platform == "gpu"]
            if not gpus:
                return None
            capability = getattr(gpus[0], "compute_capability", None)
        elif backend == "torch":
            import torch

            if not torch.cuda.is_available():
                return None
            capability = torch.cuda.get_device_capability(0)
        elif backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if not gpus:
                return None
            details = tf.config.experimental.get_device_details(gpus[0])
            capability = details.get("compute_capability")
        else:
            return None
    except Exception:  # a broken GPU set-up trains on the CPU, in float32
        return None
    try:
        if isinstance(capability, str):
            capability = capability.split(".")
        return tuple(int(part) for part in capability[:2])
    except (TypeError, ValueError):
        return (0, 0)


def resolve_dtype_policy(mixed_precision):
    """The Keras dtype policy name that ``mixed_precision`` stands for here."""
    if mixed_precision != "auto":
        return mixed_precision
    capability = gpu_capability()
    if capability is None:
        return "float32"
    # bfloat16 needs no loss scaling; NVIDIA GPUs have it from Ampere (8.0) on
    return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"


def model_dtype_policy(model):
    """Name of the mixed dtype policy a built network uses, or "float32"."""
    for layer in model.layers:
        if layer.dtype_policy.name.startswith("mixed_"):
            return layer.dtype_policy.name
    return "float32"


def allow_jit(model):
    """Let Keras compile ``model`` with XLA on the JAX backend; return it.

    With ``jit_compile="auto"`` Keras compiles a model only if every layer
    says it supports XLA, and the warping augmentation layers (rotation, zoom,
    translation) say they do not: TensorFlow's kernel for them
    (ImageProjectiveTransformV3) has none, and one such layer turns XLA off
    for the whole model. Their JAX implementation is plain ``jax.numpy`` and
    compiles, but without this every JAX training step would run operation by
    operation. This marks them as compilable on JAX; other backends are left
    as they are. skpneumo's own ``RandomAffine``, which networks built today
    use in their place, says so itself (:func:`xla_can_warp`); the Keras
    layers remain in models saved before it.
    """
    if name() == "jax":
        from keras import layers

        warping = (layers.RandomRotation, layers.RandomZoom, layers.RandomTranslation)
        for layer in model.layers:
            if isinstance(layer, warping):
                layer.supports_jit = True
        # A model built before its layers were marked (one read back by
        # keras.saving.load_model) has resolved "auto" to no XLA, and would
        # predict operation by operation: slower, and a rounding apart from
        # the model that was saved.
        if not model.jit_compile:
            model.jit_compile = True
    return model


def supports_gradients():
    """Whether :func:`gradients` works on the Keras backend in use."""
    return name() in ("tensorflow", "jax")


def gradients(score, activations):
    """d(sum of score(activations)) / d activations, with the backend's own API.

    ``tf.GradientTape`` on TensorFlow, ``jax.grad`` on JAX.

    Raises
    ------
    NotImplementedError
        On any other backend, naming it.
    """
    import keras

    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        activations = tf.convert_to_tensor(activations)
        with tf.GradientTape() as tape:
            tape.watch(activations)
            total = keras.ops.sum(score(activations))
        return tape.gradient(total, activations)
    if backend == "jax":
        import jax

        return jax.grad(lambda a: keras.ops.sum(score(a)))(activations)
    raise NotImplementedError(
        f"grad_cam needs gradients, which skpneumo computes on the TensorFlow and JAX "
        f"backends only; the Keras backend in use is {backend!r}. Use "
        f"occlusion_sensitivity, which needs forward passes only and works on every "
        f"backend, or set KERAS_BACKEND=tensorflow."
    )
