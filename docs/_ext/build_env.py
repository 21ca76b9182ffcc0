"""Environment settings of the documentation build that the gallery's examples read.

sphinx-gallery runs each example from ``examples/``, and Sphinx evaluates
``conf.py`` from ``docs/``, so a relative path in ``SKPNEUMO_DATA`` means
neither what the person who started the build typed nor what the examples
would read. ``docs/conf.py`` calls :func:`absolute_env_path` from its
``setup(app)``, which Sphinx runs after it has returned to the directory the
build was started from and before sphinx-gallery runs the examples.
"""

import os
from pathlib import Path


def absolute_env_path(name, start, environ=None):
    """Make the path in ``environ[name]`` absolute, resolved against ``start``.

    Parameters
    ----------
    name : str
        The environment variable, e.g. ``"SKPNEUMO_DATA"``.
    start : str or Path
        The directory a relative path is relative to: the one the build was
        started from.
    environ : mapping, default=None
        Where the variable lives and is written back; ``os.environ`` when None.

    Returns
    -------
    path : str or None
        The absolute path now in ``environ[name]`` (``~`` expanded), or None
        when the variable is unset or empty, which is left as it is.

    Examples
    --------
    >>> env = {"SKPNEUMO_DATA": "../shared/data/chest_xray"}
    >>> absolute_env_path("SKPNEUMO_DATA", "/work/repo", env)
    '/work/shared/data/chest_xray'
    >>> env["SKPNEUMO_DATA"]
    '/work/shared/data/chest_xray'
    >>> absolute_env_path("SKPNEUMO_DATA", "/elsewhere", {}) is None
    True
    """
    environ = os.environ if environ is None else environ
    value = environ.get(name)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(start) / path
    environ[name] = os.path.normpath(path)
    return environ[name]
