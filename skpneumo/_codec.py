"""The JSON codec of skpneumo.json: plain values out, checked values back.

:func:`_encode` writes constructor parameters, :func:`_encode_state` fitted
NumPy state with its dtype; :func:`_decode` reads both back and refuses any
object it does not know, and the ``_real``/``_object`` checks refuse values of
the wrong form, all with a :class:`ModelFormatError` that says what was
found. Nothing here knows an estimator; see ``_wrappers`` (scikit-learn's
post-fit wrappers) and ``_persistence`` (the folder).
"""

import hashlib
import math
import numbers
import os
import reprlib

import numpy as np

#: The longest NumPy string dtype ("<U1024") a value in skpneumo.json may have.
MAX_STRING_LENGTH = 1024


_REPR = reprlib.Repr()


_REPR.maxstring = _REPR.maxother = 120


def _brief(value):
    """``repr(value)``, cut short: a doctored file can hold long values."""
    return _REPR.repr(value)


class ModelFormatError(ValueError):
    """A saved model is missing, damaged or from an incompatible version."""


def file_sha256(path):
    """SHA-256 digest of a file, as a hex string."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _encode(value, where):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, np.ndarray):
        return [_encode(v, where) for v in value.tolist()]
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_encode(k, where), _encode(v, where)] for k, v in value.items()
            ]
        }
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise ValueError(
        f"Cannot save {where}={value!r}: only numbers, strings, None, tuples, lists "
        "and dicts of them can be written to skpneumo.json (set an int random_state "
        "and a plain sampling_strategy before saving)."
    )


def _encode_state(value, where):
    """Like :func:`_encode`, but NumPy arrays and scalars keep their dtype."""
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "biufUO":
        return {
            "__ndarray__": _encode(np.asarray(value).tolist(), where),
            # "float32" reads better than "<f4"; strings need the full code ("<U9")
            "dtype": value.dtype.name
            if value.dtype.kind in "biuf"
            else value.dtype.str,
        }
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_encode(k, where), _encode_state(v, where)] for k, v in value.items()
            ]
        }
    return _encode(value, where)


def _decode_dtype(name):
    """The dtype named in skpneumo.json: a number, a bounded string, or object."""
    if not isinstance(name, str):
        raise ModelFormatError(f"a dtype must be a string, not {_brief(name)}")
    try:
        dtype = np.dtype(name)
    except TypeError as exc:
        raise ModelFormatError(f"unknown dtype {_brief(name)}") from exc
    if dtype.kind in "biufO" or (
        dtype.kind == "U" and dtype.itemsize // 4 <= MAX_STRING_LENGTH
    ):
        return dtype
    raise ModelFormatError(f"dtype {_brief(name)} is not one a model holds")


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(_decode(v) for v in value["__tuple__"])
        if set(value) == {"__dict__"} and isinstance(value["__dict__"], list):
            pairs = value["__dict__"]
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ModelFormatError(
                    f"a __dict__ must list [key, value] pairs: {_brief(pairs)}"
                )
            return {_decode(k): _decode(v) for k, v in pairs}
        if set(value) == {"__ndarray__", "dtype"}:
            array = np.asarray(
                _decode(value["__ndarray__"]), dtype=_decode_dtype(value["dtype"])
            )
            return array[()] if array.ndim == 0 else array  # a 0-d array was a scalar
        raise ModelFormatError(f"unexpected object {_brief(value)}")
    return value


def _decode_fields(fields):
    return {key: _decode(value) for key, value in _object(fields, "fields").items()}


def _object(value, where):
    """``value`` if it is a JSON object, else a ModelFormatError naming ``where``."""
    if not isinstance(value, dict):
        raise ModelFormatError(f"{where} must be an object, not {_brief(value)}")
    return value


def _real(value, where, *, finite=True):
    """``value`` if it is a real number (not a bool), finite unless told."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or (finite and not math.isfinite(value))
    ):
        raise ModelFormatError(
            f"{where} must be a {'finite ' if finite else ''}number, not "
            f"{_brief(value)}"
        )
    return value


def _real_vector(value, where):
    """``value`` if it is a non-empty 1-D array of real numbers."""
    if (
        not isinstance(value, np.ndarray)
        or value.ndim != 1
        or value.size == 0
        or value.dtype.kind not in "iuf"
    ):
        raise ModelFormatError(
            f"{where} must be a non-empty 1-D array of numbers, not {_brief(value)}"
        )
    return value


def _validate_params(estimator):
    """Check ``estimator``'s parameters against its constraints, bools strictly.

    scikit-learn counts True and False as the integers 1 and 0; ``save_model``
    never writes one where a number is meant, so a doctored file that does is
    refused.
    """
    constraints = getattr(type(estimator), "_parameter_constraints", None)
    if constraints is None:
        return
    estimator._validate_params()
    for key, value in estimator.get_params(deep=False).items():
        allowed = constraints.get(key, ())
        if isinstance(value, bool) and not {"boolean", "verbose"} & set(
            c for c in allowed if isinstance(c, str)
        ):
            raise ModelFormatError(
                f"the {key!r} parameter of {type(estimator).__name__} cannot be "
                f"{value!r}"
            )
