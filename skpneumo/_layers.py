"""Keras layers of skpneumo's networks that Keras itself does not provide.

Written with ``keras.ops`` and ``keras.random`` only, so they run on TensorFlow,
JAX and PyTorch, and registered so that a saved ``model.keras`` loads with
``safe_mode`` on any of them.
"""

import math

import keras
from keras import layers, ops

from ._backend import xla_can_warp


@keras.saving.register_keras_serializable(package="skpneumo")
class RandomGamma(layers.Layer):
    """Raise each image (on the 0-1 scale) to a random power, in training only.

    A gamma above 1 darkens the mid-tones and below 1 brightens them, as a
    different exposure or detector response curve would; black and white stay
    put. The gamma of each image is ``exp(u)`` with ``u`` drawn uniformly from
    ``[-log(1 + factor), log(1 + factor)]``, so ``factor=1`` gives gammas
    from 1/2 to 2 (:func:`~skpneumo.build_cnn` sets the factor from its
    ``intensity_augmentation``). Outside training the layer returns its input
    unchanged.

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


class _RandomShare(layers.Layer):
    """Base of the layers that change a random share (``rate``) of the images.

    It holds what they share: the rate, the seed and its generator, the draw
    of which images change, and the configuration of both.
    """

    def __init__(self, rate=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def _chosen(self, shape, dtype):
        """1 for each image drawn to change, else 0; ``shape`` starts with the batch."""
        draws = keras.random.uniform(shape, dtype=dtype, seed=self.seed_generator)
        return ops.cast(draws < self.rate, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="skpneumo")
class RandomBorder(_RandomShare):
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
        super().__init__(rate=rate, seed=seed, **kwargs)
        self.factor = float(factor)

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
        margins = margins * self._chosen((batch, 1), dtype)
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

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="skpneumo")
class RandomAffine(layers.Layer):
    """Zoom, shift and rotate each image at random in one warp, in training only.

    Draws what :class:`keras.layers.RandomZoom` (height and width apart),
    :class:`keras.layers.RandomTranslation` and
    :class:`keras.layers.RandomRotation` would, composes the three into one
    affine map per image and resamples the image once, with bilinear
    interpolation. One warp in place of three costs a third of the
    resampling and blurs the picture once, not three times. Points that fall
    outside the image are filled by ``fill_mode``. Outside training the layer
    returns its input unchanged.

    Parameters
    ----------
    zoom : float, default=0.0
        Largest relative change of the field of view's height and of its
        width, drawn independently (which changes the aspect ratio): a factor
        ``1 + u`` with ``u`` uniform in ``[-zoom, zoom]``; above 1 zooms out.
        Must lie in ``[0, 1)``.
    scale : tuple of (float, float), default=(1.0, 1.0)
        Range of one more factor on the field of view, common to the height
        and the width (so it keeps the aspect ratio), drawn uniformly; below 1
        zooms in, as a random crop does.
    shift : float, default=0.0
        Largest shift, as a fraction of the height (vertically) and of the
        width (horizontally).
    rotation : float, default=0.0
        Largest rotation, as a fraction of a full turn.
    fill_mode : {"reflect", "constant", "nearest", "wrap"}, default="reflect"
        How points outside the image are filled (``"constant"`` fills 0).
    seed : int or None, default=None
        Seed of the layer's random draws.
    **kwargs : dict
        Passed to :class:`keras.layers.Layer` (``name``, ``dtype``).
    """

    def __init__(
        self,
        zoom=0.0,
        scale=(1.0, 1.0),
        shift=0.0,
        rotation=0.0,
        fill_mode="reflect",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 <= zoom < 1.0:
            raise ValueError(f"zoom must lie in [0, 1); got {zoom!r}.")
        low, high = (float(s) for s in scale)
        if not 0.0 < low <= high:
            raise ValueError(f"scale must be a range 0 < low <= high; got {scale!r}.")
        self.zoom = float(zoom)
        self.scale = (low, high)
        self.shift = float(shift)
        self.rotation = float(rotation)
        self.fill_mode = fill_mode
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        # jit_compile="auto" compiles a model only if each of its layers says
        # it can be compiled, which depends on the backend's warping kernel
        self.supports_jit = xla_can_warp()

    def _uniform(self, shape, low, high):
        return keras.random.uniform(
            shape, minval=low, maxval=high, dtype="float32", seed=self.seed_generator
        )

    def call(self, inputs, training=False):
        if not training:
            return inputs
        height, width = inputs.shape[1], inputs.shape[2]
        batch = ops.shape(inputs)[0]
        # Field-of-view factors (input span over output span) per axis.
        factors = self._uniform((batch, 2), 1.0 - self.zoom, 1.0 + self.zoom)
        factors = factors * self._uniform((batch, 1), *self.scale)
        zoom_x, zoom_y = factors[:, 0:1], factors[:, 1:2]
        angle = self._uniform((batch, 1), -1.0, 1.0) * (2 * math.pi * self.rotation)
        moves = self._uniform((batch, 2), -self.shift, self.shift)
        cos, sin = ops.cos(angle), ops.sin(angle)
        # An output pixel q samples the input at c + Z R (q - c) + t, with c
        # the image's centre, Z the zoom, R the rotation and t the shift.
        centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
        a0, a1 = zoom_x * cos, -zoom_x * sin
        b0, b1 = zoom_y * sin, zoom_y * cos
        a2 = centre_x + moves[:, 0:1] * width - a0 * centre_x - a1 * centre_y
        b2 = centre_y + moves[:, 1:2] * height - b0 * centre_x - b1 * centre_y
        transform = ops.concatenate(
            [a0, a1, a2, b0, b1, b2, ops.zeros_like(a0), ops.zeros_like(a0)], axis=1
        )
        outputs = ops.image.affine_transform(
            ops.cast(inputs, "float32"),
            transform,
            interpolation="bilinear",
            fill_mode=self.fill_mode,
            data_format="channels_last",
        )
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "zoom": self.zoom,
            "scale": self.scale,
            "shift": self.shift,
            "rotation": self.rotation,
            "fill_mode": self.fill_mode,
            "seed": self.seed,
        }


def _gaussian_taps(sigma, limit=None):
    """Normalised Gaussian taps, at most ``limit`` either side of the centre."""
    radius = max(1, math.ceil(3 * sigma))
    if limit is not None:
        radius = max(0, min(radius, limit))
    taps = [math.exp(-0.5 * (k / sigma) ** 2) for k in range(-radius, radius + 1)]
    return [t / sum(taps) for t in taps]


def _blur(images, sigma):
    """Separable Gaussian blur with reflected borders, one channel at a time.

    Reflection needs fewer taps either side than the image has pixels, so on
    a very small image the kernel is cut there (and renormalised).
    """
    channels = images.shape[-1]
    for axis in (1, 2):
        size = images.shape[axis]
        taps = _gaussian_taps(sigma, None if size is None else size - 1)
        radius = len(taps) // 2
        if radius == 0:
            continue
        padding = [[0, 0]] * 4
        padding[axis] = [radius, radius]
        padded = ops.pad(images, padding, mode="reflect")
        shape = (len(taps), 1) if axis == 1 else (1, len(taps))
        kernel = ops.reshape(ops.convert_to_tensor(taps, dtype=images.dtype), shape)
        depthwise = ops.tile(kernel[:, :, None, None], (1, 1, channels, 1))
        images = ops.depthwise_conv(padded, depthwise, padding="valid")
    return images


@keras.saving.register_keras_serializable(package="skpneumo")
class RandomBlur(_RandomShare):
    """Blur some images by a random amount, in training only.

    An X-ray scanned at a lower resolution, or enlarged from a small file,
    is blurrier than the training images. A network that has only seen
    sharp pictures may read fine texture as a sign of one class (a cue of
    the files, not of the lungs). With probability ``rate`` an image is
    blurred by a Gaussian whose standard deviation is drawn uniformly from
    0 to ``sigma`` pixels (a path through two fixed blurs of the whole
    batch, so the cost does not grow with the batch's variety); the other
    images pass unchanged. Outside training the layer returns its input
    unchanged.

    Parameters
    ----------
    sigma : float
        Largest standard deviation of the blur, in pixels of the layer's
        input; 0 disables the layer.
    rate : float, default=0.5
        Share of the images that are blurred.
    seed : int or None, default=None
        Seed of the layer's random draws.
    **kwargs : dict
        Passed to :class:`keras.layers.Layer` (``name``, ``dtype``).
    """

    def __init__(self, sigma, rate=0.5, seed=None, **kwargs):
        super().__init__(rate=rate, seed=seed, **kwargs)
        self.sigma = float(sigma)

    def call(self, inputs, training=False):
        if not training or self.sigma == 0 or self.rate == 0:
            return inputs
        batch = ops.shape(inputs)[0]
        dtype = self.compute_dtype
        # half the largest blur, then that blurred again to reach all of it
        # (Gaussian widths add in quadrature: 0.5**2 + 0.75 = 1)
        half = _blur(inputs, 0.5 * self.sigma)
        full = _blur(half, math.sqrt(0.75) * self.sigma)
        amount = keras.random.uniform(
            (batch, 1, 1, 1), maxval=2.0, dtype=dtype, seed=self.seed_generator
        )
        amount = amount * self._chosen((batch, 1, 1, 1), dtype)
        first = ops.minimum(amount, 1.0)
        second = ops.maximum(amount - 1.0, 0.0)
        return inputs + first * (half - inputs) + second * (full - half)

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}


@keras.saving.register_keras_serializable(package="skpneumo")
class Smoothing(layers.Layer):
    """Blur every image by a fixed Gaussian, in training and in prediction alike.

    Two files of the same X-ray differ in their finest detail by how they
    were decoded and resized (a JPEG decoded at a reduced scale or in full,
    a bicubic or a box filter), by less than a grey level on average. A
    network that reads that detail gives the two files different answers.
    Smoothing removes the detail below ``sigma`` pixels from every image the
    network sees, so such differences have little left to act on.

    Parameters
    ----------
    sigma : float
        Standard deviation of the Gaussian, in pixels of the layer's input;
        0 makes the layer an identity.
    **kwargs : dict
        Passed to :class:`keras.layers.Layer` (``name``, ``dtype``).
    """

    def __init__(self, sigma, **kwargs):
        super().__init__(**kwargs)
        self.sigma = float(sigma)

    def call(self, inputs):
        if self.sigma == 0:
            return inputs
        return _blur(inputs, self.sigma)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}
