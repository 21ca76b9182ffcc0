"""PneumoniaClassifier: a scikeras KerasClassifier that scikit-learn treats as one."""

import hashlib
import math
import weakref

import keras
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)
from sklearn_compat.base import _fit_context

from . import _backend, _predict, _spec
from ._architectures import build_cnn
from ._decision import labels_at_threshold
from ._scikeras import KerasClassifierBase
from ._validation import check_binary_target, check_image_array


def _log_odds(p):
    """log(p / (1 - p)), finite: ``p`` is clipped to [1e-12, 1 - 1e-12]."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


class PneumoniaClassifier(KerasClassifierBase):
    """Convolutional network that tells NORMAL from PNEUMONIA chest X-rays.

    A scikeras :class:`~scikeras.wrappers.KerasClassifier` around the network
    of :func:`skpneumo.build_cnn`. Unlike the stock wrapper on scikit-learn
    >= 1.6, it is a classifier to scikit-learn (stratified cross-validation,
    finite ``roc_auc``), its parameters are the constructor arguments below,
    and it is seeded on every Keras backend; the repairs that takes are
    gathered in ``skpneumo._scikeras``.

    ``X`` is a batch of images of shape ``(n_samples, height, width)`` or
    ``(n_samples, height, width, channels)`` with pixel values on the 0-255
    scale, typically the uint8 output of :class:`~skpneumo.ImageLoader`. A 2-D
    ``X`` (flattened images, or a table of features) is rejected with a
    ``ValueError`` in ``fit`` and in every prediction method, as
    :class:`~skpneumo.ZoomOverSampler` does. The
    network rescales and augments them itself (augmentation is active only in
    training), so no float copy of the data set is made outside it.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    classes_ : ndarray of shape (2,)
        The class labels; the second is the positive class whose probability
        the network outputs.
    history_ : dict of str to list of float
        Per-epoch ``loss``, ``auc`` and ``accuracy`` (and ``val_`` versions
        with early stopping).
    n_iter_ : int
        Number of epochs run.
    X_shape_ : tuple of int
        Shape of the training images.
    dtype_policy_ : str
        The dtype policy the network computes in (``mixed_precision``
        resolved): ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``.

    See Also
    --------
    make_pneumonia_pipeline : The loader, the sampler and this classifier in one pipeline.

    Examples
    --------
    >>> import numpy as np
    >>> from skpneumo import PneumoniaClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(0, 256, size=(8, 16, 16, 1), dtype=np.uint8)
    >>> y = np.array(["NORMAL", "PNEUMONIA"] * 4)
    >>> clf = PneumoniaClassifier(n_blocks=1, filters=4, epochs=1, random_state=0)
    >>> clf.fit(X, y).predict_proba(X).shape
    (8, 2)
    >>> clf.classes_.tolist()
    ['NORMAL', 'PNEUMONIA']
    """

    # the loss scikeras' target encoder reads; fixed, not a parameter
    loss = "binary_crossentropy"

    _parameter_constraints = _spec.constraints()

    # the signature and defaults of the parameters' table (skpneumo._spec)
    __init__ = _spec.init_from(_spec.PARAMETERS, "PneumoniaClassifier")

    def __sklearn_tags__(self):
        # images: scikit-learn's common checks may pass 3-D batches
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Train a new network on images ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Training images, pixel values on the 0-255 scale (uint8 is best).
        y : array-like of shape (n_samples,)
            Two class labels, e.g. 0/1 or "NORMAL"/"PNEUMONIA".
        sample_weight : array-like of shape (n_samples,), default=None
            Per-image weights in the loss.
        validation_data : tuple of (X_val, y_val), default=None
            Images of other patients (same shape as ``X``) and their labels,
            scored after every epoch: ``history_`` gets ``val_loss``,
            ``val_auc`` and ``val_accuracy`` (at 0.5), computed as ``predict``
            would at that point, with the normalisation statistics of clean
            training images (see ``bn_statistics``). They only report: the
            fit itself, and so its result, is the same without them. Through
            a pipeline, pass them as ``classifier__validation_data`` with
            images already loaded. Cannot be combined with ``early_stopping``,
            which holds out its own images.

        Returns
        -------
        self : PneumoniaClassifier
            The fitted classifier.
        """
        if self.early_stopping and self.weight_averaging:
            raise InvalidParameterError(
                "The 'early_stopping' and 'weight_averaging' parameters of "
                "PneumoniaClassifier cannot both be True: early stopping restores "
                "the raw weights of its best epoch, weight averaging replaces them."
            )
        self._check_params()
        self._validation = self._check_validation_data(validation_data, X)
        self.dtype_policy_ = _backend.resolve_dtype_policy(self.mixed_precision)
        return super().fit(X, y, sample_weight=sample_weight)

    def _check_params(self):
        """Check what the parameter constraints cannot say; return the views.

        ``fit``, ``predict_proba`` (``set_params`` checks nothing) and
        :func:`~skpneumo.load_model` call it, so that all three refuse the same
        values.
        """
        return _check_views(self.test_time_views)

    def _check_validation_data(self, validation_data, X):
        if validation_data is None:
            return None
        if self.early_stopping:
            raise ValueError(
                "validation_data cannot be combined with early_stopping=True, which "
                "holds out validation_fraction of the training images itself."
            )
        try:
            X_val, y_val = validation_data
        except (TypeError, ValueError):
            raise ValueError(
                "validation_data must be a pair (X_val, y_val) of images and labels."
            ) from None
        X_val = check_image_array(X_val)
        y_val = column_or_1d(y_val)
        check_consistent_length(X_val, y_val)
        if X_val.shape[1:] != np.shape(X)[1:]:
            raise ValueError(
                f"validation_data holds images of shape {X_val.shape[1:]}, but the "
                f"training images have shape {np.shape(X)[1:]}."
            )
        return X_val, y_val

    # The learning-rate schedule is planned over ``epochs``, so one-epoch
    # increments make no sense; hide scikeras' partial_fit (hasattr is False).
    @available_if(lambda self: False)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Not available: call ``fit`` with the number of epochs you want."""

    # scikeras validates X as a 2-D table; images are checked here, and y
    # is left to scikeras' own encoding
    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        if reset and y is None:
            raise ValueError(
                "PneumoniaClassifier requires y to be passed, but the target y is None."
            )
        if X is not None:
            X = check_image_array(X)
            if reset:
                self.X_dtype_ = X.dtype
                self.X_shape_ = X.shape
                self.n_features_in_ = math.prod(X.shape[1:])
            elif X.shape[1:] != self.X_shape_[1:]:
                raise ValueError(
                    f"X has {math.prod(X.shape[1:])} features, but "
                    f"PneumoniaClassifier is expecting {self.n_features_in_} features "
                    f"as input: it was fitted on images of shape {self.X_shape_[1:]}, "
                    f"got {X.shape[1:]}."
                )
        if y is not None:
            y = column_or_1d(y, warn=True)
            if X is not None:
                check_consistent_length(X, y)
            check_classification_targets(y)
            if reset:
                check_binary_target(y)
            _, y = super()._validate_data(X=None, y=y, reset=reset, y_numeric=y_numeric)
        return X, y

    def _validate_sample_weight(self, X, y, sample_weight):
        # scikeras drops the images whose weight is zero; both classes must remain
        X, y, sample_weight = super()._validate_sample_weight(X, y, sample_weight)
        if np.unique(y).size < 2:
            raise ValueError(
                "Only one class is left among the images with a non-zero "
                "sample_weight; PneumoniaClassifier needs both classes."
            )
        return X, y, sample_weight

    # scikeras' build hook: the network, AdamW and its learning-rate schedule
    def _keras_build_fn(self, meta):
        n_samples = meta["X_shape_"][0]
        if self.early_stopping:
            n_samples -= math.ceil(n_samples * self.validation_fraction)
        model = build_cnn(
            meta["X_shape_"][1:],
            **{name: getattr(self, name) for name in _spec.NETWORK},
            seed=self._seed,
            dtype=self.dtype_policy_,
        )
        learning_rate = self.learning_rate
        if self.lr_schedule == "cosine":
            steps = self.epochs * math.ceil(max(n_samples, 1) / self.batch_size)
            learning_rate = keras.optimizers.schedules.CosineDecay(
                self.learning_rate, decay_steps=max(steps, 1)
            )
        optimizer = keras.optimizers.AdamW(
            learning_rate=learning_rate,
            weight_decay=self.weight_decay,
            use_ema=self.weight_averaging,
            ema_momentum=0.99,
        )
        if self.dtype_policy_ == "mixed_float16":
            # float16 gradients underflow without it; Keras adds it by itself
            # only to models whose own policy is mixed_float16
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        # jit_compile stays at Keras' "auto": XLA on JAX (see
        # _backend.allow_jit); on TensorFlow XLA on a GPU unless augmentation
        # is on (XLA has no kernel for its warps); on PyTorch eager
        model.compile(
            optimizer=optimizer,
            loss="binary_crossentropy",
            metrics=[
                keras.metrics.AUC(name="auc"),
                keras.metrics.BinaryAccuracy(name="accuracy"),
            ],
        )
        return model

    # scikeras' training hook: held-out scores, early stopping, clean statistics
    def _fit_keras_model(
        self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
    ):
        callbacks, validation_data = [], None
        if self._validation is not None:
            X_val, y_val = self._validation
            unknown = set(np.unique(y_val).tolist()) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"validation_data has labels {sorted(unknown)} that are not "
                    f"among the training classes {self.classes_.tolist()}."
                )
            callbacks.append(
                _HeldOutScores(
                    X_val,
                    self.target_encoder_.transform(y_val).ravel(),
                    _statistics_sample(X, self._seed),
                    self.batch_size,
                    refresh=self.bn_statistics == "clean",
                )
            )
        if self.early_stopping:
            train, val = self._split_validation(y)
            X, X_val, y, y_val = X[train], X[val], y[train], y[val]
            sw_val = None
            if sample_weight is not None:
                sample_weight, sw_val = sample_weight[train], sample_weight[val]
            # the loss that early stopping watches is the one predict will give
            callbacks.append(
                _HeldOutScores(
                    X_val,
                    np.asarray(y_val).ravel(),
                    _statistics_sample(X, self._seed),
                    self.batch_size,
                    sample_weight=sw_val,
                    refresh=self.bn_statistics == "clean",
                )
            )
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=self.n_iter_no_change,
                    restore_best_weights=True,
                )
            )
        history = self.model_.fit(
            X,
            y,
            sample_weight=sample_weight,
            batch_size=self.batch_size,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            validation_data=validation_data,
            callbacks=callbacks,
            shuffle=True,
            verbose=self.verbose,
        )
        self.history_ = {
            key: [float(v) for v in values] for key, values in history.history.items()
        }
        self.n_iter_ = len(history.epoch)
        if self.bn_statistics == "clean":
            _refresh_batch_statistics(self.model_, X, self.batch_size)

    def _split_validation(self, y):
        labels = np.asarray(y).ravel()
        counts = np.bincount(labels.astype(int), minlength=2)
        if counts.min() < 2 or math.floor(labels.size * self.validation_fraction) < 2:
            raise ValueError(
                "early_stopping needs at least 2 images of each class in the "
                f"validation_fraction={self.validation_fraction} hold-out; got "
                f"{labels.size} training images with class counts {counts.tolist()}."
            )
        return train_test_split(
            np.arange(labels.size),
            test_size=self.validation_fraction,
            stratify=labels,
            random_state=self._seed,
        )

    def predict_proba(self, X):
        """Probability of each class for each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Images, pixel values on the 0-255 scale.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns follow ``classes_``; the second is the network's output.
        """
        return super().predict_proba(X)

    def predict(self, X):
        """Predict the class of each image at the ``threshold`` operating point.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Images, pixel values on the 0-255 scale.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            ``classes_[1]`` where P(``classes_[1]``) is at least ``threshold``,
            else ``classes_[0]``.
        """
        return self._labels_from_proba(self.predict_proba(X))

    def decision_function(self, X):
        """Compute the log-odds of ``classes_[1]`` relative to the threshold.

        ``log(p / (1 - p)) - log(t / (1 - t))`` for P(``classes_[1]``) ``p``
        and ``threshold`` ``t``: zero at the threshold, positive (or zero)
        exactly where :meth:`predict` says ``classes_[1]``, and in the same
        order as :meth:`predict_proba`. Probability calibration fits a
        sigmoid to it (``CalibratedClassifierCV`` uses ``decision_function``
        when there is one): the network's probabilities crowd against 1, and
        a sigmoid of the probability itself cannot reach past them, while a
        sigmoid of the log-odds can.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Images, pixel values on the 0-255 scale.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Finite: probabilities are clipped to [1e-12, 1 - 1e-12] first,
            which float32 probabilities reach only at exactly 0 or 1.
        """
        proba = self.predict_proba(X)[:, 1].astype(np.float64)
        return _log_odds(proba) - _log_odds(np.float64(self.threshold))

    def _labels_from_proba(self, proba):
        """The labels ``predict`` gives for rows of ``predict_proba``'s output.

        The classifier's one decision rule: ``predict`` applies it, and so
        does everything that already holds the probabilities and needs the
        predicted class (the heatmaps' ``target="predicted"``), so that the
        two cannot disagree.

        Parameters
        ----------
        proba : ndarray of shape (n_samples, 2)
            As returned by :meth:`predict_proba`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            ``classes_[1]`` where ``proba[:, 1]`` is at least ``threshold``,
            else ``classes_[0]``.
        """
        check_is_fitted(self, "model_")
        return labels_at_threshold(proba[:, 1], self.threshold, self.classes_)

    def _get_fitted_state(self):
        """The fitted state besides the network, as plain Python values.

        The twin of :meth:`_set_fitted_state`:
        ``clone(clf)._set_fitted_state(clf.model_, **clf._get_fitted_state())``
        rebuilds a classifier that predicts like ``clf``. Lists, tuples,
        strings and numbers only, so that :func:`skpneumo.save_model` can
        write them as JSON without knowing what they are.
        """
        check_is_fitted(self, "model_")
        return {
            "classes": self.classes_.tolist(),
            "X_shape": tuple(int(n) for n in self.X_shape_),
            "X_dtype": str(self.X_dtype_),
            "history": {
                key: [float(v) for v in values] for key, values in self.history_.items()
            },
            "n_iter": int(self.n_iter_),
        }

    def _set_fitted_state(self, model, *, classes, X_shape, X_dtype, history, n_iter):
        """Make this classifier fitted around a trained Keras ``model``.

        Used to load a saved model without refitting (see
        :func:`skpneumo.load_model`).
        """
        self.classes_ = None
        _, y = self._validate_data(y=np.asarray(classes), reset=True)
        self.target_encoder_ = self.target_encoder.fit(y)
        vars(self).update(self.target_encoder_.get_metadata())
        self.model_ = _backend.allow_jit(model)
        self.X_shape_ = tuple(X_shape)
        self.X_dtype_ = np.dtype(X_dtype)
        self.n_features_in_ = math.prod(self.X_shape_[1:])
        self.dtype_policy_ = _backend.model_dtype_policy(model)
        self.history_ = {key: list(values) for key, values in history.items()}
        self.n_iter_ = n_iter
        return self

    # scikeras predicts in batches of any size; see _predict_in_fixed_batches
    def _predict_raw(self, X, **kwargs):
        check_is_fitted(self, "model_")
        views = self._check_params()
        X, _ = self._validate_data(X=X)
        memory = _predict.scores_in_memory()
        if memory is None:
            return _predict_in_fixed_batches(self.model_, X, self.batch_size, views)
        return self._remembered(memory, np.ascontiguousarray(X), views)

    def _remembered(self, memory, X, views):
        """:func:`_predict_in_fixed_batches`, image by image from ``memory``.

        An image's probability does not depend on its batch-mates (see
        :func:`_predict_in_fixed_batches`), so each is kept on its own, known
        by its bytes: a subset, a reordering or a repeat of images scored
        before (the folds of a cross-fitted calibration) costs no pass. The
        network is held by a weak reference and compared by identity: a
        refit builds another one, which starts afresh.
        """
        key = (id(self), X.shape[1:], X.dtype.str, views, self.batch_size)
        network, known = memory.get(key, (None, None))
        if network is None or network() is not self.model_:
            known = {}
            memory[key] = (weakref.ref(self.model_), known)
        digests = [hashlib.blake2b(image.data).digest() for image in X]
        first = {}  # each image not scored yet, by the index of its first copy
        for i, digest in enumerate(digests):
            if digest not in known:
                first.setdefault(digest, i)
        if first:
            scored = _predict_in_fixed_batches(
                self.model_, X[list(first.values())], self.batch_size, views
            )
            known.update(zip(first, scored, strict=True))
        return np.stack([known[d] for d in digests])


_spec.fill_docstring(PneumoniaClassifier, parameters=_spec.docstring_entries())


def _check_views(views):
    """``test_time_views`` as a tuple of floats, or an error that names it."""
    low, high = _spec.VIEW_RANGE
    checked = ()
    if not isinstance(views, str):  # a string is iterable, but names no views
        try:
            checked = tuple(float(view) for view in views)
        except (TypeError, ValueError):
            pass
    if not checked or not all(low <= view <= high for view in checked):
        raise InvalidParameterError(
            "The 'test_time_views' parameter of PneumoniaClassifier must be a "
            f"non-empty tuple of fields of view from {low:g} to {high:g}; got "
            f"{views!r}."
        )
    return checked


def _reframe(images, view):
    """``images`` seen with a field of view ``view`` times theirs, at their own size.

    Below 1 a centre crop, above 1 the borders reflected outwards; either is
    then resized back bilinearly, in float32 (no rounding to uint8 in
    between). The crop and the padding are whole pixels on each side, so a
    view too close to 1 for the image's size returns it unchanged.

    Only a widened view is shrunk, so only it is antialiased: when enlarging,
    antialiasing widens nothing and the plain bilinear filter is the exact
    one. TensorFlow's antialiased kernel costs about four times as much (a
    sixth of the time of a three-view prediction), and departs from the
    plain one by 3e-5 grey levels at 96 px, more on larger images.
    """
    h, w = images.shape[1:3]
    kh, kw = round(h * abs(view - 1) / 2), round(w * abs(view - 1) / 2)
    if kh == kw == 0:
        return images
    if view < 1:
        images = images[:, kh : h - kh, kw : w - kw]
    else:
        images = np.pad(images, ((0, 0), (kh, kh), (kw, kw), (0, 0)), mode="reflect")
    return keras.ops.image.resize(
        keras.ops.convert_to_tensor(images, dtype="float32"),
        (h, w),
        interpolation="bilinear",
        antialias=view > 1,
    )


def _predict_on_views(model, batch, views):
    """P(class 1) of ``batch`` averaged over ``views``: the mean of the log-odds."""
    if views == (1.0,):
        # the image as given, exactly as the network scores it
        return keras.ops.convert_to_numpy(model.predict_on_batch(batch))
    log_odds = [
        _log_odds(
            keras.ops.convert_to_numpy(
                model.predict_on_batch(_reframe(batch, view))
            ).astype(np.float64)
        )
        for view in views
    ]
    return (1 / (1 + np.exp(-np.mean(log_odds, axis=0)))).astype(np.float32)


def _predict_in_fixed_batches(model, X, batch_size, views=(1.0,)):
    """Run ``model`` on ``X`` in batches of exactly ``batch_size`` images.

    The last batch is padded with blank images, whose outputs are dropped. A
    CPU kernel may round an image's result differently by its position in a
    short batch (TensorFlow's Eigen kernels, used on CPUs without AVX-512 VNNI
    such as older AMD EPYCs, do at the last float32 bit); with every batch the
    same shape, an image gets the same probability whatever its batch-mates,
    their order, or whether it is predicted alone. It also spares JAX a
    compilation for the odd-sized last batch. Each batch is scored on every
    field of view of ``views`` (see :func:`_predict_on_views`).
    """
    outputs = [
        _predict_on_views(model, batch, views)[:n_real]
        for batch, n_real in _batches(X, batch_size)
    ]
    if not outputs:
        return np.zeros((0, 1), dtype=np.float32)
    return np.concatenate(outputs)


def _batches(X, batch_size):
    """``X`` in batches of exactly ``batch_size`` images, the last padded with blanks.

    Yields ``(batch, n_real)``: the batch and how many of its images are real.
    See :func:`_predict_in_fixed_batches` for why every batch has one shape.
    """
    for start in range(0, X.shape[0], batch_size):
        batch = X[start : start + batch_size]
        n_real = batch.shape[0]
        if n_real < batch_size:
            padded = np.zeros((batch_size, *X.shape[1:]), dtype=X.dtype)
            padded[:n_real] = batch
            batch = padded
        yield batch, n_real


def _refresh_batch_statistics(model, X, batch_size):
    """Set every BatchNormalization layer's statistics to those of the images ``X``.

    In training, a batch-normalisation layer keeps moving averages of the
    mean and variance of the batches it normalises, and ``predict`` uses
    them. Those batches were augmented (zoomed, blurred, re-exposed) inside
    the network, so their statistics are not those of the clean images that
    ``predict`` sees, and every activation after the layer is shifted. This
    recomputes them exactly on ``X`` as ``predict`` sees it: layer by layer
    in the network's order, each from its inputs in inference mode (so with
    the statistics already recomputed for the layers before it), as the mean
    and variance over all images and positions, accumulated in float64.
    """
    for norm in _batch_norms(model):
        if norm.axis not in (-1, len(norm.input.shape) - 1):
            raise ValueError(
                f"{norm.name}: only channels-last statistics are refreshed"
            )
        probe = keras.Model(model.inputs, norm.input)
        channels = norm.input.shape[-1]
        total = np.zeros(channels)
        total_sq = np.zeros(channels)
        count = 0
        for batch, n_real in _batches(X, batch_size):
            values = keras.ops.convert_to_numpy(probe.predict_on_batch(batch))[:n_real]
            values = values.astype(np.float64).reshape(-1, channels)
            total += values.sum(axis=0)
            total_sq += np.square(values).sum(axis=0)
            count += values.shape[0]
        mean = total / count
        variance = np.maximum(total_sq / count - np.square(mean), 0.0)
        norm.moving_mean.assign(mean.astype(norm.moving_mean.dtype))
        norm.moving_variance.assign(variance.astype(norm.moving_variance.dtype))


#: Training images that the per-epoch held-out scores normalise with: the
#: full recomputation at the end of ``fit`` uses them all, but after every
#: epoch a sample this size estimates the statistics well enough to report.
_STATISTICS_SAMPLE = 512


def _statistics_sample(X, seed):
    if X.shape[0] <= _STATISTICS_SAMPLE:
        return X
    rows = np.random.RandomState(seed).choice(
        X.shape[0], _STATISTICS_SAMPLE, replace=False
    )
    return X[np.sort(rows)]


def _batch_norms(model):
    from keras import layers

    return [
        layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)
    ]


class _HeldOutScores(keras.callbacks.Callback):
    """Loss, ROC-AUC and accuracy on held-out images after every epoch.

    Scored as ``predict`` would score them at that point: with ``refresh``,
    with the normalisation statistics of the clean training images
    ``X_stats`` (see :func:`_refresh_batch_statistics`), which are put back
    afterwards, so that training goes on exactly as it would without this
    callback. Keras' own ``validation_data`` would score with the moving
    averages of the augmented batches instead, which say little of what
    ``predict`` will give. The scores go into the epoch's logs, where
    ``History`` and ``EarlyStopping`` (called after this callback) read them.
    """

    def __init__(self, X, y, X_stats, batch_size, *, sample_weight=None, refresh=True):
        super().__init__()
        self.X, self.y, self.X_stats, self.batch_size = X, y, X_stats, batch_size
        self.sample_weight, self.refresh = sample_weight, refresh

    def on_epoch_end(self, epoch, logs=None):

        if not self.refresh:
            proba = _predict_in_fixed_batches(self.model, self.X, self.batch_size)
            self._log(proba.reshape(-1).astype(np.float64), logs)
            return
        norms = _batch_norms(self.model)
        saved = [
            (
                keras.ops.convert_to_numpy(norm.moving_mean),
                keras.ops.convert_to_numpy(norm.moving_variance),
            )
            for norm in norms
        ]
        _refresh_batch_statistics(self.model, self.X_stats, self.batch_size)
        proba = _predict_in_fixed_batches(self.model, self.X, self.batch_size)
        proba = proba.reshape(-1).astype(np.float64)
        for norm, (mean, variance) in zip(norms, saved, strict=True):
            norm.moving_mean.assign(mean)
            norm.moving_variance.assign(variance)
        self._log(proba, logs)

    def _log(self, proba, logs):
        from sklearn.metrics import log_loss, roc_auc_score

        if logs is None:
            return
        w = self.sample_weight
        both = np.unique(self.y).size == 2
        logs["val_loss"] = float(
            log_loss(self.y, proba, labels=[0, 1], sample_weight=w)
        )
        logs["val_auc"] = (
            float(roc_auc_score(self.y, proba, sample_weight=w)) if both else math.nan
        )
        logs["val_accuracy"] = float(np.average((proba >= 0.5) == self.y, weights=w))
