"""Keras 3 networks for chest X-rays, written against ``keras.layers`` only.

No backend-specific call appears here, so the same code runs on TensorFlow, JAX
and PyTorch (:func:`allow_jit` only reads which backend is in use).
"""

import keras
from keras import layers

# Keras marks these layers as not XLA-compilable because TensorFlow's kernel
# for them (ImageProjectiveTransformV3) has none; one such layer turns
# jit_compile="auto" off for the whole model. Their JAX implementation is plain
# jax.numpy and compiles.
_WARPING_LAYERS = (layers.RandomRotation, layers.RandomZoom, layers.RandomTranslation)


def allow_jit(model):
    """Let Keras compile ``model`` with XLA on the JAX backend; return it.

    With ``jit_compile="auto"`` Keras compiles a model only if every layer
    says it supports XLA, and the warping augmentation layers say they do not
    (true on TensorFlow only). On JAX this would make every training step run
    operation by operation; this marks them as compilable there. Other
    backends are left as they are.
    """
    if keras.config.backend() == "jax":
        for layer in model.layers:
            if isinstance(layer, _WARPING_LAYERS):
                layer.supports_jit = True
    return model


def _glorot(seed, offset):
    # An int seed per layer: without one, Keras draws the initializer's seed
    # from Python's global ``random``, which any other thread (a Dask worker's
    # event loop, a threaded joblib backend) may advance during the build.
    if seed is None:
        return "glorot_uniform"
    return keras.initializers.GlorotUniform(seed=_offset(seed, offset))


def _offset(seed, k):
    """A distinct seed per random layer: one shared seed would make them draw alike.

    Initializers use offsets 0 to ``n_blocks``; augmentation layers 101 to 104.
    """
    return None if seed is None else seed + k


def build_cnn(
    input_shape,
    *,
    n_blocks=4,
    filters=16,
    dropout=0.3,
    augmentation=0.0,
    seed=None,
    dtype=None,
):
    """Build the convolutional network behind :class:`~skpneumo.PneumoniaClassifier`.

    The network takes uint8 (or any 0-255) images and rescales them itself. A
    block is a 3x3 convolution, batch normalisation, ReLU and 2x2 max pooling;
    the number of filters doubles from block to block. Global average pooling,
    dropout and one sigmoid unit (kept in float32) follow.

    Augmentation (small rotations, zooms, shifts and contrast changes) is part of
    the network, so it runs on the same device as training and is active only
    while training, never in ``predict``.

    The rescaling and augmentation layers always compute in float32 (they hold
    no weights, and image warping needs float32 coordinates), and so does the
    output unit; ``dtype`` sets the policy of everything in between.

    Parameters
    ----------
    input_shape : tuple of (int, int, int)
        ``(height, width, channels)`` of the images.
    n_blocks : int, default=4
        Number of convolution blocks (the depth).
    filters : int, default=16
        Filters of the first block (the width); block ``i`` has
        ``filters * 2**i``.
    dropout : float, default=0.3
        Dropout rate before the output unit.
    augmentation : float, default=0.0
        Strength of the augmentation; 0 (the default) disables it. At 1.0:
        rotations up to +-0.03 turns (about 11 degrees), zoom and shift up to
        10%, contrast up to 20%.
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
    if augmentation > 0:
        x = layers.RandomRotation(
            0.03 * augmentation,
            fill_mode="constant",
            seed=_offset(seed, 101),
            dtype="float32",
            name="rotate",
        )(x)
        x = layers.RandomZoom(
            0.1 * augmentation,
            fill_mode="constant",
            seed=_offset(seed, 102),
            dtype="float32",
            name="zoom",
        )(x)
        x = layers.RandomTranslation(
            0.1 * augmentation,
            0.1 * augmentation,
            fill_mode="constant",
            seed=_offset(seed, 103),
            dtype="float32",
            name="shift",
        )(x)
        x = layers.RandomContrast(
            min(0.2 * augmentation, 0.9),
            value_range=(0, 1),
            seed=_offset(seed, 104),
            dtype="float32",
            name="contrast",
        )(x)
    for i in range(n_blocks):
        x = layers.Conv2D(
            filters * 2**i,
            3,
            padding="same",
            use_bias=False,
            kernel_initializer=_glorot(seed, i),
            dtype=dtype,
            name=f"block{i}_conv",
        )(x)
        x = layers.BatchNormalization(momentum=0.9, dtype=dtype, name=f"block{i}_bn")(x)
        x = layers.Activation("relu", dtype=dtype, name=f"block{i}_relu")(x)
        x = layers.MaxPooling2D(2, padding="same", dtype=dtype, name=f"block{i}_pool")(x)
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
