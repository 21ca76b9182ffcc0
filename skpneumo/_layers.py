"""Keras layers of skpneumo's networks that Keras itself does not provide.

Written with ``keras.ops`` and ``keras.random`` only, so they run on TensorFlow,
JAX and PyTorch, and registered so that a saved ``model.keras`` loads with
``safe_mode`` on any of them.
"""

import math

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="skpneumo")
class RandomGamma(layers.Layer):
    """Raise each image (on the 0-1 scale) to a random power, in training only.

    A gamma above 1 darkens the mid-tones and below 1 brightens them, as a
    different exposure or detector response curve would; black and white stay
    put. The gamma of each image is ``exp(u)`` with ``u`` drawn uniformly from
    ``[-log(1 + factor), log(1 + factor)]``, so ``factor=0.5`` gives gammas
    from 1/1.5 to 1.5. Outside training the layer returns its input unchanged.

    Parameters
    ----------
    factor : float
        Largest relative change of the gamma; 0 disables the layer.
    seed : int or None, default=None
        Seed of the layer's random draws.
    **kwargs : dict
        Passed to :class:`keras.layers.Layer` (``name``, ``dtype``).
    """

    def __init__(self, factor, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = float(factor)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.factor == 0:
            return inputs
        bound = math.log1p(self.factor)
        batch = ops.shape(inputs)[0]
        log_gamma = keras.random.uniform(
            (batch, 1, 1, 1),
            minval=-bound,
            maxval=bound,
            dtype=self.compute_dtype,
            seed=self.seed_generator,
        )
        return ops.power(ops.clip(inputs, 0.0, 1.0), ops.exp(log_gamma))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


@keras.saving.register_keras_serializable(package="skpneumo")
class Standardization(layers.Layer):
    """Shift and scale each image to mean 0 and standard deviation 1.

    Its own statistics, not the data set's: an image taken with another
    exposure or contrast (a linear change of its grey levels) comes out the
    same, so the network cannot learn the exposure of one class's scanner as
    a sign of that class. A flat image (standard deviation below 1/255 on the
    0-1 scale) is only centred.
    """

    def call(self, inputs):
        mean = ops.mean(inputs, axis=(1, 2, 3), keepdims=True)
        std = ops.std(inputs, axis=(1, 2, 3), keepdims=True)
        return (inputs - mean) / ops.maximum(std, 1.0 / 255.0)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="skpneumo")
class RandomBorder(layers.Layer):
    """Black out a random margin on each side of some images, in training only.

    X-rays from another site often carry black borders: a collimated beam, a
    detector larger than the film, a picture shrunk onto a black canvas. The
    Kaggle training images have none, so a network never learns to look past
    them. With probability ``rate`` an image gets a black margin of its own
    width on each side, drawn uniformly from 0 to ``factor`` of its height
    (top and bottom) or width (left and right); the other images pass
    unchanged. Outside training the layer returns its input unchanged.

    Parameters
    ----------
    factor : float
        Largest margin, as a fraction of the image's size; 0 disables the
        layer.
    rate : float, default=0.5
        Share of the images that get a border.
    seed : int or None, default=None
        Seed of the layer's random draws.
    **kwargs : dict
        Passed to :class:`keras.layers.Layer` (``name``, ``dtype``).
    """

    def __init__(self, factor, rate=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = float(factor)
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.factor == 0 or self.rate == 0:
            return inputs
        height, width = inputs.shape[1], inputs.shape[2]
        batch = ops.shape(inputs)[0]
        dtype = self.compute_dtype
        # top, bottom, left, right margins, zero where an image keeps its frame
        margins = keras.random.uniform(
            (batch, 4), maxval=self.factor, dtype=dtype, seed=self.seed_generator
        )
        chosen = keras.random.uniform((batch, 1), dtype=dtype, seed=self.seed_generator)
        margins = margins * ops.cast(chosen < self.rate, dtype)
        # pixel centres on the 0-1 scale of each axis
        rows = (ops.arange(height, dtype=dtype) + 0.5) / height
        cols = (ops.arange(width, dtype=dtype) + 0.5) / width
        keep_rows = ops.logical_and(
            rows[None, :] >= margins[:, 0:1], rows[None, :] <= 1.0 - margins[:, 1:2]
        )
        keep_cols = ops.logical_and(
            cols[None, :] >= margins[:, 2:3], cols[None, :] <= 1.0 - margins[:, 3:4]
        )
        keep = ops.logical_and(keep_rows[:, :, None], keep_cols[:, None, :])
        return inputs * ops.cast(keep, dtype)[:, :, :, None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "rate": self.rate,
            "seed": self.seed,
        }
