"""A fitted model's P(pneumonia) and labels on image files, each decoded once.

The pipeline's own loader decodes the files into arrays first; given arrays of
its output size it passes them through, so that ``predict_proba`` and
``predict`` (or a tuning or an evaluation) do not decode them again.
"""

from ._wrappers import inner_pipeline


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


def predict_images(model, paths, *, n_jobs, quality="warn"):
    """P(pneumonia), the label and the quality flags of each image file.

    The input-quality check of the loader runs as ``quality`` ("warn",
    "raise" or "ignore") says, except that "warn" does not warn: the flags are
    returned instead. Labels come from ``model.predict``, the one owner of the
    decision rule (the classifier's threshold, a FixedThresholdClassifier's or
    a tuned one, or a calibrated model's argmax).

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
