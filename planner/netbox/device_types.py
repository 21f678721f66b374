"""NetBox device-type YAML: written from the plan's server types, read into server types.

Format
------
One YAML document per device type, the schema of the community devicetype-library
(netbox-community/devicetype-library ``schema/devicetype.json`` and ``schema/components.json``),
which NetBox's device-type YAML import reads. dcplan writes and reads these fields:

=================  =====================================================  ========================
field              meaning                                                dcplan
=================  =====================================================  ========================
manufacturer       manufacturer name (required)                           ``ServerType.manufacturer``
model              model name, unique per manufacturer (required)         ``ServerType.model``
slug               ``^[-a-z0-9_]+$``, unique per manufacturer (required)  ``ServerType.key``
u_height           rack units, >= 0, a multiple of 0.5 (required)         ``u_height`` (whole U)
is_full_depth      occupies front and rear faces (required)               always true in dcplan
weight, weight_unit  kg, g, lb or oz; both or neither                     ``weight_kg``
airflow            front-to-rear, rear-to-front, ..., passive, mixed      liquid-fraction estimate
power-ports        list of {name, type, maximum_draw, allocated_draw} [W]  ``max_power_w`` = sum of
                                                                           maximum_draw (NetBox
                                                                           adds ports the same way)
=================  =====================================================  ========================

Other fields of the schema (part_number, comments, interfaces, module-bays, ...) are accepted and
ignored; a field the schema does not know is an error, as in the library's own validation.

What NetBox lacks
-----------------
GPU count, model, TDP and memory, idle power, liquid heat fraction, airflow volume and the
thermal figures are not part of a NetBox device type. They come from a *side file* (YAML,
``{slug: {field: value, ..., sources: {field: text}}}``; any :class:`~planner.plan.ServerType`
field, including ``max_power_w`` where the device type has no power draw) or are left as marked
estimates (``sources[field]`` starts with "estimate"), with one warning per field naming the
types concerned.

Errors
------
Every problem in every file is collected; :class:`DeviceTypeError` lists them as
``FILE:LINE: FIELD: message`` (YAML syntax errors with the line and column PyYAML reports).
Nothing is imported then.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from os import PathLike
from pathlib import Path
from typing import Iterable, Sequence

import yaml

from planner.csv_cells import CsvProblem
from planner.netbox.slugs import SLUG_MAX, SLUG_RE, unique_slugs
from planner.plan import ServerType

#: Top-level fields of the devicetype-library schema (``schema/devicetype.json``).
SCHEMA_FIELDS = frozenset({
    "manufacturer", "model", "slug", "part_number", "u_height", "is_full_depth", "airflow", "weight",
    "weight_unit", "front_image", "rear_image", "subdevice_role", "is_powered", "console-ports",
    "console-server-ports", "power-ports", "power-outlets", "interfaces", "front-ports", "rear-ports",
    "module-bays", "device-bays", "inventory-items", "description", "comments",
})
#: The schema also requires ``is_full_depth``, but NetBox defaults it to true and real library files
#: omit it (APC AP8886); dcplan treats every device as full depth anyway. ``u_height`` (NetBox
#: default 1) stays required: a height taken by default would misplace devices.
REQUIRED_FIELDS = ("manufacturer", "model", "slug", "u_height")
#: ``generated_schema.json`` enums of the library.
AIRFLOWS = ("front-to-rear", "rear-to-front", "left-to-right", "right-to-left", "side-to-rear",
            "passive", "mixed")
WEIGHT_UNITS_KG = {"kg": 1.0, "g": 1e-3, "lb": 0.45359237, "oz": 0.028349523125}  # exact definitions
POWER_PORT_FIELDS = frozenset({"name", "label", "type", "maximum_draw", "allocated_draw", "description"})
MODEL_MAX = 100  # CharField(max_length=100) for manufacturer and model
DESCRIPTION_MAX = 200
U_HEIGHT_MAX = 100  # dcim/constants.py RACK_U_HEIGHT_MAX: no device is taller than a rack can be

#: Power port written for each type: dcplan knows the system's maximum power, not its inlets.
EXPORT_POWER_PORT = {"name": "PSU (dcplan total)", "type": "other"}

# Estimates for the fields NetBox lacks. The airflow rule is the bundled catalog's (assets/catalog.json
# "_about"): 15 K air temperature rise at max power, rho = 1.16 kg/m3, c_p = 1006 J/(kg K).
AIR_DENSITY = 1.16  # [kg/m³] at ~30 °C
AIR_CP = 1006.0  # [J/(kg K)]
AIR_RISE_K = 15.0  # [K]
IDLE_FRACTION = 0.25  # catalog rule for 8-GPU systems: idle ~25 % of max (estimate)

#: Fields a side file may set (every ServerType field except the identity ones and sources).
SIDE_FIELDS = frozenset(f.name for f in fields(ServerType)) - {"key", "manufacturer", "model", "sources"}
_INT_FIELDS = {"u_height", "gpu_count"}
_TEXT_FIELDS = {"gpu_model"}


#: One problem in a device-type or side file: a :class:`planner.csv_cells.CsvProblem` whose ``row``
#: is the 1-based line (0 for the whole file) and ``column`` the YAML path of the field, e.g.
#: ``power-ports[1].maximum_draw``; printed ``FILE:LINE: FIELD: message``.
DeviceTypeProblem = CsvProblem


class DeviceTypeError(ValueError):
    """Import refused; ``problems`` lists every problem found."""

    def __init__(self, problems: list[DeviceTypeProblem]):
        self.problems = list(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the device types:\n{lines}")


@dataclass
class DeviceTypeImport:
    """Result of :func:`read_device_types`.

    types : server types, in file and document order
    warnings : one line per field left as an estimate, and per value dcplan cannot model
    """

    types: list[ServerType]
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- writing

def device_type_documents(types: Sequence[ServerType]) -> list[dict]:
    """The NetBox device-type documents of ``types`` (plain dicts, in the schema's field order).

    Slugs are the type keys (unique per manufacturer; an invalid key is slugified). The one
    power port carries the system's maximum power [W] as ``maximum_draw``.
    """
    docs = []
    by_manufacturer: dict[str, list[ServerType]] = {}
    for t in types:
        by_manufacturer.setdefault(t.manufacturer, []).append(t)
    slugs: dict[int, str] = {}
    for group in by_manufacturer.values():
        mapping = unique_slugs([t.key for t in group], base=lambda k: k)
        for t in group:
            slugs[id(t)] = mapping[t.key]
    for t in types:
        doc: dict = {"manufacturer": t.manufacturer, "model": t.model, "slug": slugs[id(t)],
                     "u_height": int(t.u_height), "is_full_depth": True,
                     "airflow": "passive" if t.liquid_fraction >= 1.0 else "front-to-rear"}
        if t.weight_kg > 0 and math.isfinite(t.weight_kg):
            doc["weight"] = round(float(t.weight_kg), 2)  # NetBox: DecimalField(8, 2)
            doc["weight_unit"] = "kg"
        if t.max_power_w >= 1 and math.isfinite(t.max_power_w):
            doc["power-ports"] = [dict(EXPORT_POWER_PORT, maximum_draw=int(round(t.max_power_w)))]
        gpus = f"{t.gpu_count}x {t.gpu_model}, " if t.gpu_count else ""
        doc["description"] = f"{gpus}{t.cooling_type}-cooled (dcplan catalog)"[:DESCRIPTION_MAX]
        docs.append(doc)
    return docs


def device_types_yaml(types: Sequence[ServerType]) -> str:
    """``device_types.yaml``: one document per type, each starting with ``---``."""
    return "".join(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, explicit_start=True,
                                  default_flow_style=False, width=1000)
                   for doc in device_type_documents(types))


# --------------------------------------------------------------------------- YAML with lines

class _Mapping(dict):
    """A YAML mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict


class _Sequence(list):
    line: int = 0


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records lines and refuses duplicate keys (PyYAML keeps the last one
    silently, which would hide a typo'd second ``u_height``)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    out = _Mapping()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a key must be a plain value",
                                                    key_node.start_mark) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {out.key_lines[key]})", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _Sequence:
    out = _Sequence(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _load_documents(path: Path, problems: list[DeviceTypeProblem]) -> list | None:
    """All YAML documents of ``path``; a syntax or read problem is appended and gives ``None``."""
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(DeviceTypeProblem(name, 0, "", "file not found"))
        return None
    except IsADirectoryError:
        problems.append(DeviceTypeProblem(name, 0, "", "is a folder, not a YAML file"))
        return None
    except OSError as exc:
        problems.append(DeviceTypeProblem(name, 0, "", f"cannot read file: {exc.strerror or exc}"))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.append(DeviceTypeProblem(name, line, "", f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                                          "save the file as UTF-8"))
        return None
    try:
        return [d for d in yaml.load_all(text, Loader=_LineLoader) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        message = f"YAML syntax error at column {mark.column + 1}: " if mark is not None else "YAML syntax error: "
        message += exc.problem or exc.context or "unreadable"
        if exc.context and exc.problem and exc.context_mark is not None:
            c = exc.context_mark
            message += f" ({exc.context} that starts on line {c.line + 1}, column {c.column + 1})"
        problems.append(DeviceTypeProblem(name, line, "", message))
        return None
    except yaml.YAMLError as exc:
        problems.append(DeviceTypeProblem(name, 0, "", f"YAML error: {exc}"))
        return None


# --------------------------------------------------------------------------- reading

@dataclass
class _Doc:
    """One device-type document being checked; ``problem`` records with the field's line."""

    file: str
    data: _Mapping
    problems: list[DeviceTypeProblem]
    ok: bool = True

    def line(self, key: str, container: _Mapping | None = None) -> int:
        c = self.data if container is None else container
        return getattr(c, "key_lines", {}).get(key, getattr(c, "line", 0))

    def problem(self, path: str, message: str, line: int) -> None:
        self.problems.append(DeviceTypeProblem(self.file, line, path, message))
        self.ok = False


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _text(doc: _Doc, key: str, maximum: int) -> str | None:
    v = doc.data.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip():
        doc.problem(key, f"must be text, got {v!r}", doc.line(key))
        return None
    if len(v) > maximum:
        doc.problem(key, f"longer than {maximum} characters", doc.line(key))
        return None
    return v.strip()


def _read_document(doc: _Doc) -> dict | None:
    """Checked NetBox fields of one document, or ``None`` after recording its problems."""
    d = doc.data
    for key in d:
        if key not in SCHEMA_FIELDS:
            doc.problem(str(key), "unknown field (not in the devicetype-library schema)", doc.line(key))
    for key in REQUIRED_FIELDS:
        if key not in d:
            doc.problem(key, "required field is missing", d.line)
    manufacturer = _text(doc, "manufacturer", MODEL_MAX)
    model = _text(doc, "model", MODEL_MAX)
    slug = d.get("slug")
    if "slug" in d and not (isinstance(slug, str) and SLUG_RE.match(slug) and len(slug) <= SLUG_MAX):
        doc.problem("slug", f"{slug!r} is not a valid slug (lower-case letters, digits, '-' and '_', "
                            f"at most {SLUG_MAX})", doc.line("slug"))
    u = d.get("u_height")
    u_height = None
    if "u_height" in d:
        if not _is_number(u) or u < 0:
            doc.problem("u_height", f"must be a number of rack units >= 0, got {u!r}", doc.line("u_height"))
        elif u % 0.5:
            doc.problem("u_height", f"must be a multiple of 0.5, got {u}", doc.line("u_height"))
        elif u % 1:
            doc.problem("u_height", f"{u} U: dcplan places devices in whole rack units", doc.line("u_height"))
        elif u > U_HEIGHT_MAX:
            doc.problem("u_height", f"{u:g} U is taller than any rack ({U_HEIGHT_MAX} U)", doc.line("u_height"))
        else:
            u_height = int(u)
    for key in ("is_full_depth", "is_powered", "front_image", "rear_image"):
        if key in d and not isinstance(d[key], bool):
            doc.problem(key, f"must be true or false, got {d[key]!r}", doc.line(key))
    airflow = d.get("airflow")
    if "airflow" in d and airflow not in AIRFLOWS:
        doc.problem("airflow", f"invalid choice {airflow!r}; expected one of {', '.join(AIRFLOWS)}",
                    doc.line("airflow"))
    weight_kg = None
    has_w, has_unit = "weight" in d, "weight_unit" in d
    if has_w != has_unit:
        missing = "weight_unit" if has_w else "weight"
        doc.problem(missing, f"required with {'weight' if has_w else 'weight_unit'}",
                    doc.line("weight" if has_w else "weight_unit"))
    elif has_w:
        w, unit = d["weight"], d["weight_unit"]
        if not _is_number(w) or w < 0:
            doc.problem("weight", f"must be a number >= 0, got {w!r}", doc.line("weight"))
        if unit not in WEIGHT_UNITS_KG:
            doc.problem("weight_unit", f"invalid choice {unit!r}; expected one of {', '.join(WEIGHT_UNITS_KG)}",
                        doc.line("weight_unit"))
        if _is_number(w) and w >= 0 and unit in WEIGHT_UNITS_KG:
            weight_kg = w * WEIGHT_UNITS_KG[unit]
    max_draw, allocated = _power_ports(doc)
    if not doc.ok:
        return None
    return {"manufacturer": manufacturer, "model": model, "slug": slug, "u_height": u_height,
            "is_full_depth": d.get("is_full_depth", True), "airflow": airflow, "weight_kg": weight_kg,
            "max_draw_w": max_draw, "allocated_draw_w": allocated, "is_powered": d.get("is_powered", True),
            "power_line": doc.line("power-ports") if "power-ports" in d else d.line}


def _power_ports(doc: _Doc) -> tuple[float | None, float | None]:
    """(sum of maximum_draw, sum of allocated_draw) [W]; ``None`` where no port gives one."""
    ports = doc.data.get("power-ports")
    if ports is None:
        return None, None
    if not isinstance(ports, list):
        doc.problem("power-ports", "must be a list of ports", doc.line("power-ports"))
        return None, None
    sums: dict[str, float | None] = {"maximum_draw": None, "allocated_draw": None}
    for i, port in enumerate(ports):
        path = f"power-ports[{i}]"
        line = getattr(port, "line", doc.line("power-ports"))
        if not isinstance(port, dict):
            doc.problem(path, "must be a mapping (name, type, maximum_draw, ...)", line)
            continue
        for key in port:
            if key not in POWER_PORT_FIELDS:
                doc.problem(f"{path}.{key}", "unknown field", doc.line(key, port))
        if "name" not in port:
            doc.problem(f"{path}.name", "required field is missing", line)
        for key in sums:
            if key not in port:
                continue
            v = port[key]
            if not (isinstance(v, int) and not isinstance(v, bool)) or v < 1:
                doc.problem(f"{path}.{key}", f"must be a whole number of watts >= 1, got {v!r}", doc.line(key, port))
            else:
                sums[key] = (sums[key] or 0) + v
    return sums["maximum_draw"], sums["allocated_draw"]


def _read_side_file(path: Path, problems: list[DeviceTypeProblem]) -> dict[str, tuple[dict, dict, _Mapping]]:
    """``{slug: (values, sources, mapping)}`` of a side file; problems appended."""
    docs = _load_documents(path, problems)
    if docs is None:
        return {}
    name = path.name
    if len(docs) != 1 or not isinstance(docs[0], dict):
        problems.append(DeviceTypeProblem(name, getattr(docs[0], "line", 0) if docs else 0, "",
                                          "a side file is one mapping: slug -> {field: value, ...}"))
        return {}
    out = {}
    top = docs[0]
    for slug, entry in top.items():
        line = top.key_lines.get(slug, 0)
        if not isinstance(entry, dict):
            problems.append(DeviceTypeProblem(name, line, str(slug), "must be a mapping of field: value"))
            continue
        values: dict = {}
        sources: dict = {}
        for key, v in entry.items():
            kline = entry.key_lines.get(key, line)
            where = f"{slug}.{key}"
            if key == "sources":
                if not isinstance(v, dict) or not all(isinstance(s, str) for s in v.values()):
                    problems.append(DeviceTypeProblem(name, kline, where, "must map field names to source text"))
                else:
                    sources = dict(v)
                continue
            if key not in SIDE_FIELDS:
                problems.append(DeviceTypeProblem(name, kline, where, "not a server type field a side file can set "
                                                  f"({', '.join(sorted(SIDE_FIELDS))})"))
            elif key in _TEXT_FIELDS:
                if not isinstance(v, str):
                    problems.append(DeviceTypeProblem(name, kline, where, f"must be text, got {v!r}"))
                else:
                    values[key] = v
            elif not _is_number(v) or v < 0:
                problems.append(DeviceTypeProblem(name, kline, where, f"must be a number >= 0, got {v!r}"))
            elif key in _INT_FIELDS and v % 1:
                problems.append(DeviceTypeProblem(name, kline, where, f"must be a whole number, got {v}"))
            elif key == "liquid_fraction" and v > 1:
                problems.append(DeviceTypeProblem(name, kline, where, f"must be between 0 and 1, got {v}"))
            else:
                values[key] = int(v) if key in _INT_FIELDS else float(v)
        out[str(slug)] = (values, sources, entry)
    return out


def _estimate(key: str, netbox: dict, values: dict) -> tuple[object, str]:
    """(value, source) of a field NetBox lacks and the side file did not give."""
    max_w = values["max_power_w"]
    lf = values.get("liquid_fraction")
    if key == "idle_power_w":
        return max_w * IDLE_FRACTION, f"estimate: {IDLE_FRACTION:.0%} of max power (the bundled catalog's rule)"
    if key == "liquid_fraction":
        # 'passive' (no fans) fits a PDU or a patch panel as well as a fully liquid-cooled server,
        # so it says nothing about liquid: air is assumed either way, and marked
        return 0.0, "estimate: air-cooled assumed (NetBox device types carry no cooling method)"
    if key == "airflow_m3s":
        air_w = max_w * (1.0 - (lf or 0.0))
        return (air_w / (AIR_DENSITY * AIR_CP * AIR_RISE_K),
                f"estimate: {AIR_RISE_K:g} K air rise at max power (the bundled catalog's rule)")
    default = {f.name: f.default for f in fields(ServerType)}.get(key)
    defaults = {"gpu_count": 0, "gpu_model": "", "gpu_tdp_w": 0.0, "gpu_memory_gb": 0.0}
    value = defaults.get(key, default)
    why = {"gpu_slowdown_c": "nvidia-smi -q on Hopper: slowdown 89 C", "gpu_shutdown_c": "nvidia-smi -q on Hopper: shutdown 92 C",
           "thermal_time_constant_s": "GPU + heat sink 1-2 min (physics.md)",
           "gpu_design_temp_c": "dcplan default for a GPU at max power at the rating inlet"}.get(key, "unknown to NetBox")
    return value, f"estimate: not in the NetBox device type; {why}"


#: Fields NetBox lacks, in the order warnings are listed.
ESTIMATED_FIELDS = ("gpu_count", "gpu_model", "gpu_tdp_w", "gpu_memory_gb", "idle_power_w", "liquid_fraction",
                    "airflow_m3s", "gpu_slowdown_c", "gpu_shutdown_c", "gpu_design_temp_c",
                    "thermal_time_constant_s")


def read_device_types(paths: Iterable[str | PathLike], side_file: str | PathLike | None = None) -> DeviceTypeImport:
    """Read NetBox device-type YAML files (one or more documents each) into server types.

    side_file : YAML with the figures NetBox lacks, by slug (see the module docstring)

    Raises :class:`DeviceTypeError` listing every problem of every file. ``ServerType.key`` is the
    slug; ``sources`` name the file each figure came from, or mark it as an estimate.
    """
    problems: list[DeviceTypeProblem] = []
    side = _read_side_file(Path(side_file), problems) if side_file is not None else {}
    side_name = Path(side_file).name if side_file is not None else ""
    read: list[tuple[str, int, dict]] = []
    for p in paths:
        path = Path(p)
        docs = _load_documents(path, problems)
        if docs is None:
            continue
        if not docs:
            problems.append(DeviceTypeProblem(path.name, 0, "", "no device type in the file (empty)"))
        for data in docs:
            if not isinstance(data, dict):
                problems.append(DeviceTypeProblem(path.name, getattr(data, "line", 1), "",
                                                  f"a device type must be a mapping of fields, got {type(data).__name__}"))
                continue
            doc = _Doc(path.name, data, problems)
            netbox = _read_document(doc)
            if netbox is not None:
                read.append((path.name, data.line, netbox))

    seen: dict[str, tuple[str, int]] = {}
    warnings: list[str] = []
    estimated: dict[str, list[str]] = {}
    types: list[ServerType] = []
    for file, line, nb in read:
        slug = nb["slug"]
        if slug in seen:
            problems.append(DeviceTypeProblem(file, line, "slug", f"{slug!r} is also defined in "
                                              f"{seen[slug][0]}:{seen[slug][1]}; dcplan keys types by slug"))
            continue
        seen[slug] = (file, line)
        values, side_sources, _ = side.get(slug, ({}, {}, None))
        sources: dict[str, str] = {}

        def src(key: str, default: str) -> str:
            return side_sources.get(key, f"side file {side_name}" if key in values else default)

        merged: dict = {"u_height": nb["u_height"]}
        sources["u_height"] = f"NetBox device type {file}"
        if "u_height" in values and values["u_height"] != nb["u_height"]:
            problems.append(DeviceTypeProblem(side_name, side[slug][2].key_lines.get("u_height", 0),
                                              f"{slug}.u_height", f"{values['u_height']} U contradicts "
                                              f"u_height {nb['u_height']} of {file}"))
            continue
        if nb["weight_kg"] is not None:
            merged["weight_kg"], sources["weight_kg"] = nb["weight_kg"], f"NetBox device type {file}"
        if nb["max_draw_w"] is not None:
            merged["max_power_w"] = float(nb["max_draw_w"])
            sources["max_power_w"] = f"NetBox device type {file}: sum of power-port maximum_draw"
            if nb["allocated_draw_w"] is not None:
                sources["max_power_w"] += f" (allocated_draw sums to {nb['allocated_draw_w']:g} W)"
        for key, v in values.items():
            if key != "u_height":
                if key in merged and merged[key] != v:
                    warnings.append(f"{slug}: {key} {v:g} from side file {side_name} replaces "
                                    f"{merged[key]:g} of {file}")
                merged[key] = v
                sources[key] = src(key, "")
        if "max_power_w" not in merged:
            why = ("is_powered: false (fed by the rack's power shelves)" if nb["is_powered"] is False
                   else "no power-port gives a maximum_draw")
            problems.append(DeviceTypeProblem(file, nb["power_line"], "power-ports", f"{slug}: {why}; dcplan needs the "
                                              "system's maximum power: give max_power_w for it in a side file"))
            continue
        merged.setdefault("weight_kg", 0.0)
        if "weight_kg" not in sources:
            sources["weight_kg"] = "estimate: no weight in the NetBox device type"
            estimated.setdefault("weight_kg", []).append(slug)
        for key in ESTIMATED_FIELDS:
            if key not in merged:
                merged[key], sources[key] = _estimate(key, nb, merged)
                estimated.setdefault(key, []).append(slug)
        if merged["idle_power_w"] > merged["max_power_w"]:
            problems.append(DeviceTypeProblem(side_name or file, line, f"{slug}.idle_power_w",
                                              f"idle power {merged['idle_power_w']:g} W above max {merged['max_power_w']:g} W"))
            continue
        if nb["u_height"] == 0:
            warnings.append(f"{slug}: 0 U (mounted outside the rack units): dcplan places it at a U "
                            "without occupying one")
        if nb["is_full_depth"] is False:
            warnings.append(f"{slug}: is_full_depth false; dcplan treats every device as full depth")
        if nb["airflow"] not in (None, "front-to-rear", "passive"):
            warnings.append(f"{slug}: airflow {nb['airflow']}; dcplan models front-to-rear air through the rack")
        types.append(ServerType(key=slug, manufacturer=nb["manufacturer"], model=nb["model"], sources=sources,
                                **merged))
    for slug in side:
        if slug not in seen:
            warnings.append(f"side file {side_name} lists {slug!r}, which no imported file defines")
    if problems:
        raise DeviceTypeError(problems)
    for key in ("weight_kg", *ESTIMATED_FIELDS):
        if key in estimated:
            names = estimated[key]
            warnings.append(f"{key}: not in NetBox device types; marked estimate for {len(names)} type(s): "
                            f"{', '.join(names)}")
    return DeviceTypeImport(types, warnings)

