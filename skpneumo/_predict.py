"""A fitted model's P(pneumonia) and labels on image files, decoded and scored once.

The pipeline's own loader decodes the files into arrays first; given arrays of
its output size it passes them through, so that ``predict_proba`` and
``predict`` (or a tuning or an evaluation) do not decode them again. Within
:func:`scoring_once`, they do not run the network on them again either.
"""

import contextlib
import contextvars

from ._wrappers import inner_pipeline

_SCORED = contextvars.ContextVar("skpneumo_scored", default=None)


@contextlib.contextmanager
def scoring_once():
    """Within this block, a classifier asked again for the same images answers from memory.

    ``predict_proba`` and then ``predict`` of a model on the same images (or
    of a wrapper around it, such as a FixedThresholdClassifier, whose
    ``predict`` calls the classifier's ``predict_proba``) run the network
    once: a :class:`~skpneumo.PneumoniaClassifier` keeps the probability it
    gave each image, known by its bytes (a BLAKE2 digest), shape and dtype
    together with the classifier's ``test_time_views`` and ``batch_size``,
    until the block ends (the outermost block, when blocks nest). Any subset
    or reordering of images it has scored (the folds of a cross-fitted
    calibration) needs no pass either. Labels still come from each model's
    own ``predict``; only the network's further passes are saved.

    The memory knows a network by identity: a refit builds a new one and is
    scored afresh, but weights changed in place (``model_.set_weights``)
    inside the block are not seen.
    """
    memory = _SCORED.get()
    token = _SCORED.set({} if memory is None else memory)
    try:
        yield
    finally:
        _SCORED.reset(token)


def scores_in_memory():
    """The memory of the enclosing :func:`scoring_once` block, or None outside one.

    A dict that the classifier fills, keyed by the classifier and the
    images, holding the network and the probabilities it gave.
    """
    return _SCORED.get()


def _loader(model, n_jobs):
    loader = inner_pipeline(model).named_steps["loader"]
    loader.set_params(n_jobs=n_jobs)
    return loader


def decode_images(model, paths, *, n_jobs):
    """The files ``paths`` as ``model``'s loader turns them into arrays.

    Parameters
    ----------
    model : estimator
        A fitted pipeline of :func:`~skpneumo.make_pneumonia_pipeline`, or
        one that wraps it.
    paths : sequence of str or os.PathLike
        Image files.
    n_jobs : int
        Decoding threads, set on the loader.

    Returns
    -------
    images : ndarray
        What the loader's ``transform`` returns; ``model`` takes it as it is.
    """
    return _loader(model, n_jobs).transform([str(p) for p in paths])


@scoring_once()
def predict_images(model, paths, *, n_jobs, quality="warn"):
    """P(pneumonia), the label and the quality flags of each image file.

    The input-quality check of the loader runs as ``quality`` ("warn",
    "raise" or "ignore") says, except that "warn" does not warn: the flags are
    returned instead. Labels come from ``model.predict``, the one owner of the
    decision rule (the classifier's threshold, a FixedThresholdClassifier's or
    a tuned one, or a calibrated model's argmax); the network scores each
    image once for both (:func:`skpneumo._predict.scoring_once`).

    Returns
    -------
    proba : ndarray of shape (n_samples,)
        ``model.predict_proba(X)[:, 1]``.
    labels : ndarray of shape (n_samples,)
        ``model.predict(X)``, in ``model.classes_``.
    flags : list of list of str
        The reasons each image cannot be a frontal chest X-ray, empty when
        it can or was not measured.
    """
    paths = [str(p) for p in paths]
    images, _, flags = _loader(model, n_jobs)._load(paths, measure=quality != "ignore")
    if quality == "raise":
        from ._quality import act_on

        act_on(paths, flags, "raise", stacklevel=1)
    return model.predict_proba(images)[:, 1], model.predict(images), flags
