"""Writing output files safely: never over a plan, never a half file.

Every command option that writes a file (``simulate --timeseries``, ``export --out``, the
scheduler's and sweeps' ``--out``, the GUI's exports) goes through :func:`atomic_output`:

* it refuses a target that is a dcplan plan (recognised by the SQLite ``application_id`` in the
  database header, not by its suffix), that is one of the command's own inputs (``protect``), that
  is a folder, or that is not a regular file (a FIFO would block, a device would never end);
* it writes a temporary file ``.NAME.XXXXXXXX.tmp`` in the target's folder, flushes it to disk and
  renames it over the target (``os.replace``), so an interrupted run leaves the old file or none,
  never a truncated one under the final name; a symlinked target is followed (the link stays) and
  an existing file keeps its permission bits;
* a full disk is one line, ``disk full while writing NAME``.

Qt-free and ORM-free: the plan-file test reads the 100-byte SQLite header directly.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

#: SQLite ``PRAGMA application_id`` of a dcplan plan file ("dcp1"); ``models.tables`` uses this one.
PLAN_APPLICATION_ID = 0x64637031
_SQLITE_MAGIC = b"SQLite format 3\x00"
_APP_ID_OFFSET = 68  # big-endian 4-byte application id in the SQLite database header
#: Temporary files of an unfinished write: ``.NAME.`` + random + ``.tmp`` (``tempfile.mkstemp``).
TEMP_PREFIX, TEMP_SUFFIX = ".", ".tmp"


class OutputError(Exception):
    """An output file cannot be written; the message names the file and says why."""


def is_plan_file(path: str | os.PathLike) -> bool:
    """True if ``path`` is a regular file holding a dcplan plan (SQLite with dcplan's application id)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return False
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError:
        return False
    return (len(head) >= _APP_ID_OFFSET + 4 and head.startswith(_SQLITE_MAGIC)
            and int.from_bytes(head[_APP_ID_OFFSET:_APP_ID_OFFSET + 4], "big") == PLAN_APPLICATION_ID)


def _same_file(a: Path, b: str | os.PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_output_target(path: str | os.PathLike, *, protect: Iterable[str | os.PathLike] = ()) -> Path:
    """The real path an output to ``path`` would replace; :class:`OutputError` if it must not be written.

    protect : paths the command reads (its input plan, CSVs, weather): never written over
    """
    shown = Path(path)
    target = Path(os.path.realpath(shown))
    for p in protect:
        if p is not None and _same_file(target, p):
            raise OutputError(f"{shown}: is an input of this command; choose another name for the output")
    if not target.parent.is_dir():
        raise OutputError(f"{shown}: folder {target.parent} does not exist")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise OutputError(f"{shown}: cannot write ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{shown}: is a folder; give a file name for the output")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{shown}: is not a regular file (a pipe or a device); give a file name")
    if is_plan_file(target):
        raise OutputError(f"{shown}: is a dcplan plan; an output never replaces a plan, choose another name")
    return target


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_error(shown: Path, exc: OSError) -> OutputError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(f"disk full while writing {shown}; the previous file (if any) is unchanged")
    return OutputError(f"{shown}: cannot write ({exc.strerror or exc})")


@contextmanager
def atomic_output(path: str | os.PathLike, *, protect: Iterable[str | os.PathLike] = (), binary: bool = False,
                  encoding: str = "utf-8", newline: str | None = ""):
    """Open a temporary file for writing the output ``path``; on a clean exit it replaces ``path``.

    Yields a text file (``newline=''`` by default, as the csv module wants) or, with ``binary``, a
    binary one. An exception inside the block removes the temporary file and leaves ``path`` as it
    was. Raises :class:`OutputError` for a target that must not be written (see
    :func:`check_output_target`) and for write failures (disk full: one line).
    """
    shown = Path(path)
    target = check_output_target(shown, protect=protect)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    except OSError as exc:
        raise _write_error(shown, exc) from None
    try:
        fh = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except OSError as exc:
        raise _write_error(shown, exc) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_output(path: str | os.PathLike, data: bytes | str, *, protect: Iterable[str | os.PathLike] = ()) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` through :func:`atomic_output`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_output(path, protect=protect, binary=True) as fh:
        fh.write(data)
