"""Sliding-window minimum / maximum in O(n) (van Herk / Gil–Werman), for the scheduler's feasibility
and peak checks over a job's run; along the last axis, so many pools are checked at once."""
from __future__ import annotations

import numpy as np


def window_min(a: np.ndarray, w: int) -> np.ndarray:
    """``out[..., s] = min(a[..., s:s + w])`` for s = 0 … n − w (``w`` ≥ 1), along the last axis."""
    a = np.asarray(a, float)
    n = a.shape[-1]
    if w <= 1:
        return a.copy()
    if w > n:
        return np.zeros(a.shape[:-1] + (0,))
    m = -(-n // w) * w
    pad = np.full(a.shape[:-1] + (m,), np.inf)
    pad[..., :n] = a
    blocks = pad.reshape(a.shape[:-1] + (m // w, w))
    prefix = np.minimum.accumulate(blocks, axis=-1).reshape(pad.shape)  # from its block's start to here
    suffix = np.minimum.accumulate(blocks[..., ::-1], axis=-1)[..., ::-1].reshape(pad.shape)  # here to block end
    return np.minimum(suffix[..., : n - w + 1], prefix[..., w - 1: n])


def window_max(a: np.ndarray, w: int) -> np.ndarray:
    """``out[..., s] = max(a[..., s:s + w])`` for s = 0 … n − w, along the last axis."""
    return -window_min(-np.asarray(a, float), w)
