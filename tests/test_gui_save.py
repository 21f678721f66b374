"""One save path: File ▸ Save goes through ``models.store.save_plan`` (its rules: a symlink stays a
link, the file keeps its mode, a read-only plan is refused) and nothing else renames plan files."""
from __future__ import annotations

import os

import pytest

from models.store import load_plan, save_plan
from gui_helpers import select
from sample_plans import small_plan

pytestmark = pytest.mark.gui


def _edit_and_save(win, path):
    assert win.open_path(path)
    select(win, "R01")
    win.act_delete.trigger()
    assert win.isWindowModified()
    win.act_save.trigger()


def test_gui_save_through_a_symlink_keeps_the_link(win, msgs, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    target = real / "hall.dcplan"
    save_plan(small_plan(), target)
    link = tmp_path / "hall.dcplan"
    link.symlink_to(target)
    _edit_and_save(win, link)
    assert not msgs.warnings, msgs.warnings
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "R01" not in load_plan(target).rack_map()
    assert sorted(p.name for p in real.iterdir()) == [".hall.dcplan.lock", "hall.dcplan"]


def test_gui_save_keeps_the_file_mode(win, msgs, tmp_path):
    path = tmp_path / "hall.dcplan"
    save_plan(small_plan(), path)
    os.chmod(path, 0o640)
    _edit_and_save(win, path)
    assert not msgs.warnings, msgs.warnings
    assert (path.stat().st_mode & 0o777) == 0o640
    assert "R01" not in load_plan(path).rack_map()


def test_gui_save_refuses_a_read_only_plan(win, msgs, tmp_path):
    path = tmp_path / "hall.dcplan"
    save_plan(small_plan(), path)
    os.chmod(path, 0o444)
    before = path.read_bytes()
    _edit_and_save(win, path)
    assert len(msgs.warnings) == 1 and "read-only" in msgs.warnings[0]
    assert path.read_bytes() == before and win.isWindowModified()
    assert [p.name for p in tmp_path.iterdir() if p.is_file() and p.suffix != ".lock"] == ["hall.dcplan"]


def test_gui_save_is_one_call_of_the_store_with_its_cancel_hook(win, msgs, tmp_path, monkeypatch):
    """The worker hands the real path and a cancel hook to ``store.save_plan``; no other rename."""
    from models import store

    calls = []
    real = store.save_plan

    def spy(plan, path, *, cancel=None, **kw):
        calls.append((str(path), cancel))
        return real(plan, path, cancel=cancel, **kw)

    path = tmp_path / "hall.dcplan"
    save_plan(small_plan(), path)
    monkeypatch.setattr(store, "save_plan", spy)
    renames = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (renames.append((str(a), str(b))), real_replace(a, b))[1])
    _edit_and_save(win, path)
    assert [c[0] for c in calls] == [str(path)] and callable(calls[0][1])
    assert calls[0][1]() is False  # not cancelled: the hook answers "go on" (and commits)
    assert len(renames) == 1 and renames[0][1] == str(path)
