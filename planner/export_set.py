"""An export folder's ``manifest.json``: which CSV files belong together.

The CSV columns stay exactly NetBox's, so a set of exported files is marked beside them, by one
``manifest.json`` per export folder::

    {"format": "dcplan-export", "version": 1, "export_id": "<32 hex digits>", "complete": true,
     "created": "2026-01-31T12:00:00+01:00", "files": {"racks.csv": {"sha256": "...", "bytes": 1234}, ...}}

Writing (:func:`write_export_set`): every file is first staged as a temporary beside its target
(nothing visible); then ``manifest.json`` says ``"complete": false`` under the new export id; then
the files replace the old ones; then ``manifest.json`` is written again, complete, with each file's
SHA-256 — last. An export killed anywhere leaves either the old set untouched or a manifest that
says the set is incomplete, never a mix that looks whole.

Reading (:func:`check_export_set`): files from a folder whose manifest is incomplete (an interrupted
export), from folders with different export ids (a mixed set), or whose SHA-256 differs from their
manifest's (changed since the export) are refused, naming the file. Files without a manifest
(NetBox's own exports, hand-made files) are accepted with a warning; so are changed files when the
caller says to (``ignore_changes``, the CLI's ``--ignore-manifest``).
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from planner.inputs import InputFileError, open_input, read_input
from planner.outputs import OutputSet, write_output

MANIFEST = "manifest.json"
FORMAT = "dcplan-export"
VERSION = 1
_MANIFEST_MAX_BYTES = 1 << 20


def _digest(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _manifest_text(export_id: str, complete: bool, files: dict) -> str:
    doc = {"format": FORMAT, "version": VERSION, "export_id": export_id, "complete": complete,
           "created": datetime.now().astimezone().isoformat(timespec="seconds"), "files": files}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def write_export_set(folder: str | os.PathLike, files: dict[str, bytes], *,
                     protect: Iterable[str | os.PathLike] = (), cancel: Callable[[], bool] | None = None) -> list[Path]:
    """Write ``files`` (name -> bytes) into ``folder`` as one export set, ``manifest.json`` last.

    Staging a file removes the temporaries a crashed export left for it (``planner.outputs``).
    Two exports racing into one folder cannot pass for one set either: the manifest's digests then
    do not match the files, and the import refuses them. ``cancel()`` is asked once
    every file is staged, before anything is visible: True returns ``[]`` and changes nothing.
    Returns the file paths in the order given. Raises ``OutputError`` (one line) for a target that
    must not be written (a plan, a ``protect`` input) and for write failures (disk full).
    """
    out = Path(folder)
    manifest = out / MANIFEST
    export_id = uuid.uuid4().hex
    with OutputSet(protect=protect) as staged:
        for name, data in files.items():
            staged.add(out / name, data)
        if cancel is not None and cancel():
            return []
        # from here on the folder changes: first say the set is incomplete, then replace the
        # files, then describe the complete set
        write_output(manifest, _manifest_text(export_id, False, {n: None for n in files}), protect=protect)
        staged.commit()
    write_output(manifest, _manifest_text(export_id, True, {n: _digest(d) for n, d in files.items()}),
                 protect=protect)
    return [out / name for name in files]


@dataclass
class SetCheck:
    """Outcome of :func:`check_export_set`.

    problems : list[(file name, message)]  Reasons to refuse the import
    warnings : list[str]  Accepted, but worth saying (no manifest, changed files allowed)
    """

    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _read_manifest(folder: Path) -> dict | None | str:
    """The folder's manifest, None if it has none, or a text saying why it cannot be used."""
    path = folder / MANIFEST
    try:
        data = read_input(path, _MANIFEST_MAX_BYTES, "export manifest")
    except InputFileError as exc:
        return None if str(exc) == "does not exist" else f"{MANIFEST} {exc}"
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return f"{MANIFEST} is not valid JSON"
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("files"), dict) \
            or not isinstance(doc.get("export_id"), str):
        return f"{MANIFEST} is not a dcplan export manifest"
    return doc


def file_digest(path: str | os.PathLike) -> dict:
    """SHA-256 and size of a file, read in blocks (a regular file only)."""
    h, n = hashlib.sha256(), 0
    with open_input(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
            n += len(block)
    return {"sha256": h.hexdigest(), "bytes": n}


def check_export_set(paths: Iterable[str | os.PathLike], *, ignore_changes: bool = False) -> SetCheck:
    """Do the files to import form one complete export set? See the module docstring."""
    out = SetCheck()
    files = [Path(p) for p in paths if p is not None]
    by_folder: dict[Path, list[Path]] = {}
    for f in files:
        by_folder.setdefault(f.resolve().parent, []).append(f)
    exports: dict[str, list[str]] = {}
    for folder, members in by_folder.items():
        doc = _read_manifest(folder)
        names = ", ".join(f.name for f in members)
        if doc is None:
            out.warnings.append(f"{names}: no {MANIFEST} beside {'it' if len(members) == 1 else 'them'} (not a "
                                "dcplan export: NetBox's own or hand-made files); imported as they are")
            continue
        if isinstance(doc, str):
            out.problems.append((members[0].name, f"{doc}; remove it to import these files as hand-made ones"))
            continue
        short = doc["export_id"][:8]
        if doc.get("complete") is not True:
            out.problems.append((members[0].name, f"the export {short} into {folder} was interrupted "
                                 f"({MANIFEST} says incomplete): its files may be a mix of two exports; export again"))
            continue
        for f in members:
            entry = doc["files"].get(f.name)
            if entry is None:
                out.problems.append((f.name, f"not part of export {short} ({MANIFEST} in {folder} does not list it); "
                                     "import it from its own folder"))
                continue
            try:
                actual = file_digest(f)
            except InputFileError:
                continue  # the reader reports a missing or unreadable file
            if actual != entry:
                text = (f"{f.name}: changed since export {short} (its SHA-256 differs from {MANIFEST}: edited, or "
                        f"copied from another export)")
                if ignore_changes:
                    out.warnings.append(text + "; imported as it is (--ignore-manifest)")
                else:
                    out.problems.append((f.name, text[len(f.name) + 2:] + "; export again, or import it with "
                                         "--ignore-manifest if you edited it on purpose"))
                continue
            exports.setdefault(doc["export_id"], []).append(f.name)
    if len(exports) > 1:
        parts = "; ".join(f"{', '.join(n)} from export {eid[:8]}" for eid, n in exports.items())
        out.problems.append((files[0].name if files else MANIFEST,
                             f"the files come from different exports ({parts}); import one export's files together"))
    return out

