"""sqlmodel tables of a ``.dcplan`` file (SQLite).

One row type per entity of ``planner.plan``; cross references are real foreign keys
(enforced: the engine turns on ``PRAGMA foreign_keys=ON`` on every connection).
Column units follow the field names (``_m``, ``_kw``, ``_c``, ``_s``, ``_m3s``).

Bump ``SCHEMA_VERSION`` on any change to what a plan file holds and add the step that brings the
previous version up to it in ``models.migrations`` (tests open a file of every older version).

Versions: 1 — the first release; 2 — ``job_placement`` (a schedule's servers and GPU counts per job).
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import text
from sqlmodel import Field, SQLModel

from planner.outputs import PLAN_APPLICATION_ID as APPLICATION_ID  # "dcp1": marks dcplan files (SQLite header)

SCHEMA_VERSION = 3


class MetaRow(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class SiteRow(SQLModel, table=True):
    __tablename__ = "site"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str
    latitude: float
    longitude: float
    timezone: str
    elevation_m: float


class HallRow(SQLModel, table=True):
    __tablename__ = "hall"
    id: Optional[int] = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", ondelete="CASCADE")
    name: str = Field(unique=True)
    width_m: float
    depth_m: float
    tile_m: float
    containment: str


class ServerTypeRow(SQLModel, table=True):
    __tablename__ = "server_type"
    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    manufacturer: str
    model: str
    u_height: int
    gpu_count: int
    gpu_model: str
    gpu_tdp_w: float
    idle_power_w: float
    max_power_w: float
    liquid_fraction: float
    airflow_m3s: float
    gpu_slowdown_c: float
    gpu_shutdown_c: float
    gpu_design_temp_c: float
    thermal_time_constant_s: float
    weight_kg: float
    gpu_memory_gb: float
    sources_json: str = "{}"


class CoolingLoopRow(SQLModel, table=True):
    __tablename__ = "cooling_loop"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    medium: str
    rejects_to_id: Optional[int] = Field(default=None, foreign_key="cooling_loop.id", ondelete="SET NULL")


class CoolingUnitRow(SQLModel, table=True):
    __tablename__ = "cooling_unit"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    kind: str
    loop_id: int = Field(foreign_key="cooling_loop.id", ondelete="CASCADE")
    hall_id: Optional[int] = Field(default=None, foreign_key="hall.id", ondelete="SET NULL")
    model: str = ""
    rated_capacity_kw: float
    rated_outdoor_c: float
    supply_setpoint_c: float
    flow_m3s: float
    loop_volume_m3: float
    time_constant_s: float
    dead_time_s: float
    rated_power_kw: float
    design_cop: float
    approach_k: float
    x_m: Optional[float] = None
    y_m: Optional[float] = None


class PowerFeedRow(SQLModel, table=True):
    __tablename__ = "power_feed"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    panel: str
    voltage: float
    amperage: float
    phase: int
    max_utilization: float
    power_factor: float
    redundancy_group: str
    side: str


class RackRow(SQLModel, table=True):
    __tablename__ = "rack"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    hall_id: int = Field(foreign_key="hall.id", ondelete="CASCADE")
    row: str
    x_m: float
    y_m: float
    orientation: str
    width_m: float
    depth_m: float
    u_height: int
    power_budget_kw: float
    max_weight_kg: float
    cooling_type: str
    status: str
    air_loop_id: Optional[int] = Field(default=None, foreign_key="cooling_loop.id", ondelete="SET NULL")
    liquid_loop_id: Optional[int] = Field(default=None, foreign_key="cooling_loop.id", ondelete="SET NULL")
    feed_a_id: Optional[int] = Field(default=None, foreign_key="power_feed.id", ondelete="SET NULL")
    feed_b_id: Optional[int] = Field(default=None, foreign_key="power_feed.id", ondelete="SET NULL")


class ServerRow(SQLModel, table=True):
    __tablename__ = "server"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    rack_id: int = Field(foreign_key="rack.id", ondelete="CASCADE")
    server_type_id: int = Field(foreign_key="server_type.id", ondelete="RESTRICT")
    u_position: int
    face: str


class JobRow(SQLModel, table=True):
    __tablename__ = "job"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    gpus: int
    utilization: float
    duration_s: float
    release_s: float
    deadline_s: Optional[float] = None
    preemptible: bool
    priority: int
    kind: str
    start_s: Optional[float] = None


class JobPlacementRow(SQLModel, table=True):
    """One ``(server, GPUs)`` pair of a job's fixed placement (``planner.plan.Job.placement``),
    in the job's order (``id``). Deleting the job or the server deletes the pair."""

    __tablename__ = "job_placement"
    id: Optional[int] = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", ondelete="CASCADE", index=True)
    server_id: int = Field(foreign_key="server.id", ondelete="CASCADE")
    gpus: int


class ScenarioRow(SQLModel, table=True):
    __tablename__ = "scenario"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    start: str  # ISO 8601 local wall-clock time at the site
    horizon_s: float
    step_s: float
    weather_file: str
    hourly_price_json: str
    demand_charge_usd_per_kw: float
    load: str
    control: str
    # schema 3 (appended, as the 2 -> 3 migration's ALTER TABLE puts them, with the same defaults):
    # the tariff's on-peak demand window and off-peak demand charge (planner.plan.Tariff)
    demand_window_start_h: int = Field(sa_column_kwargs={"server_default": text("0")})
    demand_window_end_h: int = Field(sa_column_kwargs={"server_default": text("24")})
    demand_window_weekdays_only: bool = Field(sa_column_kwargs={"server_default": text("0")})
    demand_window_months_json: str = Field(sa_column_kwargs={"server_default": text("'[]'")})
    off_peak_demand_charge_usd_per_kw: float = Field(sa_column_kwargs={"server_default": text("0")})
