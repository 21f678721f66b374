"""Sliding-window minimum / maximum along the last axis in O(n), for the scheduler's feasibility and
peak checks over a job's run (many pools or loops at once): scipy's ``minimum_filter1d`` /
``maximum_filter1d`` (van Herk / Gil–Werman in C) with the window anchored at its first element."""
from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d


def _window(filt, fill: float, a, w: int) -> np.ndarray:
    a = np.asarray(a, float)
    n = a.shape[-1]
    if w > n:
        return np.zeros(a.shape[:-1] + (0,))
    if w <= 1:
        return a.copy()
    return filt(a, w, axis=-1, mode="constant", cval=fill, origin=-(w // 2))[..., : n - w + 1]


def window_min(a: np.ndarray, w: int) -> np.ndarray:
    """``out[..., s] = min(a[..., s:s + w])`` for s = 0 … n − w (``w`` ≥ 1), along the last axis."""
    return _window(minimum_filter1d, np.inf, a, w)


def window_max(a: np.ndarray, w: int) -> np.ndarray:
    """``out[..., s] = max(a[..., s:s + w])`` for s = 0 … n − w, along the last axis."""
    return _window(maximum_filter1d, -np.inf, a, w)
