"""Keras 3 networks for chest X-rays, written against ``keras.layers`` only.

No backend-specific call appears here, so the same code runs on TensorFlow, JAX
and PyTorch; what differs between backends (XLA on JAX, ``allow_jit``) is in
``_backend.py``.
"""

import keras
from keras import layers

from . import _spec
from ._backend import allow_jit
from ._layers import (
    RandomAffine,
    RandomBlur,
    RandomBorder,
    RandomGamma,
    Smoothing,
    Standardization,
)


def _glorot(seed, offset):
    # An int seed per layer: without one, Keras draws the initializer's seed
    # from Python's global ``random``, which any other thread (a Dask worker's
    # event loop, a threaded joblib backend) may advance during the build.
    if seed is None:
        return "glorot_uniform"
    return keras.initializers.GlorotUniform(seed=_offset(seed, offset))


def _offset(seed, k):
    """A distinct seed per random layer: one shared seed would make them draw alike.

    Initializers use offsets 0 to ``n_blocks``; augmentation layers 101 to 108.
    """
    return None if seed is None else seed + k


@_spec.network_options
def build_cnn(
    input_shape,
    *,
    n_blocks,
    filters,
    dropout,
    augmentation,
    intensity_augmentation,
    border_augmentation,
    blur_augmentation,
    crop_augmentation,
    standardize,
    smoothing,
    stem_stride,
    pool_first,
    seed=None,
    dtype=None,
):
    """Build the convolutional network behind :class:`~skpneumo.PneumoniaClassifier`.

    The network takes uint8 (or any 0-255) images and rescales them itself. A
    block is a 3x3 convolution, batch normalisation, ReLU and 2x2 max pooling;
    the number of filters doubles from block to block. Global average pooling,
    dropout and one sigmoid unit (kept in float32) follow.

    Augmentation is part of the network, so it runs on the same device as
    training and is active only while training, never in ``predict``. It is
    there to make the network blind to cues that tell the classes apart in the
    training data only by accident: the framing and aspect ratio of the
    picture (the Kaggle NORMAL and PNEUMONIA images were squashed from
    different aspect ratios) and the exposure of the scanner.

    The rescaling, augmentation and standardisation layers always compute in
    float32 (they hold no weights, and image warping needs float32
    coordinates), and so does the output unit; ``dtype`` sets the policy of
    everything in between.

    Parameters
    ----------
    input_shape : tuple of (int, int, int)
        ``(height, width, channels)`` of the images.
    {network_parameters}
    seed : int or None, default=None
        Seed of the weight initialisation and of the random layers. With an
        int the network draws nothing from global random generators.
    dtype : str, keras.DTypePolicy or None, default=None
        Dtype policy of the convolution blocks, pooling and dropout, e.g.
        ``"mixed_bfloat16"`` (bfloat16 computations, float32 weights); None
        uses Keras' global policy (float32 unless changed). A
        ``"mixed_float16"`` model needs a
        :class:`keras.optimizers.LossScaleOptimizer`.

    Returns
    -------
    model : keras.Model
        An uncompiled model with one sigmoid output, P(class 1).
    """
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Rescaling(1.0 / 255.0, dtype="float32", name="rescale")(inputs)
    if augmentation > 0 or crop_augmentation > 0:
        x = RandomAffine(
            zoom=min(_spec.ZOOM_SCALE * augmentation, _spec.ZOOM_CAP),
            scale=(
                1.0 - min(_spec.CROP_SCALE * crop_augmentation, _spec.CROP_CAP),
                1.0,
            ),
            shift=_spec.SHIFT_SCALE * augmentation,
            rotation=_spec.ROTATION_SCALE * augmentation,
            fill_mode="reflect",
            seed=_offset(seed, 101),
            dtype="float32",
            name="view",
        )(x)
    if border_augmentation > 0:
        x = RandomBorder(
            min(_spec.BORDER_SCALE * border_augmentation, _spec.BORDER_CAP),
            seed=_offset(seed, 107),
            dtype="float32",
            name="border",
        )(x)
    if blur_augmentation > 0:
        x = RandomBlur(
            _spec.BLUR_SCALE * blur_augmentation,
            seed=_offset(seed, 108),
            dtype="float32",
            name="blur",
        )(x)
    if intensity_augmentation > 0:
        x = layers.RandomBrightness(
            min(_spec.BRIGHTNESS_SCALE * intensity_augmentation, _spec.BRIGHTNESS_CAP),
            value_range=(0, 1),
            seed=_offset(seed, 104),
            dtype="float32",
            name="brightness",
        )(x)
        x = layers.RandomContrast(
            min(_spec.CONTRAST_SCALE * intensity_augmentation, _spec.CONTRAST_CAP),
            value_range=(0, 1),
            seed=_offset(seed, 105),
            dtype="float32",
            name="contrast",
        )(x)
        x = RandomGamma(
            _spec.GAMMA_SCALE * intensity_augmentation,
            seed=_offset(seed, 106),
            dtype="float32",
            name="gamma",
        )(x)
    if smoothing > 0:
        x = Smoothing(smoothing, dtype="float32", name="smoothing")(x)
    if standardize:
        x = Standardization(dtype="float32", name="standardize")(x)
    for i in range(n_blocks):
        strided = i == 0 and stem_stride > 1
        x = layers.Conv2D(
            filters * 2**i,
            3,
            strides=stem_stride if strided else 1,
            padding="same",
            use_bias=False,
            kernel_initializer=_glorot(seed, i),
            dtype=dtype,
            name=f"block{i}_conv",
        )(x)
        pool = None
        if not strided:
            pool = layers.MaxPooling2D(
                2, padding="same", dtype=dtype, name=f"block{i}_pool"
            )
        if pool is not None and pool_first:
            x = pool(x)
        x = layers.BatchNormalization(momentum=0.9, dtype=dtype, name=f"block{i}_bn")(x)
        x = layers.Activation("relu", dtype=dtype, name=f"block{i}_relu")(x)
        if pool is not None and not pool_first:
            x = pool(x)
    x = layers.GlobalAveragePooling2D(dtype=dtype, name="pool")(x)
    x = layers.Dropout(dropout, seed=seed, dtype=dtype, name="dropout")(x)
    outputs = layers.Dense(
        1,
        activation="sigmoid",
        kernel_initializer=_glorot(seed, n_blocks),
        dtype="float32",
        name="pneumonia",
    )(x)
    return allow_jit(keras.Model(inputs, outputs, name="pneumonia_cnn"))
