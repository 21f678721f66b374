"""GPU thermal control as NVIDIA's stack behaves, resolved to groups of GPUs inside a server.

Per GPU (docs/physics.md, "GPU thermal control"):

* up to the **max operating temperature** T_op (slowdown − 2 K on Hopper, nvidia-smi) full clocks;
* above it the driver's **software thermal slowdown** lowers clocks smoothly to hold T_op: the
  power fraction falls linearly, ``p = 1 − g (T − T_op)``, reaching the **hardware slowdown** level
  ``p_hw = s_hw^α`` (clocks at ``s_hw`` ≈ 0.5) at the slowdown threshold, where it stays;
* at the **shutdown** threshold the GPU stops (its work is lost until it has cooled, handled by the
  server step);
* dynamic power vs clock: ``p = s^α`` (α = 3, CMOS C·V²·f with DVFS), so a clock fraction
  ``s = p^{1/α}``: the work delivered per unit time follows the clock, the heat the power.

A server's GPUs are not equally warm: :func:`gpu_offset_groups` gives their full-load offsets
around the server's mean die temperature (tray-to-tray flow spread and series cold plates in
rack-scale liquid systems, front and rear rows of air-cooled boards), merged into at most
``defaults.GPU_OFFSET_GROUPS`` equal groups. The server keeps ONE die temperature (its mean
GPU); each group sits at ``T + δ_g``, and the server's power is the mean of its groups' — a
piecewise-linear law with two kinks per group (:func:`piece_table`), which the exact server step
follows like the single slowdown band before. Offsets are the full-load values (throttling happens
near full load); they are symmetric, so a server with every group in the same linear piece behaves
exactly as one lumped GPU.
"""
from __future__ import annotations

import numpy as np

from . import defaults as d


def hw_slowdown_power_fraction(alpha: float = d.GPU_POWER_CLOCK_EXPONENT,
                               s_hw: float = d.GPU_HW_SLOWDOWN_CLOCK) -> float:
    """Dynamic-power fraction under hardware slowdown, ``s_hw^α`` [-] (0.125 by default)."""
    return float(s_hw) ** float(alpha)


def software_gain_per_k(t_op, t_slow, p_hw):
    """Power-fraction reduction per kelvin of the software slowdown, ``(1 − p_hw) / (T_slow − T_op)``
    [1/K]: continuous from full power at T_op to the hardware-slowdown level at T_slow."""
    return (1.0 - p_hw) / (np.asarray(t_slow, float) - np.asarray(t_op, float))


def control_power_fraction(t_gpu, t_op, t_slow, p_hw):
    """Dynamic-power fraction a GPU at ``t_gpu`` [°C] is allowed [-] (software then hardware slowdown)."""
    g = software_gain_per_k(t_op, t_slow, p_hw)
    return np.clip(1.0 - g * (np.asarray(t_gpu, float) - t_op), p_hw, 1.0)


def clock_from_power_fraction(p, alpha: float = d.GPU_POWER_CLOCK_EXPONENT):
    """Clock (work) fraction at dynamic-power fraction ``p`` [-]: ``p^{1/α}``."""
    return np.power(np.clip(np.asarray(p, float), 0.0, 1.0), 1.0 / alpha)


def _per_gpu_offsets(gpu_count: int, liquid_fraction: float) -> np.ndarray:
    """Full-load offsets of every GPU around the server mean [K] (mean exactly 0)."""
    n = int(gpu_count)
    if n <= 1:
        return np.zeros(max(n, 1))
    if liquid_fraction > 0.5 and n >= 16 and n % 4 == 0:
        # rack-scale: trays of 4 GPUs on a manifold (flow spread, uniform quantiles), two upstream
        # and two downstream GPUs per tray's series cold-plate loop
        trays = n // 4
        tray = d.RACK_SCALE_TRAY_SPREAD_K * (-1.0 + (2.0 * np.arange(trays) + 1.0) / trays)
        series = d.RACK_SCALE_SERIES_OFFSET_K * np.array([-1.0, -1.0, 1.0, 1.0])
        off = (tray[:, None] + series[None, :]).ravel()
    elif liquid_fraction > 0.5:
        # a liquid-cooled board: series cold plates, half upstream, half downstream
        half = n // 2
        off = np.where(np.arange(n) < half, -d.RACK_SCALE_SERIES_OFFSET_K, d.RACK_SCALE_SERIES_OFFSET_K)
    else:
        # air-cooled board: a front row in the server's cold air, a rear row in pre-heated air
        half = n // 2
        row = np.where(np.arange(n) < half, -d.AIR_ROW_OFFSET_K, d.AIR_ROW_OFFSET_K)
        k = np.arange(n) - np.where(np.arange(n) < half, 0, half)
        width = np.where(np.arange(n) < half, half, n - half)
        pos = np.where(width > 1, -1.0 + 2.0 * k / np.maximum(width - 1, 1), 0.0)
        off = row + d.AIR_IN_ROW_SPREAD_K * pos
    return off - off.mean()


def gpu_offset_groups(gpu_count: int, liquid_fraction: float, max_groups: int = d.GPU_OFFSET_GROUPS):
    """GPU groups of a server: ``(offsets [K], weights [-])``, at most ``max_groups``.

    GPUs sorted by offset are split into equal-count groups (near offsets merged); a group's
    offset is its members' mean, its weight their share of the server's GPUs (weights sum to 1,
    the weighted offsets to 0).
    """
    off = np.sort(_per_gpu_offsets(gpu_count, liquid_fraction))
    n = off.size
    g = max(1, min(int(max_groups), n))
    bounds = np.round(np.linspace(0, n, g + 1)).astype(int)
    offsets = np.array([off[a:b].mean() for a, b in zip(bounds[:-1], bounds[1:])])
    weights = np.diff(bounds) / n
    return offsets - np.dot(offsets, weights), weights


def group_power_fraction(x, offsets, t_op, g, p_hw, k_die):
    """Each group's dynamic-power fraction at the server's common variable ``x`` [-] (see
    :func:`piece_tables`): ``clip((1 − g (x + δ − T_op)) / (1 + g·K), p_hw, 1)``. Broadcasts
    ``x [..., 1]`` against ``offsets [..., G]``; ``t_op``, ``g``, ``k_die`` as ``[..., 1]``."""
    return np.clip((1.0 - g * (x + offsets - t_op)) / (1.0 + g * k_die), p_hw, 1.0)


def piece_tables(offsets, weights, t_op, t_slow, p_hw: float, k_die):
    """Each server's mean power law as pieces in its mean die temperature: ``(kinks, A, B, thr)``.

    Each GPU group controls its own temperature. A group's die sits above the server's mean die by
    its offset and by the difference of its own power from the mean, through the die's share of the
    resistance: ``T_g = T_d + δ_g + K (p_g − p̄)``, ``K = R_die · P_dyn · u`` [K] (quasi-static: the
    die's 1.5 s is short against a step; so a GPU that throttles cools itself, not its neighbours).
    With ``x = T_d − K p̄`` each group's law is explicit,
    ``p_g = clip((1 − g (x + δ_g − T_op)) / (1 + gK), p_hw, 1)`` (:func:`group_power_fraction`),
    and ``T_d = x + K p̄(x)`` is strictly increasing in x; so ``p̄`` is piecewise linear in ``T_d``:
    between ``kinks[j-1] < T_d < kinks[j]`` (piece j) it is ``A[j] − B[j]·T_d``, and ``thr[j]`` of the
    GPUs run below full clock. Two kinks per group (software slowdown starts, hardware slowdown
    reached).

    offsets, weights : [n × G]  :func:`gpu_offset_groups` (weight 0: padding)
    t_op, t_slow : [n]  Max operating and slowdown temperatures [°C]
    p_hw : float  Hardware-slowdown power fraction [-]
    k_die : [n]  ``R_die · P_dyn · u`` [K]
    Returns kinks [n × 2G] (sorted, +inf where padded) and A, B, thr [n × (2G + 1)].
    """
    off = np.atleast_2d(np.asarray(offsets, float))
    w = np.atleast_2d(np.asarray(weights, float))
    n, ng = off.shape
    t_op = np.broadcast_to(np.asarray(t_op, float), (n,))[:, None]
    t_slow = np.broadcast_to(np.asarray(t_slow, float), (n,))[:, None]
    k = np.broadcast_to(np.asarray(k_die, float), (n,))[:, None]
    g = software_gain_per_k(t_op, t_slow, p_hw)
    live = w > 0
    x_start = np.where(live, t_op - off - k, np.inf)
    x_stop = np.where(live, t_op - off + (1.0 - p_hw * (1.0 + g * k)) / g, np.inf)
    xk = np.sort(np.concatenate([x_start, x_stop], axis=1), axis=1)  # [n × M]
    fin = np.isfinite(xk)
    xk_f = np.where(fin, xk, 0.0)
    pbar_k = np.einsum("nmg,ng->nm", group_power_fraction(xk_f[:, :, None], off[:, None, :], t_op[:, :, None],
                                                           g[:, :, None], p_hw, k[:, :, None]), w)
    td_k = np.where(fin, xk_f + k * pbar_k, np.inf)
    m = xk.shape[1]
    A = np.empty((n, m + 1))
    B = np.zeros((n, m + 1))
    A[:, 0] = 1.0
    A[:, m] = p_hw
    for j in range(1, m):
        d_td = td_k[:, j] - td_k[:, j - 1]
        ok = fin[:, j] & (d_td > 1e-12)
        slope = np.where(ok, -(pbar_k[:, j] - pbar_k[:, j - 1]) / np.where(ok, d_td, 1.0), 0.0)
        B[:, j] = slope
        A[:, j] = np.where(fin[:, j - 1], pbar_k[:, j - 1] + slope * np.where(fin[:, j - 1], td_k[:, j - 1], 0.0),
                           A[:, j - 1])
    # beyond the last real kink: every group at the hardware-slowdown floor; padding repeats it
    last = fin.sum(axis=1)
    cols = np.arange(m + 1)[None, :]
    A = np.where(cols >= last[:, None], np.where(last[:, None] > 0, p_hw, 1.0), A)
    B = np.where(cols >= last[:, None], 0.0, B)
    # GPUs below full clock in each piece: groups whose software slowdown starts below the piece
    thr = np.zeros((n, m + 1))
    for j in range(1, m + 1):
        thr[:, j] = np.sum(w * (x_start <= xk_f[:, j - 1:j]) * fin[:, j - 1:j], axis=1)
    thr = np.where(cols >= last[:, None], np.where(last[:, None] > 0, 1.0, 0.0), thr)
    return td_k, A, B, thr


def group_state(t_die, pbar, offsets, t_op, t_slow, p_hw: float, k_die):
    """GPU groups of servers at mean die ``t_die`` [°C] with mean power fraction ``pbar`` [-]:
    ``(temperatures [°C], power fractions [-])`` per group [n × G] (:func:`piece_tables`)."""
    t_op = np.asarray(t_op, float)[:, None]
    g = software_gain_per_k(t_op, np.asarray(t_slow, float)[:, None], p_hw)
    k = np.asarray(k_die, float)[:, None]
    x = (np.asarray(t_die, float) - np.asarray(k_die, float) * np.asarray(pbar, float))[:, None]
    p = group_power_fraction(x, offsets, t_op, g, p_hw, k)
    return x + offsets + k * p, p


def lost_work_fraction(p_groups, weights, alpha: float = d.GPU_POWER_CLOCK_EXPONENT):
    """Share of a server's demanded GPU work not delivered [-]: ``Σ w_g (1 − p_g^{1/α})``."""
    return np.sum(np.asarray(weights) * (1.0 - clock_from_power_fraction(p_groups, alpha)), axis=-1)
