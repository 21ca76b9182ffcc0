"""Output folders that are written beside their place and moved in when complete.

A command that writes a folder (``skpneumo tune``'s model, ``skpneumo
explain``'s pictures) writes it under a hidden temporary name in the same
parent folder, and renames it into place only when everything is written: an
error or Ctrl-C leaves the user's path as it was. An existing non-empty folder
(or a file) at the path is never replaced unless the caller says so.
"""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def check_output_folder(path, *, overwrite=False, option="--overwrite"):
    """Refuse ``path`` if it holds something that writing there would destroy.

    Parameters
    ----------
    path : str or os.PathLike
        The folder to be written.
    overwrite : bool, default=False
        Whether an existing non-empty folder may be replaced.
    option : str, default="--overwrite"
        The option named in the error, which allows the replacement.

    Raises
    ------
    FileExistsError
        If ``path`` is a file, or a non-empty folder and ``overwrite`` is False.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(
            f"{str(path)!r} is a file, not a folder: choose another path."
        )
    if not overwrite and path.is_dir() and any(path.iterdir()):
        raise FileExistsError(
            f"{str(path)!r} exists and is not empty: choose another path, or pass "
            f"{option} to replace it."
        )


@contextmanager
def staged_folder(path, *, overwrite=False, option="--overwrite"):
    """Yield a temporary folder beside ``path``; on success, move it to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The folder to write. Its parent is created if needed.
    overwrite : bool, default=False
        Whether an existing non-empty folder at ``path`` is replaced (it is
        checked before anything is written, and again at the move).
    option : str, default="--overwrite"
        The option that allows a replacement, for the error message.

    Yields
    ------
    staging : pathlib.Path
        An empty folder on the same file system as ``path``: write everything
        there. When the block ends with an exception, it is removed and
        ``path`` is left untouched.

    Raises
    ------
    FileExistsError
        As :func:`check_output_folder`.
    """
    path = Path(path)
    check_output_folder(path, overwrite=overwrite, option=option)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    umask = os.umask(0)  # mkdtemp's folder is private; the output is not
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    try:
        yield staging
        check_output_folder(path, overwrite=overwrite, option=option)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(staging, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
