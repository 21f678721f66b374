"""A sweep definition: a base plan, run settings and named parameters, each with a list of values.

Parameter names are the same on the command line (``--vary setpoint.TCS=40,43,45``) and in a
TOML file (``[vary]`` table, ``"setpoint.TCS" = [40, 43, 45]``). Per-loop parameters name the loop
after a dot. Values come as text (command line) or typed TOML values; each is checked and
resolved here, on the client, *before* anything is submitted: an unknown parameter, a value of the
wrong type, an unknown loop, an empty list or a repeated value raise :class:`SweepError` naming the
parameter. Resolved values are plain data (numbers, strings, parsed weather) that
:mod:`planner.sweep.transform` applies to the plan on a worker.

The variants are the full factorial product of the value lists, in the order the parameters were
given (the last parameter varies fastest). Each variant has a content hash of plan + variant + run
settings (``variant_hash``): a results file that already holds that hash has that variant done.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..plan import CONTAINMENTS, Plan, Scenario, Tariff

#: Most variants one sweep may hold: a typo such as ``--vary days=1,...`` with a pasted list of
#: thousands should be a message, not an hour of submission.
MAX_VARIANTS = 100_000
#: Supply setpoints accepted for a loop [°C]: a sanity range around every loop kind the solver
#: models (ASHRAE air inlet 18–27 °C, chilled water 5–20 °C, W17–W45+ facility/technology water).
SETPOINT_RANGE_C = (0.0, 70.0)
#: Hours in a weather year; ``--year`` runs 365 days from 1 January (EPW files hold 8760 hours).
YEAR_DAYS = 365
_UNITS_RELATIVE = re.compile(r"^N\s*(?:([+-])\s*(\d+))?$", re.IGNORECASE)


class SweepError(ValueError):
    """A sweep definition that cannot run; the message names the parameter (or option) at fault."""


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Change:
    """One resolved parameter value of a variant: plain data the worker applies.

    param : str  Column name as the user wrote it, e.g. ``"setpoint.TCS"``
    kind : str  Parameter kind, e.g. ``"setpoint"``
    target : str | None  Loop name for per-loop kinds
    value : object  Resolved value (float, int, str, dict …); see :mod:`.transform`
    label : str  The value as shown in results (what the user wrote)
    """

    param: str
    kind: str
    target: str | None
    value: Any
    label: str


@dataclass
class Variant:
    """One point of the sweep.

    index : int  Position in the full factorial order
    changes : tuple[Change, ...]  One per varied parameter, in column order
    hash : str  Content hash of plan + variant + run settings [hex]
    weather_key : str | None  Key of the parsed weather this variant runs on (``Sweep.weather``)
    """

    index: int
    changes: tuple[Change, ...]
    hash: str
    weather_key: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        """Column name -> value as written, for the results row."""
        return {c.param: c.label for c in self.changes}


@dataclass
class RunSettings:
    """What every variant runs unless a parameter changes it.

    scenario : str  Name of the base scenario (the plan's first unless chosen)
    days : float | None  Simulated days; ``None`` keeps the scenario's horizon
    year : bool  Whole weather year from 1 January of the scenario's year (365 days)
    schedule_time_limit_s : float  Budget of each variant's scheduler run (``scheduler`` varied) [s]
    """

    scenario: str | None = None
    days: float | None = None
    year: bool = False
    schedule_time_limit_s: float = 60.0


@dataclass
class Sweep:
    """A validated sweep, ready to submit.

    plan : Plan  Base plan (plain data)
    scenario : Scenario  Base scenario with the run settings applied
    params : list[str]  Varied parameter names, in column order
    variants : list[Variant]  The full factorial product
    weather : dict[str, object]  Parsed weather (``EpwData``) by key; shipped once to the workers
    """

    plan: Plan
    scenario: Scenario
    params: list[str]
    variants: list[Variant]
    weather: dict[str, Any] = field(default_factory=dict)
    settings: RunSettings = field(default_factory=RunSettings)

    @property
    def varies_capacity(self) -> bool:
        """True when unit counts or ratings vary (capacity joins the Pareto objectives)."""
        return any(p.split(".", 1)[0] in ("units", "rating") for p in self.params)

    def __len__(self) -> int:
        return len(self.variants)


# --------------------------------------------------------------------------- parameter kinds


@dataclass(frozen=True)
class _Kind:
    name: str
    per_loop: bool
    resolve: Callable[..., tuple[Any, str]]  # (param, raw, context) -> (value, label)


class _Context:
    """What resolving values needs: the plan, the base scenario, parsed weather (shared)."""

    def __init__(self, plan: Plan, scenario: Scenario):
        self.plan = plan
        self.scenario = scenario
        self.weather: dict[str, Any] = {}       # key -> EpwData
        self.weather_sha: dict[str, str] = {}   # key -> file content hash

    def loop_units(self, loop: str):
        return [u for u in self.plan.cooling_units if u.loop == loop]


def _label(raw) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return f"{raw:g}" if abs(raw) < 1e15 else repr(raw)
    if isinstance(raw, (dict, list)):
        return json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return str(raw).strip()


def _number(param: str, raw, what: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise SweepError(f"{param}: {raw!r} is not {what}")
    try:
        v = float(raw)
    except ValueError:
        raise SweepError(f"{param}: {raw!r} is not {what}") from None
    if not math.isfinite(v):
        raise SweepError(f"{param}: {raw!r} is not {what}")
    return v


def _choice(param: str, raw, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if not isinstance(raw, str) or raw.strip() not in choices:
        raise SweepError(f"{param}: {raw!r} is not one of {', '.join(choices)}")
    return raw.strip()


def _resolve_weather(param, raw, ctx: _Context):
    from ..weather import WeatherError, load_weather
    from .sites import site_for_weather

    if not isinstance(raw, str) or not raw.strip():
        raise SweepError(f"{param}: {raw!r} is not a weather file or bundled city name")
    try:
        epw = load_weather(raw.strip())
    except WeatherError as exc:
        raise SweepError(f"{param}: {exc}") from None
    key = _weather_key(ctx, epw)
    site = site_for_weather(epw.header, name=ctx.plan.site.name)
    return {"weather_key": key, "site": asdict(site), "file": epw.path.name}, _label(raw)


def _weather_key(ctx: _Context, epw) -> str:
    """Key of a parsed EPW in the shared table: its content hash (one copy per distinct file)."""
    sha = hashlib.sha256(Path(epw.path).read_bytes()).hexdigest()
    ctx.weather.setdefault(sha, epw)
    return sha


def _resolve_start(param, raw, ctx):
    """Local start (naive, site time): text ``YYYY-MM-DD[THH:MM]`` or a TOML date / local date-time."""
    if isinstance(raw, str):
        try:
            raw_dt = datetime.fromisoformat(raw.strip())
        except ValueError:
            raw_dt = None
    elif isinstance(raw, datetime):
        raw_dt = raw
    elif isinstance(raw, date):
        raw_dt = datetime(raw.year, raw.month, raw.day)
    else:
        raw_dt = None
    if raw_dt is None or raw_dt.tzinfo is not None:
        raise SweepError(f"{param}: {raw!r} is not a local date YYYY-MM-DD (or date and time YYYY-MM-DDTHH:MM)")
    return raw_dt.isoformat(), raw if isinstance(raw, str) else raw.isoformat()


def _positive(param: str, raw, what: str, unit: str) -> tuple[float, str]:
    v = _number(param, raw, what)
    if v <= 0:
        raise SweepError(f"{param}: {raw!r} must be > 0 {unit}")
    return v, _label(raw)


def _resolve_days(param, raw, ctx):
    return _positive(param, raw, "a number of days", "days")


def _resolve_scenario(param, raw, ctx):
    names = [s.name for s in ctx.plan.scenarios]
    if isinstance(raw, str) and raw.strip() in names:
        return raw.strip(), _label(raw)
    listed = ", ".join(map(repr, names)) or "none"
    raise SweepError(f"{param}: {raw!r} is not a scenario of the plan (scenarios: {listed})")


def _resolve_control(param, raw, ctx):
    from ..solver.model import CONTROL_MODES
    return _choice(param, raw, CONTROL_MODES), _label(raw)


def _resolve_load(param, raw, ctx):
    return _choice(param, raw, ("jobs", "full")), _label(raw)


def _resolve_containment(param, raw, ctx):
    return _choice(param, raw, CONTAINMENTS), _label(raw)


def _resolve_setpoint(param, raw, ctx):
    lo, hi = SETPOINT_RANGE_C
    v = _number(param, raw, "a temperature [°C]")
    if not lo <= v <= hi:
        raise SweepError(f"{param}: {v:g} °C is outside the accepted {lo:g}–{hi:g} °C")
    return v, _label(raw)


def _resolve_units(param, raw, ctx):
    loop = param.split(".", 1)[1]
    n0 = len(ctx.loop_units(loop))
    what = "a unit count (a whole number, or N, N+1, N-1 … relative to the plan's " f"{n0})"
    if isinstance(raw, bool):
        raise SweepError(f"{param}: {raw!r} is not {what}")
    if isinstance(raw, int):
        n = raw
    elif isinstance(raw, float) and raw.is_integer():
        n = int(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        m = _UNITS_RELATIVE.match(text)
        if m:
            k = int(m.group(2) or 0)
            n = n0 + (k if m.group(1) != "-" else -k)
        elif re.fullmatch(r"\d+", text):
            n = int(text)
        else:
            raise SweepError(f"{param}: {raw!r} is not {what}")
    else:
        raise SweepError(f"{param}: {raw!r} is not {what}")
    if n < 1:
        raise SweepError(f"{param}: {raw!r} leaves {n} units in loop {loop!r}; a loop needs at least one")
    return n, _label(raw)


def _resolve_rating(param, raw, ctx):
    return _positive(param, raw, "a unit rating [kW]", "kW")


def _resolve_tariff(param, raw, ctx):
    """A flat price [$/kWh] (number), or a table ``{hourly_usd_per_kwh = [24 prices],
    demand_charge_usd_per_kw = …}``; the demand charge defaults to the base scenario's."""
    base = ctx.scenario.tariff
    if isinstance(raw, Mapping):
        unknown = set(raw) - {"hourly_usd_per_kwh", "demand_charge_usd_per_kw"}
        if unknown:
            raise SweepError(f"{param}: unknown tariff field(s) {sorted(unknown)}; use hourly_usd_per_kwh "
                             f"(24 prices [$/kWh] by local hour) and demand_charge_usd_per_kw")
        hourly = raw.get("hourly_usd_per_kwh", base.hourly_price_usd_per_kwh)
        if not isinstance(hourly, (list, tuple)) or len(hourly) != 24:
            raise SweepError(f"{param}: hourly_usd_per_kwh must list 24 prices [$/kWh], one per local hour")
        prices = [_number(param, p, "a price [$/kWh]") for p in hourly]
        demand = _number(param, raw.get("demand_charge_usd_per_kw", base.demand_charge_usd_per_kw),
                         "a demand charge [$/kW]")
    else:
        flat = _number(param, raw, "a price [$/kWh] or a tariff table")
        prices, demand = [flat] * 24, base.demand_charge_usd_per_kw
    if min(prices) < 0 or demand < 0:
        raise SweepError(f"{param}: prices and demand charge must be >= 0")
    # the demand window and the off-peak demand charge stay the base scenario's (schema 3)
    window = {"demand_window_start_h": int(base.demand_window_start_h), "demand_window_end_h": int(base.demand_window_end_h),
              "demand_window_weekdays_only": bool(base.demand_window_weekdays_only),
              "demand_window_months": [int(m) for m in base.demand_window_months],
              "off_peak_demand_charge_usd_per_kw": float(base.off_peak_demand_charge_usd_per_kw)}
    return {"hourly_price_usd_per_kwh": prices, "demand_charge_usd_per_kw": demand, **window}, _label(raw)


def _resolve_scheduler(param, raw, ctx):
    """A scheduling method of :mod:`planner.schedule`: the variant's jobs are scheduled, then simulated."""
    from ..schedule import METHODS
    return _choice(param, raw, METHODS), _label(raw)


def _resolve_jobs(param, raw, ctx):
    """A jobs CSV (the scheduler's format). Read and checked here against the base scenario; the
    text travels to the workers, which parse it against the variant's own start and time zone."""
    from ..schedule.jobs_csv import JobsCsvError, parse_jobs_csv, read_jobs_text

    if not isinstance(raw, str) or not raw.strip():
        raise SweepError(f"{param}: {raw!r} is not a jobs CSV file")
    path = Path(raw.strip())
    try:
        text = read_jobs_text(path)
        parse_jobs_csv(text, path.name, ctx.scenario.start, ctx.plan.site.timezone)
    except JobsCsvError as exc:
        shown = "; ".join(str(p) for p in exc.problems[:3])
        more = f" (and {len(exc.problems) - 3} more)" if len(exc.problems) > 3 else ""
        raise SweepError(f"{param}: {shown}{more}") from None
    return {"name": path.name, "text": text}, _label(raw)


KINDS: dict[str, _Kind] = {k.name: k for k in (
    _Kind("weather", False, _resolve_weather),
    _Kind("start", False, _resolve_start),
    _Kind("days", False, _resolve_days),
    _Kind("scenario", False, _resolve_scenario),
    _Kind("control", False, _resolve_control),
    _Kind("load", False, _resolve_load),
    _Kind("containment", False, _resolve_containment),
    _Kind("tariff", False, _resolve_tariff),
    _Kind("jobs", False, _resolve_jobs),
    _Kind("scheduler", False, _resolve_scheduler),
    _Kind("setpoint", True, _resolve_setpoint),
    _Kind("units", True, _resolve_units),
    _Kind("rating", True, _resolve_rating),
)}


def _known() -> str:
    return ", ".join(k.name + (".LOOP" if k.per_loop else "") for k in KINDS.values())


def _kind_of(param: str, ctx: _Context) -> _Kind:
    head, dot, loop = param.partition(".")
    kind = KINDS.get(head)
    if kind is None:
        raise SweepError(f"{param}: unknown parameter; known: {_known()}")
    if kind.per_loop:
        if not dot or not loop:
            example = ctx.plan.cooling_loops[0].name if ctx.plan.cooling_loops else "LOOP"
            raise SweepError(f"{param}: name the loop, e.g. {head}.{example}")
        loops = [lp.name for lp in ctx.plan.cooling_loops]
        if loop not in loops:
            raise SweepError(f"{param}: unknown loop {loop!r} (loops of the plan: {', '.join(loops) or 'none'})")
        if not ctx.loop_units(loop):
            raise SweepError(f"{param}: loop {loop!r} has no cooling units to change")
    elif dot:
        raise SweepError(f"{param}: {head!r} applies to the whole plan, not to one loop; write {head}")
    return kind


# --------------------------------------------------------------------------- reading definitions


def parse_vary(items: Iterable[str]) -> dict[str, list[str]]:
    """``["control=reactive,predictive", "setpoint.TCS=40,43"]`` -> ``{name: [values]}``.

    Values are split at commas and kept as text (resolved later against the plan).
    """
    out: dict[str, list[str]] = {}
    for item in items:
        name, eq, values = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise SweepError(f"--vary {item!r}: expected NAME=VALUE1,VALUE2,…")
        if name in out:
            raise SweepError(f"{name}: given twice; list all its values in one --vary")
        out[name] = [v for v in (s.strip() for s in values.split(",")) if v != ""] if values.strip() else []
    return out


def _flatten(table: Mapping, prefix: str = "") -> dict[str, Any]:
    """``{"setpoint": {"TCS": [..]}}`` (TOML ``setpoint.TCS = [..]``) -> ``{"setpoint.TCS": [..]}``."""
    out = {}
    for k, v in table.items():
        name = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping) and not prefix and KINDS.get(k) is not None and KINDS[k].per_loop:
            out.update(_flatten(v, name))
        else:
            out[name] = v
    return out


FILE_KEYS = ("vary", "scenario", "days", "year", "require")


def load_sweep_file(path: str | Path) -> dict[str, Any]:
    """Read a sweep TOML file: ``[vary]`` (name = [values]) and optional ``scenario``, ``days``,
    ``year``, ``require`` (list of constraints). Errors name the file and the key."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SweepError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SweepError(f"{p}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{p}: not valid TOML: {exc}") from None
    unknown = set(data) - set(FILE_KEYS)
    if unknown:
        raise SweepError(f"{p}: unknown key(s) {', '.join(sorted(unknown))}; a sweep file has {', '.join(FILE_KEYS)}")
    vary = data.get("vary", {})
    if not isinstance(vary, Mapping):
        raise SweepError(f"{p}: 'vary' must be a table of NAME = [values]")
    out: dict[str, Any] = {"vary": {}}
    for name, values in _flatten(vary).items():
        if not isinstance(values, list):
            raise SweepError(f"{name}: in {p.name}, give a list of values, e.g. {name} = [{_label(values)}]")
        out["vary"][name] = values
    if "scenario" in data:
        if not isinstance(data["scenario"], str):
            raise SweepError(f"{p}: 'scenario' must be a scenario name")
        out["scenario"] = data["scenario"]
    if "days" in data:
        out["days"] = _number(f"{p.name}: days", data["days"], "a number of days")
    if "year" in data:
        if not isinstance(data["year"], bool):
            raise SweepError(f"{p}: 'year' must be true or false")
        out["year"] = data["year"]
    if "require" in data:
        req = data["require"]
        req = [req] if isinstance(req, str) else req
        if not isinstance(req, list) or not all(isinstance(r, str) for r in req):
            raise SweepError(f"{p}: 'require' must be a constraint or a list of them, e.g. \"lost_gpu_hours<=0\"")
        out["require"] = req
    return out


# --------------------------------------------------------------------------- building the sweep


def _scenario_named(plan: Plan, name: str) -> Scenario:
    for s in plan.scenarios:
        if s.name == name:
            return s
    names = ", ".join(repr(s.name) for s in plan.scenarios) or "none"
    raise SweepError(f"scenario {name!r} is not in the plan (scenarios: {names})")


def apply_settings(sc: Scenario, settings: RunSettings) -> Scenario:
    """A copy of ``sc`` with the sweep-wide ``--days`` / ``--year`` applied."""
    sc = copy.deepcopy(sc)
    if settings.days is not None:
        sc.horizon_s = settings.days * 86400.0
    if settings.year:
        sc.start = datetime(sc.start.year, 1, 1)
        sc.horizon_s = YEAR_DAYS * 86400.0
    return sc


def _base_scenario(plan: Plan, settings: RunSettings) -> Scenario:
    if settings.days is not None and settings.year:
        raise SweepError("give --days or --year, not both")
    if settings.days is not None and (isinstance(settings.days, bool) or not math.isfinite(settings.days)
                                      or settings.days <= 0):
        raise SweepError(f"days must be > 0, got {settings.days!r}")
    if settings.scenario is not None:
        sc = _scenario_named(plan, settings.scenario)
    elif plan.scenarios:
        sc = plan.scenarios[0]
    else:
        raise SweepError("the plan has no scenario to sweep from (start date, horizon, weather)")
    return apply_settings(sc, settings)


def _canonical(obj) -> Any:
    """``obj`` as plain JSON data: dataclasses as dicts, tuples as lists, dates as ISO text,
    non-finite floats as text. The plain types are checked first by exact type (a plan is some
    50,000 of them; the general ``is_dataclass`` / ``Mapping`` checks cost 20 times more)."""
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:
        return obj
    if t is float:
        return obj if math.isfinite(obj) else repr(obj)
    if t is dict:
        return {str(k): _canonical(v) for k, v in obj.items()}
    if t is list or t is tuple:
        return [_canonical(v) for v in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        return _canonical(asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    return obj


def _json(obj) -> str:
    return json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_hash(*parts) -> str:
    """SHA-256 (hex, first 16 digits) of a canonical JSON rendering of ``parts``."""
    return hashlib.sha256(_json(list(parts)).encode("utf-8")).hexdigest()[:16]


class _PrefixHash:
    """``content_hash(*fixed, *rest)`` for many ``rest`` with the same ``fixed`` parts (a sweep's
    plan and settings), rendering and hashing ``fixed`` once: the JSON of a list is its items'
    JSON joined by commas, so the digest is the same as :func:`content_hash`'s (test:
    ``tests/test_sweep.py::test_variant_hashes_are_content_hashes_of_plan_settings_and_changes``)."""

    def __init__(self, *fixed):
        self._head = hashlib.sha256(("[" + "".join(_json(p) + "," for p in fixed)).encode("utf-8"))

    def __call__(self, *rest) -> str:
        h = self._head.copy()
        h.update((",".join(_json(p) for p in rest) + "]").encode("utf-8"))
        return h.hexdigest()[:16]


def define(plan: Plan, params: Mapping[str, Iterable], *, scenario: str | None = None, days: float | None = None,
           year: bool = False, schedule_time_limit_s: float = 60.0) -> Sweep:
    """Check ``params`` against ``plan`` and list the variants; nothing runs.

    plan : Plan  Base plan
    params : mapping  Parameter name -> list of values (text or typed), e.g.
        ``{"control": ["reactive", "predictive"], "setpoint.TCS": [40, 43]}``
    scenario : str | None  Base scenario name (default the plan's first)
    days : float | None  Simulated days for every variant (default the scenario's horizon)
    year : bool  Whole weather year from 1 January (365 days)
    schedule_time_limit_s : float  Budget of each variant's scheduler run when ``scheduler`` varies [s]

    Raises :class:`SweepError` naming the parameter for any problem.
    """
    if not isinstance(plan, Plan):
        raise SweepError(f"plan must be a planner.plan.Plan, got {type(plan).__name__}")
    if not isinstance(params, Mapping):
        raise SweepError("params must map parameter names to lists of values")
    if isinstance(schedule_time_limit_s, bool) or not isinstance(schedule_time_limit_s, (int, float)) \
            or not math.isfinite(schedule_time_limit_s) or schedule_time_limit_s <= 0:
        raise SweepError(f"schedule time limit must be > 0 s, got {schedule_time_limit_s!r}")
    if isinstance(days, int) and not isinstance(days, bool):
        days = float(days)  # `--days 1` (a float) and a TOML `days = 1` (an int) are one sweep: one hash each
    settings = RunSettings(scenario=scenario, days=days, year=year, schedule_time_limit_s=float(schedule_time_limit_s))
    base = _base_scenario(plan, settings)
    ctx = _Context(plan, base)
    if not params:
        raise SweepError("nothing to vary: give at least one parameter with its values (--vary NAME=V1,V2 or a "
                         "[vary] table)")
    names = [str(n).strip() for n in params]
    kinds = {}
    for name in names:
        kinds[name] = _kind_of(name, ctx)
    for name in names:
        if kinds[name].name == "days" and (days is not None or year):
            raise SweepError(f"{name}: varied, so leave out --days / --year (or the file's days / year)")
        if kinds[name].name == "start" and year:
            raise SweepError(f"{name}: varied, so leave out --year (a year starts on 1 January)")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise SweepError(f"{dup}: given twice; list all its values once")
    resolved: dict[str, list[Change]] = {}
    for raw_name, values in params.items():
        name = str(raw_name).strip()
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise SweepError(f"{name}: give a list of values, not {values!r}")
        values = list(values)
        if not values:
            raise SweepError(f"{name}: empty list of values; give at least one")
        kind = kinds[name]
        target = name.partition(".")[2] or None
        changes, seen = [], {}
        for raw in values:
            value, label = kind.resolve(name, raw, ctx)
            key = json.dumps(_canonical(value), sort_keys=True)
            if key in seen:
                raise SweepError(f"{name}: values {seen[key]!r} and {label!r} are the same variant; list each once")
            seen[key] = label
            changes.append(Change(name, kind.name, target, value, label))
        resolved[name] = changes
    n = math.prod(len(v) for v in resolved.values())
    if n > MAX_VARIANTS:
        raise SweepError(f"{n:,} variants exceed the limit of {MAX_VARIANTS:,} per sweep; split the sweep")
    _check_horizons(plan, base, resolved, settings)
    base_key = _weather_key_of_scenario(ctx, base)
    scenario_keys = {c.value: _weather_key_of_scenario(ctx, _scenario_named(plan, c.value))
                     for c in resolved.get(next((n for n in names if kinds[n].name == "scenario"), ""), [])}
    settings_part = {"scenario": base.name, "start": base.start, "horizon_s": base.horizon_s,
                     "days": days, "year": year}
    if any(kinds[n].name == "scheduler" for n in names):  # the budget shapes an optimal schedule
        settings_part["schedule_time_limit_s"] = settings.schedule_time_limit_s
    variant_hash = _PrefixHash(plan, settings_part)  # the plan (~30 kB of JSON) is rendered once, not per variant
    variants = []
    for i, combo in enumerate(itertools.product(*resolved.values())):
        by_kind = {c.kind: c for c in combo}
        if "weather" in by_kind:
            wkey = by_kind["weather"].value["weather_key"]
        elif "scenario" in by_kind:
            wkey = scenario_keys[by_kind["scenario"].value]
        else:
            wkey = base_key
        parts = [{"kind": c.kind, "target": c.target, "value": c.value} for c in combo]
        h = variant_hash(parts, {"weather": wkey})
        variants.append(Variant(i, tuple(combo), h, wkey))
    return Sweep(plan=plan, scenario=base, params=names, variants=variants, weather=ctx.weather, settings=settings)


def _check_horizons(plan: Plan, base: Scenario, resolved: Mapping[str, list[Change]], settings: RunSettings) -> None:
    """Every variant's horizon must be a whole number of its scenario's steps (the solver reports
    energy and cost for exactly the simulated time): checked here, before anything is submitted."""
    scenarios = [apply_settings(_scenario_named(plan, c.value), settings)
                 for cs in resolved.values() for c in cs if c.kind == "scenario"] or [base]
    days = [(c.param, c.value) for cs in resolved.values() for c in cs if c.kind == "days"]
    for sc in scenarios:
        for param, horizon in ([(p, d * 86400.0) for p, d in days] or [(None, sc.horizon_s)]):
            step = sc.step_s
            n = round(horizon / step) if step > 0 else 0
            if n < 1 or abs(n * step - horizon) > 1e-9 * max(horizon, 1.0):
                what = f"{param}: {horizon / 86400:g} days" if param else f"a horizon of {horizon / 86400:g} days"
                raise SweepError(f"{what} is not a whole number of scenario {sc.name!r}'s {step:g} s steps; give "
                                 f"days that are a multiple of {step:g} s (e.g. {max(n, 1) * step / 86400:g})")


def _weather_key_of_scenario(ctx: _Context, sc: Scenario) -> str | None:
    """Parse a scenario's own weather file on the client (checked before anything is submitted)."""
    from ..weather import WeatherError, load_weather

    if not sc.weather_file:
        return None  # the solver will say a weather file is needed, in the variant's row
    try:
        epw = load_weather(sc.weather_file)
    except WeatherError as exc:
        raise SweepError(f"scenario {sc.name!r} weather: {exc}") from None
    return _weather_key(ctx, epw)


def tariff_from(value: Mapping) -> Tariff:
    """The :class:`Tariff` of a resolved ``tariff`` value."""
    return Tariff(hourly_price_usd_per_kwh=list(value["hourly_price_usd_per_kwh"]),
                  demand_charge_usd_per_kw=float(value["demand_charge_usd_per_kw"]),
                  demand_window_start_h=value["demand_window_start_h"],
                  demand_window_end_h=value["demand_window_end_h"],
                  demand_window_weekdays_only=value["demand_window_weekdays_only"],
                  demand_window_months=tuple(value["demand_window_months"]),
                  off_peak_demand_charge_usd_per_kw=value["off_peak_demand_charge_usd_per_kw"])
