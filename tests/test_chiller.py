"""Air-cooled chiller: the ASHRAE 90.1 Appendix J reference curves of EnergyPlus, by hand.

Published coefficients (EnergyPlus datasets/CodeCompliantEquipment.idf, set
ASHRAE901_AppJ_air_B_gt528kW_2.96COP_4.1IPLV.SI; docs/physics.md "Chiller") are written out here
on purpose, so the test does not read them back from the module it checks.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from planner.assets import ASSETS_DIR
from planner.solver import defaults as d
from planner.solver.heat_rejection import (chiller_capacity_linear, chiller_capacity_ratio, chiller_cop,
                                           chiller_curve_inputs, chiller_electric_power,
                                           chiller_electric_power_scalar, chiller_part_load_factor,
                                           chiller_power_ratio, chiller_scalar_kernels)

CAP = (0.794185315225093, 0.060198988329897, -0.00201553365333625, 0.0062031510838352, -0.000228894018237535,
       -0.000183160453325751)
EIR = (0.807832111491946, -0.0294518276175435, 0.00143133716733664, -0.00283225300374556, 0.000399221325718972,
       -0.000278364987198579)
PLR = (0.118080543023348, 0.10747666191967, 1.57083798659907, -0.79405059954209)


def biq(c, x, y):
    return c[0] + c[1] * x + c[2] * x * x + c[3] * y + c[4] * y * y + c[5] * x * y


def cub(c, p):
    return c[0] + c[1] * p + c[2] * p * p + c[3] * p ** 3


def test_cop_vs_outdoor_dry_bulb_equals_hand_computed_reference():
    """Full load and rated load, 6.67 °C water: COP = 2.96 · EIR(6.67, 35) / EIR(6.67, y) [· PLR terms],
    y = max(T, 12.8 °C) (the curve's fitted range; the minimum lift, 6.67 + 5 K, lies below it)."""
    for t, y in ((10.0, 12.8), (25.0, 25.0), (35.0, 35.0), (44.0, 44.0)):
        full = 2.96 * biq(EIR, 6.67, 35.0) / biq(EIR, 6.67, y)
        assert float(chiller_cop(t)) == pytest.approx(full, abs=1e-6)
        # rated load: the rated capacity delivered, PLR = 1 / capacity ratio
        plr = biq(CAP, 6.67, 35.0) / biq(CAP, 6.67, y)
        plr = min(plr, 1.0)
        rated = full * plr * cub(PLR, 1.0) / cub(PLR, plr)  # load / power, power ∝ EIRFPLR(PLR)
        assert float(chiller_cop(t, plr=plr)) == pytest.approx(rated, abs=1e-6)
    cops = chiller_cop(np.array([44.0, 35.0, 25.0, 10.0]))
    assert np.all(np.diff(cops) > 0)  # COP rises as outdoor air cools
    assert float(chiller_cop(35.0)) == pytest.approx(2.96, abs=1e-12)  # the reference chiller's rated COP
    # the curves are normalised at the AHRI 550/590 rating, as the dataset states
    assert biq(CAP, 6.67, 35.0) == pytest.approx(1.0, abs=1e-12)
    assert biq(EIR, 6.67, 35.0) == pytest.approx(1.0, abs=1e-12)
    # published figures quoted for the reference chiller: COP 4.35 / 3.67 / 2.96 / 2.38
    assert list(np.round(chiller_cop([10.0, 25.0, 35.0, 44.0]), 2)) == [4.35, 3.67, 2.96, 2.38]


def test_inputs_clamped_to_fitted_range_and_minimum_lift():
    x, y = chiller_curve_inputs([0.0, 20.0, 60.0], [2.0, 18.0, 10.0])
    assert list(x) == [4.0, 16.0, 10.0]
    assert list(y) == [12.8, 23.0, 52.0]  # 18 °C water: the condenser is held at water + 5 K
    # beyond the ranges nothing changes (EnergyPlus clamps curve inputs)
    assert chiller_cop(-20.0, 10.0) == chiller_cop(12.8, 10.0) == chiller_cop(15.0, 10.0)
    assert chiller_capacity_ratio(35.0, 18.0) == chiller_capacity_ratio(35.0, 16.0)
    assert chiller_capacity_ratio(55.0) == chiller_capacity_ratio(52.0)
    # minimum lift: 15 °C water, 10 °C air behaves as 20 °C air
    assert float(chiller_cop(10.0, 15.0)) == pytest.approx(
        2.96 * biq(EIR, 6.67, 35.0) / biq(EIR, 15.0, 20.0), abs=1e-12)


def test_rating_of_a_plan_unit_and_part_load():
    """A unit rated at 35 °C / 15 °C water draws rated / COP at its rating; part load follows the cubic,
    the compressor cycles below PLR 0.1."""
    p = chiller_electric_power(4e5, 4e5, 35.0, 3.2, 35.0, 15.0, 15.0)
    assert float(p) == pytest.approx(4e5 / 3.2, rel=1e-14)
    assert float(chiller_capacity_ratio(44.4, 15.0, 35.0, 15.0)) == pytest.approx(
        biq(CAP, 15.0, 44.4) / biq(CAP, 15.0, 35.0), rel=1e-14)
    assert float(chiller_power_ratio(25.0, 15.0, 35.0, 15.0)) == pytest.approx(
        biq(EIR, 15.0, 25.0) / biq(EIR, 15.0, 35.0), rel=1e-14)
    assert float(chiller_part_load_factor(1.0)) == pytest.approx(1.0, abs=1e-15)
    assert float(chiller_part_load_factor(0.5)) == pytest.approx(cub(PLR, 0.5) / cub(PLR, 1.0), rel=1e-14)
    assert float(chiller_part_load_factor(0.05)) == pytest.approx(cub(PLR, 0.1) / cub(PLR, 1.0) * 0.5, rel=1e-14)
    assert float(chiller_part_load_factor(0.0)) == 0.0


def test_catalog_chiller_cop_is_the_reference_moved_to_its_rating():
    cat = json.loads((ASSETS_DIR / "catalog.json").read_text())
    ch = next(u for u in cat["cooling_units"] if u["kind"] == "chiller")
    assert (ch["rated_outdoor_c"], ch["supply_setpoint_c"]) == (35.0, 15.0)
    assert ch["design_cop"] == pytest.approx(2.96 * biq(EIR, 6.67, 35.0) / biq(EIR, 15.0, 35.0), abs=5e-4)
    assert d.CHILLER_RATED_COP == 2.96


@pytest.mark.parametrize("t_out,t_chw", [(10.0, 15.0), (25.0, 12.0), (44.0, 17.0), (30.0, 3.0), (5.0, 6.0),
                                         (40.0, 15.5)])
def test_scalar_kernels_match_the_vector_functions(t_out, t_chw):
    cap_lin, power = chiller_scalar_kernels(1e6, 3.1, 35.0, 15.0)
    for load in (3e4, 5e5, 1.3e6):
        ref = float(chiller_electric_power(load, 1e6, t_out, 3.1, 35.0, t_chw, 15.0))
        assert power(load, t_out, t_chw) == pytest.approx(ref, rel=1e-12)
        assert chiller_electric_power_scalar(load, 1e6, t_out, 3.1, 35.0, t_chw, 15.0) == pytest.approx(ref, rel=1e-12)
    cap, slope = cap_lin(t_out - 35.0, t_chw)
    assert cap == pytest.approx(1e6 * float(chiller_capacity_ratio(t_out, t_chw, 35.0, 15.0)), rel=1e-13)
    assert (cap, slope) == chiller_capacity_linear(1e6, t_out - 35.0, t_chw, 15.0, 35.0)
    h = 1e-5
    num = (cap_lin(t_out - 35.0, t_chw + h)[0] - cap_lin(t_out - 35.0, t_chw - h)[0]) / (2 * h)
    assert slope == pytest.approx(num, rel=1e-6, abs=1e-3)
