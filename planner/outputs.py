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
import re
import stat
import tempfile
import threading
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
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


def temporary_pattern(name: str) -> re.Pattern:
    """Temporaries of unfinished writes of the file ``name`` (this module's and the plan store's,
    both ``tempfile.mkstemp``): ``.NAME.`` + 8 random characters + ``.tmp``, and the SQLite side files
    of such a temporary database (``-journal``, ``-wal``, ``-shm``)."""
    return re.compile(rf"{re.escape(TEMP_PREFIX + name)}\.[A-Za-z0-9_]{{8}}{re.escape(TEMP_SUFFIX)}(-journal|-wal|-shm)?")


def remove_stale_temporaries(folder: str | os.PathLike, names: Iterable[str], *,
                             older_than: float | None = None) -> list[Path]:
    """Remove the temporaries crashed runs left for the files ``names`` in ``folder``; the removed paths.

    A :func:`temporary_pattern` file is a crashed run's when nobody holds its ``flock`` (every live
    writer of this module holds the lock of its temporary, :func:`_hold`; the kernel drops it when
    the writer dies, kill -9 included) and, with ``older_than`` [s since the epoch], it was modified
    before that moment — for temporaries whose writer cannot hold such a lock (SQLite's own files in
    ``models.store``), call it holding the lock every writer of the file takes, with the time it was
    taken.
    """
    patterns = [temporary_pattern(n) for n in names]
    removed = []
    for entry in os.scandir(folder):
        if not any(p.fullmatch(entry.name) for p in patterns) or not entry.is_file(follow_symlinks=False):
            continue
        if older_than is not None and entry.stat(follow_symlinks=False).st_mtime >= older_than:
            continue
        if _held_by_someone(entry.path):
            continue
        os.unlink(entry.path)
        removed.append(Path(entry.path))
    return removed


def _held_by_someone(path: str) -> bool:
    """True if a live process holds the ``flock`` of ``path`` (never blocks)."""
    if fcntl is None:  # pragma: no cover - Windows: an open file cannot be removed anyway
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return True  # gone or unreadable: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the lock we may have taken
    return False


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


def _hold(fd: int) -> None:
    """Take an exclusive ``flock`` on a temporary file we write: while we live, no cleaner removes
    it; when we die (even by kill -9) the kernel drops the lock and the file is a crashed run's."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # pragma: no cover - file systems without flock
            pass


def _temporary(shown: Path, target: Path) -> tuple[int, str, int]:
    """``(fd, name, mode)``: a new temporary file beside ``target`` (held: :func:`_hold`) and the mode
    the output will get (the existing file's, else the umask's). Crashed runs' temporaries of the
    same target are removed first."""
    try:
        remove_stale_temporaries(target.parent, [target.name])
    except OSError:
        pass  # debris that cannot be removed is no reason to refuse the write
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    except OSError as exc:
        raise _write_error(shown, exc) from None
    _hold(fd)
    return fd, tmp, mode


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
    fd, tmp, mode = _temporary(shown, target)
    fh = None
    try:
        fh = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline=newline)
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        os.fchmod(fh.fileno(), mode)
        os.replace(tmp, target)  # still holding the temporary's lock: no cleaner can take it first
        fsync_dir(target.parent)
    except OSError as exc:
        raise _write_error(shown, exc) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        try:
            if fh is not None:
                fh.close()  # after a failed write it flushes what is still buffered, and fails again
            else:
                os.close(fd)
        except OSError:
            pass  # the temporary is gone; the error that matters is already on its way (or there is none)


class OutputSet:
    """Output files that appear together or not at all (an export set).

    :meth:`add` checks a target as :func:`atomic_output` does and writes the data to a temporary
    file beside it, flushed to disk and held (:func:`_hold`) — nothing is visible yet. :meth:`commit`
    renames the temporaries over their targets in the order they were added. Leaving the ``with``
    block without committing (an exception, a cancel) removes the temporaries and changes nothing.
    """

    def __init__(self, *, protect: Iterable[str | os.PathLike] = ()):
        self.protect = list(protect)
        self._staged: list[tuple[Path, Path, str, int]] = []  # (shown, target, temporary, its held fd)

    def __enter__(self) -> "OutputSet":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()

    def add(self, path: str | os.PathLike, data: bytes | str) -> Path:
        """Stage ``data`` (text as UTF-8) for ``path``; the real path it will replace."""
        shown = Path(path)
        target = check_output_target(shown, protect=self.protect)
        if any(t == target for _s, t, _tmp, _fd in self._staged):
            raise OutputError(f"{shown}: named twice in one set of outputs")
        fd, tmp, mode = _temporary(shown, target)
        self._staged.append((shown, target, tmp, fd))
        try:
            view = memoryview(data.encode("utf-8") if isinstance(data, str) else data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            os.fchmod(fd, mode)
        except OSError as exc:
            raise _write_error(shown, exc) from None
        return target

    def commit(self) -> list[Path]:
        """Rename every staged file into place, in order; the targets."""
        done = []
        for shown, target, tmp, _fd in self._staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise _write_error(shown, exc) from None
            done.append(target)
        for folder in dict.fromkeys(t.parent for t in done):
            fsync_dir(folder)
        self.discard()
        return done

    def discard(self) -> None:
        """Remove what was staged and not committed; release the temporaries."""
        for _shown, _target, tmp, fd in self._staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
            os.close(fd)
        self._staged = []


class LockedError(OutputError):
    """Another process holds the write lock."""


@contextmanager
def write_lock(path: str | os.PathLike, *, names: Iterable[str] = (), busy: str = ""):
    """Hold the write lock of ``path`` (a plan, an export folder's manifest) while writing it.

    The lock is an OS file lock (``filelock``: ``flock`` / ``LockFileEx``) on ``.NAME.lock`` beside
    the symlink-resolved ``path``; the lock file stays, holding it is what counts. Taken without
    waiting: another process holding it raises :class:`LockedError` with ``busy`` (default: a plain
    sentence). Re-entrant within a process. Once taken, the temporaries of crashed writers of
    ``names`` (default: ``path``'s own name) in that folder are removed
    (:func:`remove_stale_temporaries`, older than the moment the lock was taken).
    """
    shown = Path(path)
    target = Path(os.path.realpath(shown))
    key = str(target)
    with _held_guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is None:
        from filelock import FileLock, Timeout

        lock = FileLock(str(target.with_name(f".{target.name}.lock")), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise LockedError(busy or f"{shown}: is being written by another program; try again when it has "
                                      "finished") from None
        except OSError as exc:
            raise OutputError(f"{shown}: cannot lock it for writing in {target.parent} "
                              f"({exc.strerror or exc})") from None
        taken = time.time()
        with _held_guard:
            entry = _held[key] = [lock, 1]
        try:
            remove_stale_temporaries(target.parent, list(names) or [target.name], older_than=taken)
        except OSError:
            pass  # debris that cannot be removed is no reason to refuse the write
    try:
        yield
    finally:
        with _held_guard:
            entry[1] -= 1
            last = entry[1] == 0
            if last:
                del _held[key]
        if last:
            entry[0].release()


_held: dict[str, list] = {}  # real path -> [FileLock, depth]: the write locks this process holds
_held_guard = threading.Lock()


def write_output(path: str | os.PathLike, data: bytes | str, *, protect: Iterable[str | os.PathLike] = ()) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` through :func:`atomic_output`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_output(path, protect=protect, binary=True) as fh:
        fh.write(data)
