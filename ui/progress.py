"""Progress of long command-line runs on stderr. Imports no Qt.

On a terminal: a tqdm bar with the amount done, the rate and the time remaining. Not on a
terminal (a pipe, a CI log, a file): one plain line per 10 % with elapsed and remaining time, so
a run that takes minutes never sits silent; a run over within :data:`QUIET_S` prints none. The object is the ``progress(fraction)`` callback the
solver, the scheduler and sweeps accept; for counted work (sweeps) use :meth:`TerminalProgress.set_done`.

tqdm: the well-kept standard for terminal progress (rate and ETA smoothing, terminal width,
Windows consoles); see pyproject.toml.
"""
from __future__ import annotations

import sys
import time


_now = time.perf_counter  # the clock (tests replace it)

#: Off a terminal, a run quicker than this prints no progress lines [s].
QUIET_S = 2.0


def _clock(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, s = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class TerminalProgress:
    """Progress of one run.

    label : str  What runs, e.g. ``"simulating"``
    total : float  Amount of work in ``unit`` (e.g. simulated hours, variants); 100 by default
    unit : str  Unit of ``total`` for the rate, e.g. ``"h"`` (simulated hours) or ``"variant"``
    stream : text stream  Default ``sys.stderr``
    quiet_s : float  Off a terminal, no line before this much time has passed [s]: a run that ends
        sooner prints nothing (ten "0 s elapsed" lines told nothing), a longer one starts with the
        10 % mark it has reached. Default :data:`QUIET_S`.
    """

    def __init__(self, label: str, total: float = 100.0, unit: str = "%", stream=None, quiet_s: float | None = None):
        self.quiet_s = QUIET_S if quiet_s is None else float(quiet_s)
        self.stream = stream if stream is not None else sys.stderr
        self.label, self.total, self.unit = label, float(total), unit
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = _now()
        self.done = 0.0
        self._next_tenth = 1
        self._bar = None
        if self.tty:
            from tqdm import tqdm
            self._bar = tqdm(total=self.total, desc=label, unit=unit, file=self.stream, leave=True,
                             dynamic_ncols=True, unit_scale=unit != "%",
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.4g}/{total:.4g} {unit} "
                                        "[{elapsed}<{remaining}, {rate_fmt}]")

    def __call__(self, fraction: float) -> None:
        """Report that ``fraction`` (0..1) of the work is done."""
        self.set_done(max(0.0, min(1.0, float(fraction))) * self.total)

    def set_done(self, amount: float) -> None:
        """Report that ``amount`` (in ``unit``) of ``total`` is done."""
        amount = max(self.done, min(float(amount), self.total))
        step, self.done = amount - self.done, amount
        if self._bar is not None:
            if step > 0:
                self._bar.update(step)
            return
        fraction = self.done / self.total if self.total > 0 else 1.0
        elapsed = _now() - self.t0
        if elapsed < self.quiet_s:
            return
        while self._next_tenth < 10 and fraction >= (self._next_tenth + 1) / 10 - 1e-12:
            self._next_tenth += 1  # marks passed while quiet: start with the one reached
        while self._next_tenth <= 10 and fraction >= self._next_tenth / 10 - 1e-12:
            remaining = elapsed * (1.0 - fraction) / fraction if fraction > 0 else float("nan")
            self.stream.write(f"{self.label}: {self._next_tenth * 10:3d} % ({_clock(elapsed)} elapsed, "
                              f"about {_clock(remaining)} left)\n")
            self.stream.flush()
            self._next_tenth += 1

    def set_label(self, label: str) -> None:
        """Name what runs from now on (a study's next run); later lines and the bar carry it."""
        self.label = label
        if self._bar is not None:
            self._bar.set_description_str(label)

    def note(self, text: str) -> None:
        """Write one line of text without breaking the bar (above it on a terminal)."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "TerminalProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
