"""How the CLI talks during long runs and about mistyped options."""
import io
import os
import subprocess
import sys

from ui.progress import TerminalProgress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_not_a_terminal_prints_a_line_per_ten_percent_with_remaining_time():
    out = io.StringIO()  # not a tty, like a pipe or a CI log
    bar = TerminalProgress("simulating", total=24.0, unit="h", stream=out, quiet_s=0.0)
    for k in range(1, 1001):
        bar(k / 1000)
    bar.close()
    lines = out.getvalue().splitlines()
    assert [line.split(":")[1].split("%")[0].strip() for line in lines] == [str(p) for p in range(10, 101, 10)]
    assert all("elapsed" in line and "left" in line for line in lines)


def test_progress_never_goes_backwards_or_past_the_end():
    out = io.StringIO()
    bar = TerminalProgress("x", stream=out, quiet_s=0.0)
    bar(0.55)  # a jump past five marks: one line, the mark reached
    bar(0.2)  # a late, smaller report changes nothing
    bar(7.0)  # clamped to done
    assert [line.split("(")[0] for line in out.getvalue().splitlines()] == ["x:  50 % ", "x: 100 % "]


def test_a_quick_run_prints_nothing_and_a_slow_one_starts_at_the_mark_it_reached(monkeypatch):
    from ui import progress

    now = [0.0]
    monkeypatch.setattr(progress, "_now", lambda: now[0])
    quick, slow = io.StringIO(), io.StringIO()
    bar = TerminalProgress("quick", stream=quick)
    for k in range(1, 11):  # done in 1 s: under the 2 s quiet time
        now[0] = k * 0.1
        bar(k / 10)
    assert quick.getvalue() == ""
    now[0] = 0.0
    bar = TerminalProgress("study cost", stream=slow)  # two minutes, as in the issue
    for k in range(1, 121):
        now[0] = float(k)
        bar(k / 120)
    lines = slow.getvalue().splitlines()
    assert len(lines) == 10 and lines[0] == "study cost:  10 % (12 s elapsed, about 1 min 48 s left)"
    assert lines[-1] == "study cost: 100 % (2 min 00 s elapsed, about 0 s left)"


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_terminal_bar_shows_rate_and_remaining():
    out = _Tty()
    with TerminalProgress("simulating", total=24.0, unit="h", stream=out) as bar:
        bar(0.5)
    text = out.getvalue()
    assert "simulating" in text and "12/24 h" in text and "<" in text and "/s" in text


def _dcplan(*args):
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ROOT}, cwd=ROOT)


def test_abbreviated_option_is_refused_with_the_commands_usage():
    r = _dcplan("simulate", "nothing.dcplan", "--day", "1")
    assert r.returncode == 2
    assert r.stderr.startswith("usage: dcplan simulate") and "unrecognized arguments: --day 1" in r.stderr


def test_mistyped_option_shows_the_subcommand_usage():
    r = _dcplan("check", "nothing.dcplan", "--jsn")
    assert r.returncode == 2 and r.stderr.startswith("usage: dcplan check")
