"""make_pneumonia_pipeline: the loader, the sampler and the classifier in one pipeline."""

from imblearn.pipeline import Pipeline

from ._decision import DEFAULT_THRESHOLD
from ._loader import ImageLoader
from ._sampler import ZoomOverSampler


def make_pneumonia_pipeline(
    *,
    image_size=96,
    channels=1,
    resize="squash",
    zoom_range=(1.05, 1.25),
    sampling_strategy="auto",
    n_blocks=4,
    filters=16,
    dropout=0.3,
    augmentation=1.0,
    intensity_augmentation=1.0,
    border_augmentation=0.0,
    blur_augmentation=1.0,
    crop_augmentation=0.0,
    standardize=True,
    smoothing=0.8,
    stem_stride=1,
    pool_first=True,
    bn_statistics="clean",
    learning_rate=1e-3,
    epochs=20,
    batch_size=32,
    class_weight=None,
    threshold=DEFAULT_THRESHOLD,
    mixed_precision="auto",
    n_jobs=None,
    memory=None,
    random_state=None,
    verbose=0,
):
    """Build the default pneumonia pipeline: load, rebalance, classify.

    Returns an imbalanced-learn :class:`~imblearn.pipeline.Pipeline` whose steps
    are ``loader`` (:class:`ImageLoader`), ``sampler`` (:class:`ZoomOverSampler`,
    which only acts in ``fit``) and ``classifier`` (:class:`PneumoniaClassifier`).
    It takes file paths (or image arrays) and labels, so it plugs straight into
    ``cross_val_score`` and ``GridSearchCV``; every parameter of every step can
    be tuned as ``<step>__<parameter>``.

    Parameters
    ----------
    image_size : int or tuple of (int, int), default=96
        Size the loader gives the images.
    channels : {1, 3}, default=1
        Greyscale or RGB.
    resize : {"squash", "crop", "pad"}, default="squash"
        How the loader fits images of another aspect ratio.
    zoom_range : tuple of (float, float), default=(1.05, 1.25)
        Magnifications of the sampler's synthetic images.
    sampling_strategy : float, str, dict or callable, default="auto"
        The sampler's target class sizes.
    n_blocks : int, default=4
        Number of convolution blocks; see :class:`PneumoniaClassifier`.
    filters : int, default=16
        Filters of the first block; see :class:`PneumoniaClassifier`.
    dropout : float, default=0.3
        Dropout rate before the output unit; see :class:`PneumoniaClassifier`.
    augmentation : float, default=1.0
        Strength of the geometric augmentation; see :class:`PneumoniaClassifier`.
    intensity_augmentation : float, default=1.0
        Strength of the grey-level augmentation; see :class:`PneumoniaClassifier`.
    border_augmentation : float, default=0.0
        Strength of the black-border augmentation; see :class:`PneumoniaClassifier`.
    blur_augmentation : float, default=1.0
        Strength of the blur augmentation; see :class:`PneumoniaClassifier`.
    crop_augmentation : float, default=0.0
        Strength of the crop augmentation; see :class:`PneumoniaClassifier`.
    standardize : bool, default=True
        Standardise each image inside the network; see
        :class:`PneumoniaClassifier`.
    smoothing : float, default=0.8
        Fixed blur of every image inside the network; see
        :class:`PneumoniaClassifier`.
    stem_stride : int, default=1
        Stride of the first convolution; see :class:`PneumoniaClassifier`.
    pool_first : bool, default=True
        Pool before normalising in each block; see :class:`PneumoniaClassifier`.
    bn_statistics : {"clean", "training"}, default="clean"
        Statistics the normalisation layers predict with; see
        :class:`PneumoniaClassifier`.
    learning_rate : float, default=1e-3
        Peak learning rate of AdamW; see :class:`PneumoniaClassifier`.
    epochs : int, default=20
        Number of passes over the training data; see :class:`PneumoniaClassifier`.
    batch_size : int, default=32
        Images per gradient step; see :class:`PneumoniaClassifier`.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss; see :class:`PneumoniaClassifier`.
    threshold : float, default=0.2
        Operating point of the classifier's ``predict``: PNEUMONIA when
        P(pneumonia) is at least ``threshold``. This factory owns the default
        network's operating point (the bare :class:`PneumoniaClassifier`
        keeps scikit-learn's 0.5). It is the highest threshold that kept a
        sensitivity of 0.97 on held-out patients of the training period; see
        the user guide's threshold page for how it was chosen and what it
        trades, and check it on images of your own hospital
        (``skpneumo tune``).
    mixed_precision : {"auto", "float32", "mixed_float16", "mixed_bfloat16"}, \
            default="auto"
        Keras dtype policy of the convolution blocks; see
        :class:`PneumoniaClassifier`.
    n_jobs : int or None, default=None
        Decoding threads of the loader.
    memory : str, pathlib.Path, joblib.Memory or None, default=None
        The loader's cache of decoded images.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampler and the classifier.
    verbose : int, default=0
        Verbosity of the loader and the classifier.

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        The unfitted pipeline.

    Examples
    --------
    >>> from skpneumo import make_pneumonia_pipeline
    >>> pipe = make_pneumonia_pipeline(image_size=64, epochs=2, random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['loader', 'sampler', 'classifier']
    """
    from ._classifier import PneumoniaClassifier

    return Pipeline(
        [
            (
                "loader",
                ImageLoader(
                    image_size=image_size,
                    channels=channels,
                    resize=resize,
                    n_jobs=n_jobs,
                    memory=memory,
                    verbose=verbose,
                ),
            ),
            (
                "sampler",
                ZoomOverSampler(
                    sampling_strategy=sampling_strategy,
                    zoom_range=zoom_range,
                    random_state=random_state,
                ),
            ),
            (
                "classifier",
                PneumoniaClassifier(
                    n_blocks=n_blocks,
                    filters=filters,
                    dropout=dropout,
                    augmentation=augmentation,
                    intensity_augmentation=intensity_augmentation,
                    border_augmentation=border_augmentation,
                    blur_augmentation=blur_augmentation,
                    crop_augmentation=crop_augmentation,
                    standardize=standardize,
                    smoothing=smoothing,
                    stem_stride=stem_stride,
                    pool_first=pool_first,
                    bn_statistics=bn_statistics,
                    learning_rate=learning_rate,
                    epochs=epochs,
                    batch_size=batch_size,
                    class_weight=class_weight,
                    threshold=threshold,
                    mixed_precision=mixed_precision,
                    random_state=random_state,
                    verbose=verbose,
                ),
            ),
        ]
    )
