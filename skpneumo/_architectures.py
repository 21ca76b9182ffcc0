"""Keras 3 networks for chest X-rays, written against ``keras.layers`` only.

No backend-specific call appears here, so the same code runs on TensorFlow, JAX
and PyTorch.
"""

import keras
from keras import layers


def build_cnn(
    input_shape,
    *,
    n_blocks=4,
    filters=16,
    dropout=0.3,
    augmentation=1.0,
    seed=None,
):
    """Build the convolutional network behind :class:`~skpneumo.PneumoniaClassifier`.

    The network takes uint8 (or any 0-255) images and rescales them itself. A
    block is a 3x3 convolution, batch normalisation, ReLU and 2x2 max pooling;
    the number of filters doubles from block to block. Global average pooling,
    dropout and one sigmoid unit (kept in float32) follow.

    Augmentation (small rotations, zooms, shifts and contrast changes) is part of
    the network, so it runs on the same device as training and is active only
    while training, never in ``predict``.

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
    augmentation : float, default=1.0
        Strength of the augmentation; 0 disables it. At 1.0: rotations up to
        +-0.03 turns (about 11 degrees), zoom and shift up to 10%, contrast up to
        20%.
    seed : int or None, default=None
        Seed of the random layers.

    Returns
    -------
    model : keras.Model
        An uncompiled model with one sigmoid output, P(class 1).
    """
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    if augmentation > 0:
        x = layers.RandomRotation(
            0.03 * augmentation, fill_mode="constant", seed=seed, name="rotate"
        )(x)
        x = layers.RandomZoom(
            0.1 * augmentation, fill_mode="constant", seed=seed, name="zoom"
        )(x)
        x = layers.RandomTranslation(
            0.1 * augmentation,
            0.1 * augmentation,
            fill_mode="constant",
            seed=seed,
            name="shift",
        )(x)
        x = layers.RandomContrast(
            min(0.2 * augmentation, 0.9), value_range=(0, 1), seed=seed, name="contrast"
        )(x)
    for i in range(n_blocks):
        x = layers.Conv2D(
            filters * 2**i, 3, padding="same", use_bias=False, name=f"block{i}_conv"
        )(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
        x = layers.Activation("relu", name=f"block{i}_relu")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"block{i}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="pneumonia")(x)
    return keras.Model(inputs, outputs, name="pneumonia_cnn")
