"""Output folders that appear whole or not at all, and replace only what may go.

:func:`replacing` is how skpneumo writes every folder it makes (a model folder,
an evaluation report): the files are written into a temporary folder beside
the destination, which is renamed into place when complete. A failure or an
interrupt before that leaves the destination as it was; the rename itself
holds Ctrl-C until it is done, so the destination is never missing in between.

Before anything is written, :func:`check_destination` refuses to replace what
skpneumo did not make: an existing path is replaced only when it is empty or
the caller's ``replaceable`` test recognises it (a model folder, a report
folder), unless the caller asks to overwrite it. The current folder and its
ancestors are never replaced. Every message names the destination as the user
gave it, never the temporary folder.
"""

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path


def _quoted(path):
    return repr(os.fspath(path))


def _absolute(path):
    """``path`` made absolute without following links (``.`` and ``..`` resolved)."""
    return Path(os.path.abspath(path))


def _is_empty_folder(path):
    try:
        return path.is_dir() and not path.is_symlink() and not any(path.iterdir())
    except OSError:
        return False


def _nearest_existing(path):
    """``path`` or its nearest ancestor that exists."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor)


def check_destination(
    path, *, what, replaceable, overwrite=False, hint="overwrite=True"
):
    """Raise unless a new folder can be written at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The destination, as the user gave it.
    what : str
        What is written, for the messages ("model folder", "report folder").
    replaceable : callable
        ``replaceable(path)`` is true for an existing path that skpneumo may
        replace without being asked (a folder it wrote).
    overwrite : bool, default=False
        Replace any existing path but the current folder and its ancestors.
    hint : str, default="overwrite=True"
        How the user asks to overwrite, for the message.

    Raises
    ------
    ValueError
        If ``path`` is the current folder or one of its ancestors.
    FileExistsError
        If something at ``path`` is neither empty nor ``replaceable``, and
        ``overwrite`` is false.
    NotADirectoryError, PermissionError, OSError
        If the folder that would hold ``path`` is a file, or cannot be written.
    """
    absolute = _absolute(path)
    cwd = Path.cwd()
    resolved = Path(os.path.realpath(absolute))
    if absolute == Path(absolute.anchor) or any(
        place in (cwd, *cwd.parents) for place in {absolute, resolved}
    ):
        raise ValueError(
            f"Cannot write the {what} {_quoted(path)}: it is the current folder or "
            f"holds it, which is never replaced; name a new folder."
        )
    if os.path.lexists(absolute) and not (
        overwrite or _is_empty_folder(absolute) or replaceable(absolute)
    ):
        kind = "a folder with other contents" if absolute.is_dir() else "a file"
        raise FileExistsError(
            f"{_quoted(path)} exists and is not a {what} that skpneumo wrote ({kind}), "
            f"so it is left alone; name another path, or pass {hint} to replace it."
        )
    holder = _nearest_existing(absolute.parent)
    if not holder.is_dir():
        raise NotADirectoryError(
            f"Cannot write the {what} {_quoted(path)}: {_quoted(holder)} is not a folder."
        )
    try:  # the only sure test, whoever runs it (root ignores permission bits)
        os.rmdir(tempfile.mkdtemp(prefix=f".{absolute.name}.", dir=holder))
    except OSError as exc:
        raise PermissionError(
            f"Cannot write the {what} {_quoted(path)}: {_quoted(holder)} is not "
            f"writable ({exc.strerror or exc})."
        ) from exc


@contextlib.contextmanager
def _interrupts_held():
    """Hold Ctrl-C (SIGINT) until the block is done, then deliver it.

    Only in the main thread, where Python handles signals, and only where the
    current handler is Python's; elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: received.append(True))
    except (ValueError, TypeError):  # no Python-level handler to swap
        yield
        return
    if previous is None:  # installed outside Python: cannot be put back
        signal.signal(signal.SIGINT, signal.default_int_handler)
        previous = signal.default_int_handler
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt


def _commit(tmp, absolute):
    """Rename the complete folder ``tmp`` to ``absolute``, moving what was there away."""
    old_holder = None
    try:
        with _interrupts_held():
            if os.path.lexists(absolute):
                old_holder = Path(
                    tempfile.mkdtemp(
                        prefix=f".{absolute.name}.old.", dir=absolute.parent
                    )
                )
                old = old_holder / absolute.name
                os.replace(absolute, old)
                try:
                    os.replace(tmp, absolute)
                except BaseException:
                    os.replace(old, absolute)  # put the previous one back
                    raise
            else:
                os.replace(tmp, absolute)
    finally:
        if old_holder is not None:
            shutil.rmtree(old_holder, ignore_errors=True)


@contextlib.contextmanager
def replacing(path, *, what, replaceable, overwrite=False, hint="overwrite=True"):
    """Write a folder in a temporary place, then move it to ``path`` whole.

    Yields the temporary folder, beside ``path`` (so that the final rename
    stays on one file system); when the block ends without an exception, the
    folder replaces whatever was at ``path``. If the block raises, or is
    interrupted, the temporary folder is removed and ``path`` is unchanged.
    The destination is checked first (:func:`check_destination`, with the
    same parameters), and again just before it is replaced.

    An ``OSError`` raised while writing names ``path``, not the temporary
    folder.
    """
    check = dict(what=what, replaceable=replaceable, overwrite=overwrite, hint=hint)
    check_destination(path, **check)
    absolute = _absolute(path)
    try:
        absolute.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{absolute.name}.", dir=absolute.parent))
    except OSError as exc:
        raise OSError(
            f"Cannot write the {what} {_quoted(path)}: {exc.strerror or exc}"
        ) from exc
    try:
        # mkdtemp makes the folder private (0700); the folder it becomes gets
        # the permissions of any new folder, so that others can read it as usual
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        try:
            yield tmp
        except OSError as exc:
            raise OSError(
                f"Cannot write the {what} {_quoted(path)}: {exc.strerror or exc}"
            ) from exc
        check_destination(path, **check)  # what was there may have changed meanwhile
        try:
            _commit(tmp, absolute)
        except OSError as exc:
            raise OSError(
                f"Cannot move the {what} into place at {_quoted(path)}: "
                f"{exc.strerror or exc}"
            ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already once renamed


def check_output(path, option, what, replaceable, *, overwrite, inputs, hint):
    """Refuse an output path before any work, or say what it will replace.

    ``path`` may be replaced only if it is missing, an empty folder or
    ``replaceable`` (a folder skpneumo wrote), or with ``overwrite``
    (:func:`check_destination`); it may never be one of the ``inputs``
    (``(name, paths)`` pairs: the data, the model) nor hold one, since
    replacing it would delete them. ``option`` names ``path`` in the
    messages (``"--output"``) and ``hint`` says how to overwrite.

    Returns
    -------
    replacing : str
        What is at ``path`` and will be replaced ("a model folder", ...), or
        "" when nothing is.
    """
    target = Path(os.path.realpath(path))
    for name, paths in inputs:
        holders = set()
        for item in paths:
            item = Path(os.path.realpath(item))
            holders.add(item)
            holders.update(item.parents)
        if target in holders:
            raise ValueError(
                f"{option} {str(path)!r} is or holds {name}, which writing it would "
                f"delete; name another {what}."
            )
    check_destination(
        path, what=what, replaceable=replaceable, overwrite=overwrite, hint=hint
    )
    if not os.path.lexists(path):
        return ""
    if path.is_dir() and not any(path.iterdir()):
        return "an empty folder"
    if replaceable(path):
        return f"a {what}"
    kind = "a folder" if path.is_dir() else "a file"
    return f"{kind}, as {hint} asked"
