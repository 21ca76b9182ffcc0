"""make_pneumonia_pipeline: the loader, the sampler and the classifier in one pipeline."""

from imblearn.pipeline import Pipeline

from ._decision import DEFAULT_THRESHOLD
from ._loader import ImageLoader
from ._sampler import ZoomOverSampler


def make_pneumonia_pipeline(
    *,
    image_size=96,
    threshold=DEFAULT_THRESHOLD,
    n_jobs=None,
    memory=None,
    random_state=None,
    verbose=0,
    **step_params,
):
    """Build the default pneumonia pipeline: load, rebalance, classify.

    Returns an imbalanced-learn :class:`~imblearn.pipeline.Pipeline` whose steps
    are ``loader`` (:class:`ImageLoader`), ``sampler`` (:class:`ZoomOverSampler`,
    which only acts in ``fit``) and ``classifier`` (:class:`PneumoniaClassifier`),
    each with its own defaults. It takes file paths (or image arrays) and
    labels, so it plugs straight into ``cross_val_score`` and ``GridSearchCV``.

    The factory's own parameters are those that span steps or that it sets
    for the default network; any other parameter of a step is passed as
    ``<step>__<parameter>``, the names that ``set_params`` and
    ``GridSearchCV`` use, e.g. ``classifier__epochs=5`` or
    ``sampler__zoom_range=(1.0, 1.2)``.

    Parameters
    ----------
    image_size : int or tuple of (int, int), default=96
        Size the loader gives the images, and so the network's input size.
    threshold : float, default=0.29
        The classifier's operating point on P(pneumonia): PNEUMONIA when it
        is at least ``threshold``. The default is the default network's
        operating point, ``skpneumo._decision.DEFAULT_THRESHOLD`` (the user
        guide's threshold page says how it is chosen and what it trades); the
        bare :class:`PneumoniaClassifier` defaults to 0.5.
    n_jobs : int or None, default=None
        Decoding threads of the loader.
    memory : str, pathlib.Path, joblib.Memory or None, default=None
        The loader's cache of decoded images.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampler and the classifier.
    verbose : int, default=0
        Verbosity of the loader and the classifier.
    **step_params : dict
        Parameters of the steps, as ``<step>__<parameter>``; set after the
        factory's own, so ``classifier__random_state`` overrides
        ``random_state`` for the classifier alone.

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        The unfitted pipeline.

    Raises
    ------
    TypeError
        For a keyword without a step prefix; the message names the step
        whose parameter it is.

    Examples
    --------
    >>> from skpneumo import make_pneumonia_pipeline
    >>> pipe = make_pneumonia_pipeline(
    ...     image_size=64, classifier__epochs=2, random_state=0
    ... )
    >>> [name for name, _ in pipe.steps]
    ['loader', 'sampler', 'classifier']
    >>> pipe.get_params()["classifier__epochs"]
    2
    """
    from ._classifier import PneumoniaClassifier

    pipeline = Pipeline(
        [
            (
                "loader",
                ImageLoader(
                    image_size=image_size, n_jobs=n_jobs, memory=memory, verbose=verbose
                ),
            ),
            ("sampler", ZoomOverSampler(random_state=random_state)),
            (
                "classifier",
                PneumoniaClassifier(
                    threshold=threshold, random_state=random_state, verbose=verbose
                ),
            ),
        ]
    )
    unrouted = [key for key in step_params if "__" not in key]
    if unrouted:
        raise TypeError(_unrouted_message(pipeline, unrouted))
    return pipeline.set_params(**step_params)


def _unrouted_message(pipeline, keys):
    hints = []
    for key in keys:
        steps = [name for name, step in pipeline.steps if key in step.get_params()]
        hints.append(
            f"{key!r} (pass it as {steps[0]}__{key})"
            if steps
            else f"{key!r} (a parameter of no step)"
        )
    return (
        "make_pneumonia_pipeline() got keyword arguments without a step prefix: "
        + ", ".join(hints)
        + ". Its own parameters are image_size, threshold, n_jobs, memory, "
        "random_state and verbose; the steps' are <step>__<parameter>."
    )
