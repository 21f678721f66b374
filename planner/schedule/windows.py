"""Sliding-window minimum / maximum in O(n) (van Herk / Gil–Werman), for the scheduler's feasibility
and peak checks over a job's run."""
from __future__ import annotations

import numpy as np


def window_min(a: np.ndarray, w: int) -> np.ndarray:
    """``out[s] = min(a[s:s + w])`` for s = 0 … len(a) − w (``w`` ≥ 1)."""
    a = np.asarray(a, float)
    n = a.size
    if w <= 1:
        return a.copy()
    if w > n:
        return np.zeros(0)
    m = -(-n // w) * w
    pad = np.full(m, np.inf)
    pad[:n] = a
    blocks = pad.reshape(-1, w)
    prefix = np.minimum.accumulate(blocks, axis=1).ravel()  # min from its block's start to here
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()  # min from here to block end
    s = np.arange(n - w + 1)
    return np.minimum(suffix[s], prefix[s + w - 1])


def window_max(a: np.ndarray, w: int) -> np.ndarray:
    """``out[s] = max(a[s:s + w])`` for s = 0 … len(a) − w."""
    return -window_min(-np.asarray(a, float), w)
