"""Opening input files safely: only regular files, never blocking, never reading without limit.

A path given as a plan, a CSV file or ``--weather`` may name a FIFO (``open`` would wait forever for
a writer), a device (``/dev/zero`` never ends) or a folder. :func:`open_input` opens with
``O_NONBLOCK`` and checks the open descriptor (``fstat``), so a FIFO is refused at once and there is
no window between the check and the read; :func:`read_input` also bounds what it reads.

Qt-free and ORM-free; callers turn :class:`InputFileError` into their own error (``PlanFileError``,
``WeatherError``, a CSV problem) with the file name.
"""
from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO


class InputFileError(Exception):
    """An input cannot be read. The message is a predicate without the file ("is not a regular file
    (a pipe)", "does not exist"): the caller puts the file or its role in front."""


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is not a regular file (a pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is not a regular file (a device)"
    if stat.S_ISSOCK(mode):
        return "is not a regular file (a socket)"
    return "is not a regular file"


def check_regular(path: str | os.PathLike) -> os.stat_result:
    """``os.stat(path)`` if it is a regular file (symlinks followed); :class:`InputFileError` otherwise."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputFileError("does not exist") from None
    except OSError as exc:
        raise InputFileError(f"cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(_describe(st.st_mode))
    return st


def open_input(path: str | os.PathLike) -> BinaryIO:
    """Open a regular file for binary reading; :class:`InputFileError` for anything else.

    The open itself cannot block (``O_NONBLOCK``; a FIFO without a writer opens at once and is then
    refused by ``fstat``); blocking mode is restored for reading a regular file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputFileError("does not exist") from None
    except IsADirectoryError:
        raise InputFileError("is a folder, not a file") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO on some systems
            raise InputFileError("is not a regular file") from None
        raise InputFileError(f"cannot be read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputFileError(_describe(st.st_mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_input(path: str | os.PathLike, limit_bytes: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit_bytes``; larger files are refused as not ``what``
    (e.g. ``"EPW file"``) without reading past the limit."""
    with open_input(path) as fh:
        try:
            data = fh.read(limit_bytes + 1)
        except OSError as exc:
            raise InputFileError(f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit_bytes:
        raise InputFileError(f"is larger than any {what} ({_size(limit_bytes)} at most)")
    return data


def _size(n: int) -> str:
    return f"{n / 2 ** 20:g} MiB" if n >= 2 ** 20 else f"{n / 1024:g} KiB"
