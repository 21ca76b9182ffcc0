"""Keras 3 networks for chest X-rays, written against ``keras.layers`` only.

No backend-specific call appears here, so the same code runs on TensorFlow, JAX
and PyTorch; what differs between backends (XLA on JAX, ``allow_jit``) is in
``_backend.py``.
"""

import keras
from keras import layers

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


def build_cnn(
    input_shape,
    *,
    n_blocks=4,
    filters=16,
    dropout=0.3,
    augmentation=0.0,
    intensity_augmentation=0.0,
    border_augmentation=0.0,
    blur_augmentation=0.0,
    crop_augmentation=0.0,
    standardize=False,
    smoothing=0.0,
    stem_stride=1,
    pool_first=False,
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
    n_blocks : int, default=4
        Number of convolution blocks (the depth).
    filters : int, default=16
        Filters of the first block (the width); block ``i`` has
        ``filters * 2**i``.
    dropout : float, default=0.3
        Dropout rate before the output unit.
    augmentation : float, default=0.0
        Strength of the geometric augmentation; 0 disables it. At 1.0 the
        height and the width are zoomed independently by up to +-30% (which
        changes the aspect ratio and the field of view), the picture is
        shifted by up to 5% and rotated by up to 0.02 turns (7 degrees);
        borders are filled by reflection.
    intensity_augmentation : float, default=0.0
        Strength of the grey-level augmentation; 0 disables it. At 1.0:
        brightness +-20% of the range, contrast +-30%, gamma 1/1.5 to 1.5.
    border_augmentation : float, default=0.0
        Strength of the black-border augmentation; 0 disables it. At 1.0 half
        of the images get a black margin on each side, each up to 15% of the
        image's size (as a collimated or letter-boxed X-ray shows), after the
        geometric augmentation.
    blur_augmentation : float, default=0.0
        Strength of the blur augmentation; 0 disables it. At 1.0 half of the
        images are blurred by a Gaussian of up to 1.5 pixels (standard
        deviation), as a lower-resolution scan or an enlarged small file is.
    crop_augmentation : float, default=0.0
        Strength of the crop augmentation; 0 disables it. At 1.0 each image's
        field of view is also shrunk by a factor drawn from 0.75 to 1, the
        same for its height and width: a zoom into a random crop, as a
        narrower X-ray shows.
    standardize : bool, default=False
        Give each image mean 0 and standard deviation 1 (its own statistics)
        before the convolutions, which removes linear exposure differences.
    smoothing : float, default=0.0
        Standard deviation, in pixels, of a fixed Gaussian blur of every
        image, in training and in ``predict`` alike, after the augmentation
        and before the standardisation; 0 disables it. Detail finer than
        that depends on how a file was decoded and resized (JPEG draft or
        full decoding, the resize filter) more than on the lungs.
    stem_stride : {1, 2}, default=1
        Stride of the first convolution. With 2, the first block convolves
        with stride 2 and skips its pooling: the same output size for about a
        quarter of that block's work and memory traffic.
    pool_first : bool, default=False
        Max-pool each block's convolution output before its batch
        normalisation and ReLU instead of after them. Max pooling commutes
        with any increasing map, so with positive normalisation scales both
        orders compute the same function in ``predict``; in training the
        normalisation's batch statistics come from the pooled values. The
        normalisation and the ReLU then run on a quarter of the pixels, which
        in the first block (16 full-size feature maps) is most of its cost.
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
            zoom=min(0.3 * augmentation, 0.9),
            scale=(1.0 - min(0.25 * crop_augmentation, 0.9), 1.0),
            shift=0.05 * augmentation,
            rotation=0.02 * augmentation,
            fill_mode="reflect",
            seed=_offset(seed, 101),
            dtype="float32",
            name="view",
        )(x)
    if border_augmentation > 0:
        x = RandomBorder(
            min(0.15 * border_augmentation, 0.45),
            seed=_offset(seed, 107),
            dtype="float32",
            name="border",
        )(x)
    if blur_augmentation > 0:
        x = RandomBlur(
            1.5 * blur_augmentation,
            seed=_offset(seed, 108),
            dtype="float32",
            name="blur",
        )(x)
    if intensity_augmentation > 0:
        x = layers.RandomBrightness(
            min(0.2 * intensity_augmentation, 1.0),
            value_range=(0, 1),
            seed=_offset(seed, 104),
            dtype="float32",
            name="brightness",
        )(x)
        x = layers.RandomContrast(
            min(0.3 * intensity_augmentation, 0.9),
            value_range=(0, 1),
            seed=_offset(seed, 105),
            dtype="float32",
            name="contrast",
        )(x)
        x = RandomGamma(
            0.5 * intensity_augmentation,
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
