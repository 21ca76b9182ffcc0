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
