"""Electrical chain, PUE definitions and fan/pump part-load curves against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from planner.solver import defaults as d
from planner.solver.energy import (device_efficiency, device_loss_w, electrical_chain_w, lighting_misc_w,
                                   partial_pue, pue)
from planner.solver.heat_rejection import fan_power_fraction, pump_power_fraction, server_airflow_fraction


def test_ups_loss_model_by_hand():
    """no-load 1 %, proportional 2 %, square-law 1 % of rating: η(L) = L / (L + 0.01 + 0.02 L + 0.01 L²)."""
    for load in (0.25, 0.5, 0.75, 1.0):
        eta = load / (load + 0.01 + 0.02 * load + 0.01 * load * load)
        assert float(device_efficiency(load, d.UPS_LOSS_COEFFS)) == pytest.approx(eta, rel=1e-14)
    assert float(device_loss_w(0.0, 5e5, d.UPS_LOSS_COEFFS)) == pytest.approx(5e3)  # no-load loss
    assert list(np.round(100 * device_efficiency([0.25, 0.5, 0.75, 1.0], d.UPS_LOSS_COEFFS), 1)) == \
        [94.1, 95.7, 96.1, 96.2]


def test_transformer_peaks_at_99_percent_at_35_percent_load():
    eff = device_efficiency(np.linspace(0.05, 1.0, 2000), d.TRANSFORMER_LOSS_COEFFS)
    x = np.linspace(0.05, 1.0, 2000)
    assert x[np.argmax(eff)] == pytest.approx(0.35, abs=1e-3)
    assert float(device_efficiency(0.35, d.TRANSFORMER_LOSS_COEFFS)) == pytest.approx(0.99, abs=1e-12)
    a0, a1, a2 = d.TRANSFORMER_LOSS_COEFFS
    assert a1 == 0.0 and a0 == pytest.approx(a2 * 0.35 ** 2, rel=1e-12)  # core = winding loss at 35 %


def test_chain_input_by_hand():
    """1 MW of IT on a 2N chain rated 2 × 1 MW: transformer at L = 0.5, UPS at (1 MW + its loss) / 2 MW."""
    it, rated = 1e6, 2e6
    a0, _, a2 = d.TRANSFORMER_LOSS_COEFFS
    xfmr = rated * (a0 + a2 * 0.25)
    lu = (it + xfmr) / rated
    ups = rated * (0.01 + 0.02 * lu + 0.01 * lu * lu)
    inp, u, x = electrical_chain_w(it, 1e6)
    assert (float(inp), float(u), float(x)) == (pytest.approx(it + xfmr + ups, rel=1e-14),
                                                pytest.approx(ups, rel=1e-14), pytest.approx(xfmr, rel=1e-14))
    assert float(electrical_chain_w(0.0, 0.0)[0]) == 0.0
    assert lighting_misc_w(100.0, 1e6) == pytest.approx(100.0 * 10.0 + 0.01 * 1e6)


def test_pue_definitions():
    assert pue(1300.0, 1000.0) == pytest.approx(1.3)
    assert partial_pue(1000.0, 150.0) == pytest.approx(1.15)
    assert np.isnan(pue(1.0, 0.0)) and np.isnan(partial_pue(0.0, 1.0))


def test_fan_and_pump_part_load_curves():
    """ASHRAE 90.1 Appendix G Method 2: 0.0013 + 0.1470 x + 0.9506 x² − 0.0998 x³, ≈ 30 % at half flow;
    a pump at constant Δp: power ∝ flow."""
    x = np.array([0.0, 0.3, 0.5, 0.8, 1.0])
    assert fan_power_fraction(x) == pytest.approx(0.0013 + 0.1470 * x + 0.9506 * x ** 2 - 0.0998 * x ** 3, rel=1e-14)
    assert float(fan_power_fraction(0.5)) == pytest.approx(0.30, abs=1e-4)
    assert float(fan_power_fraction(1.7)) == float(fan_power_fraction(1.0))
    assert pump_power_fraction(x) == pytest.approx(x, abs=1e-15)
    assert list(server_airflow_fraction([0.1, 0.5, 1.2])) == [0.3, 0.5, 1.0]
