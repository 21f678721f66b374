"""Floor geometry: the one home of dcplan's floor rules. Qt-free; the GUI and the CLI both ask it.

* **Footprints** — a rack's axis-aligned box after rotation (``Rack.footprint``); a floor
  cooling unit's box (:func:`unit_footprint`; CRAHs and CDUs stand on the floor, plant units do not).
* **Inside the hall** — :func:`leaves_hall`: a footprint must stay within the hall's walls.
* **Overlap** — :func:`boxes_overlap` and :class:`FootprintIndex`, a uniform-grid spatial hash:
  touching edges (within :data:`OVERLAP_EPS_M`) do not overlap.
* **The placement rule** — :func:`placement_conflicts`: racks and floor units at proposed positions
  may overlap no other rack or floor unit of their hall and may not leave its floor. Every edit in
  the editor, the GUI's CSV import and ``dcplan import`` apply it (all or nothing).
* **Free spots** — :meth:`FootprintIndex.free_spot` (nearest free tile-grid corner: add, paste and
  catalog placement in the editor) and :func:`place_new_racks` (rows with aisles: racks a CSV import
  creates without a position).
* **Aisles** — :func:`aisle_partners`: which racks face each other across a cold aisle and which
  back onto each other across a hot aisle; :func:`row_aisles`: the cold strip in front of each row
  and the hot strip behind it (the GUI's aisle shading).

Coordinates are the plan's: x east, y south, metres; a box is ``(x0, y0, x1, y1)``.
"""
from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Container, Iterable, Sequence

from planner.plan import CoolingUnit, Hall, Plan, Rack

Box = tuple[float, float, float, float]  # (x0, y0, x1, y1) [m]

#: Two footprints closer than this overlap [m]; racks placed side by side touch exactly.
OVERLAP_EPS_M = 1e-6

#: Floor footprint (long side, short side) [m] of cooling units that stand in the hall.
#: Estimates from common products: a perimeter chilled-water CRAH is ~2.4 m x 0.9 m
#: (Vertiv Liebert CW / Stulz CyberAir class), an in-row CDU is a rack-sized 0.6 m x 1.2 m cabinet.
UNIT_FOOTPRINT_M = {"crah": (2.4, 0.9), "cdu": (1.2, 0.6)}
#: Cooling-unit kinds that stand on the hall floor (the others are outdoor plant).
FLOOR_UNIT_KINDS = tuple(UNIT_FOOTPRINT_M)

#: Sanity bounds [m]: the largest enclosures are ~1.4 m a side; floors are metres to a few hundred
#: metres across. Beyond these a value is a typo (or an attack on the overlap grid), not a rack.
RACK_SIDE_MAX_M = 5.0
FLOOR_COORD_MAX_M = 10_000.0
#: Smallest rack side [m]: 1 mm, the resolution of the NetBox export (whole millimetres), so a rack
#: always survives its own export (a 4.9e-324 mm "rack" is 0 m after conversion).
RACK_SIDE_MIN_M = 0.001

# Automatic placement of new racks (estimates: two 0.6 m floor tiles each).
PLACEMENT_MARGIN_M = 1.2  # clearance from the hall walls [m]
PLACEMENT_AISLE_M = 1.2  # aisle between rack rows [m]; 1.2 m is the usual minimum cold aisle (ASHRAE TC9.9)
#: Racks farther apart than this across an aisle are not aisle partners [m] (a 1.2 m aisle plus
#: two 1.2 m rack depths, with room for a wider 1.8 m aisle: estimate).
AISLE_PARTNER_MAX_M = 4.0

#: Aisle widths [m] of ANSI/TIA-942 (Telecommunications Infrastructure Standard for Data Centers,
#: 2005, clause on hot and cold aisles; BICSI 002 repeats them): at least 1 m (3 ft) of clear floor in
#: front of racks and cabinets, 1.2 m (4 ft) preferred; at least 0.6 m (2 ft) behind them for
#: service access, 1 m (3 ft) preferred. The check rules warn below the minimums; Add Row leaves the
#: preferred widths, rounded up to whole floor tiles (a cold aisle is at least two tiles: the
#: perforated tiles that feed it).
MIN_COLD_AISLE_M = 1.0
PREFERRED_COLD_AISLE_M = 1.2
MIN_HOT_AISLE_M = 0.6
PREFERRED_HOT_AISLE_M = 1.0
#: A rack inlet facing another rack's exhaust across less clear floor than this draws that exhaust
#: [m]. *Estimate*: two preferred cold aisles (four 0.6 m tiles); ASHRAE TC9.9's hot-aisle/cold-aisle
#: arrangement exists to avoid any front-to-back arrangement, and at these distances the server fans'
#: exhaust jet (2-3 m/s) crosses the gap before mixing with room air.
EXHAUST_REACH_M = 2.4
_OPPOSITE = {"N": "S", "S": "N", "E": "W", "W": "E"}


# ------------------------------------------------------------------------- footprints


def unit_size(u: CoolingUnit) -> tuple[float, float]:
    """Size of a floor unit along x and y [m].

    ``CoolingUnit`` carries no orientation, so one convention: both CRAHs and CDUs
    stand with their long side north-south (y) — CRAHs at the ends of east-west
    rows, CDUs in a row like a rack.
    """
    long, short = UNIT_FOOTPRINT_M.get(u.kind, (1.0, 1.0))
    return short, long


def on_floor(u: CoolingUnit) -> bool:
    """A CRAH/CDU with a floor position (plant units and unplaced units are not on the floor)."""
    return u.kind in FLOOR_UNIT_KINDS and u.x_m is not None and u.y_m is not None


def unit_footprint(u: CoolingUnit) -> Box | None:
    """Axis-aligned footprint of a floor unit ``(x0, y0, x1, y1)`` [m], None if not on the floor."""
    if not on_floor(u):
        return None
    w, d = unit_size(u)
    return (u.x_m - w / 2, u.y_m - d / 2, u.x_m + w / 2, u.y_m + d / 2)


def unit_hall(plan: Plan, u: CoolingUnit) -> str:
    """Hall a cooling unit stands in (units saved without one belong to the first hall)."""
    return u.hall or (plan.halls[0].name if plan.halls else Hall().name)


def leaves_hall(box: Box, hall: Hall, eps: float = OVERLAP_EPS_M) -> bool:
    """True if footprint ``box`` [m] leaves ``hall``'s floor (touching a wall is inside)."""
    return box[0] < -eps or box[1] < -eps or box[2] > hall.width_m + eps or box[3] > hall.depth_m + eps


# ---------------------------------------------------------------------------- overlap


def boxes_overlap(a: Box, b: Box, eps: float = OVERLAP_EPS_M) -> bool:
    """True if two axis-aligned boxes share area; touching edges (within ``eps`` [m]) do not."""
    return min(a[2], b[2]) - max(a[0], b[0]) > eps and min(a[3], b[3]) - max(a[1], b[1]) > eps


class FootprintIndex:
    """Uniform-grid spatial hash of named floor footprints (racks, floor cooling units).

    The one overlap test of dcplan: the validation rule, the placement rule (edits, imports) and
    both free-spot searches ask this index. Each box is filed in every ``cell`` x ``cell`` square it
    touches, so a query looks only at the few boxes near it: building for 5,000 racks and querying
    all of them is linear (~10 ms) instead of the n² pairwise test.

    ``cell`` : float  Grid pitch [m]; 1.2 m (one rack depth) keeps each rack in ≤ 4 cells.
    """

    MAX_CELLS = 4096  # a box spanning more cells than this is kept out of the grid

    def __init__(self, items: Iterable[tuple[object, Box]] = (), cell: float = 1.2,
                 eps: float = OVERLAP_EPS_M) -> None:
        self.cell = float(cell)
        self.eps = eps
        self.boxes: dict[object, Box] = {}
        self._grid: dict[tuple[int, int], list[object]] = defaultdict(list)
        # boxes too big to file cell by cell (a typo like a 50 km rack): checked against everything
        self._large: dict[object, None] = {}
        for key, box in items:
            self.add(key, box)

    def __len__(self) -> int:
        return len(self.boxes)

    def __contains__(self, key) -> bool:
        return key in self.boxes

    def _n_cells(self, box: Box) -> float:
        c, e = self.cell, self.eps
        return (math.floor((box[2] - e) / c) - math.floor(box[0] / c) + 1) * \
            (math.floor((box[3] - e) / c) - math.floor(box[1] / c) + 1)

    def _cells(self, box: Box):
        c, e = self.cell, self.eps
        for gx in range(math.floor(box[0] / c), math.floor((box[2] - e) / c) + 1):
            for gy in range(math.floor(box[1] / c), math.floor((box[3] - e) / c) + 1):
                yield gx, gy

    def add(self, key, box: Box) -> None:
        """File ``box`` under ``key`` (a key added twice replaces its box)."""
        if key in self.boxes:
            self.remove(key)
        if box is None or not all(math.isfinite(v) for v in box):
            return  # an unplaced element overlaps nothing
        self.boxes[key] = box
        if self._n_cells(box) > self.MAX_CELLS:
            self._large[key] = None
            return
        for cell in self._cells(box):
            self._grid[cell].append(key)

    def remove(self, key) -> None:
        box = self.boxes.pop(key, None)
        if box is None:
            return
        if key in self._large:
            del self._large[key]
            return
        for cell in self._cells(box):
            members = self._grid.get(cell)
            if members is not None:
                members.remove(key)
                if not members:
                    del self._grid[cell]

    def query(self, box: Box, ignore: Container = frozenset()) -> list:
        """Keys whose boxes overlap ``box`` (in the order they were added), minus ``ignore``."""
        if not all(math.isfinite(v) for v in box):
            return []
        if self._n_cells(box) > self.MAX_CELLS or self._large:
            candidates = self.boxes if self._n_cells(box) > self.MAX_CELLS else \
                self._grid_candidates(box) | dict.fromkeys(self._large)
        else:
            candidates = self._grid_candidates(box)
        order = {k: i for i, k in enumerate(self.boxes)} if self._large else None
        keys = sorted(candidates, key=order.__getitem__) if order else candidates
        return [k for k in keys if k not in ignore and boxes_overlap(box, self.boxes[k], self.eps)]

    def first(self, box: Box, ignore: Container = frozenset()):
        """``query(box, ignore)[0]`` (None if nothing overlaps), found without collecting the rest:
        a box dropped on a pile of k others costs O(1), not O(k) — so checking n racks piled onto a
        few spots stays linear (the fuzz campaign's 3,400-row pile took 20 s, quadratic)."""
        if not all(math.isfinite(v) for v in box):
            return None
        if self._n_cells(box) > self.MAX_CELLS or self._large:
            hits = self.query(box, ignore)
            return hits[0] if hits else None
        seen = set()
        for cell in self._cells(box):
            for key in self._grid.get(cell, ()):
                if key not in seen:
                    seen.add(key)
                    if key not in ignore and boxes_overlap(box, self.boxes[key], self.eps):
                        return key
        return None

    def _grid_candidates(self, box: Box) -> dict:
        """Keys filed in the cells ``box`` touches, first-seen order, each once."""
        out: dict = {}
        for cell in self._cells(box):
            for key in self._grid.get(cell, ()):
                out[key] = None
        return out

    def pairs(self) -> list[tuple[object, object]]:
        """Every overlapping pair of filed boxes, each once, as ``(earlier, later)`` in insertion order."""
        order = {k: i for i, k in enumerate(self.boxes)}
        found: set[tuple[int, int]] = set()
        for a in self._large:  # oversized boxes against every other box
            for b in self.boxes:
                if a != b and boxes_overlap(self.boxes[a], self.boxes[b], self.eps):
                    found.add(tuple(sorted((order[a], order[b]))))
        for members in self._grid.values():
            for ai, a in enumerate(members):
                for b in members[ai + 1:]:
                    i, j = sorted((order[a], order[b]))
                    if (i, j) not in found and boxes_overlap(self.boxes[a], self.boxes[b], self.eps):
                        found.add((i, j))
        keys = list(self.boxes)
        return [(keys[i], keys[j]) for i, j in sorted(found)]

    def free_spot(self, bounds: Box, w: float, d: float, near: tuple[float, float], step: float,
                  ignore: Container = frozenset()) -> tuple[float, float] | None:
        """Top-left corner ``(x, y)`` [m] on the ``step`` grid, nearest ``near``, where a ``w`` x ``d``
        box fits inside ``bounds`` and overlaps nothing; None if there is no such place.

        Grid corners are tried by distance of the box centre from ``near``; the first free one
        wins, so on a mostly empty floor only a handful of queries run.
        """
        bx0, by0, bx1, by1 = bounds
        if step <= 0:
            return None
        nx = math.floor((bx1 - bx0 - w) / step + 1e-9)
        ny = math.floor((by1 - by0 - d) / step + 1e-9)
        if nx < 0 or ny < 0:
            return None
        cx = (near[0] - w / 2 - bx0) / step
        cy = (near[1] - d / 2 - by0) / step
        # rings of growing Chebyshev radius around the nearest grid corner, each sorted by distance
        i0, j0 = min(max(round(cx), 0), nx), min(max(round(cy), 0), ny)
        best = None
        for radius in range(0, max(nx, ny) + 1):
            ring = []
            for i in range(max(0, i0 - radius), min(nx, i0 + radius) + 1):
                for j in (j0 - radius, j0 + radius) if radius else (j0,):
                    if 0 <= j <= ny:
                        ring.append((i, j))
            for j in range(max(0, j0 - radius + 1), min(ny, j0 + radius - 1) + 1):
                for i in (i0 - radius, i0 + radius):
                    if 0 <= i <= nx:
                        ring.append((i, j))
            for i, j in sorted(ring, key=lambda ij: (ij[0] - cx) ** 2 + (ij[1] - cy) ** 2):
                dist = (i - cx) ** 2 + (j - cy) ** 2
                if best is not None and dist >= best[0]:
                    break
                x, y = bx0 + i * step, by0 + j * step
                if not self.query((x, y, x + w, y + d), ignore):
                    best = (dist, x, y)
                    break
            # every corner of a farther ring is at least radius + 0.5 steps from (cx, cy)
            if best is not None and best[0] <= (radius + 0.5) ** 2:
                break
        if best is None:
            return None
        return round(best[1], 6), round(best[2], 6)


# --------------------------------------------------------------------- the placement rule


def rack_key(name: str) -> tuple[str, str]:
    return ("rack", name)


def unit_key(name: str) -> tuple[str, str]:
    return ("unit", name)


def hall_index(plan: Plan, hall: str, *, skip: Container = frozenset()) -> FootprintIndex:
    """Index of the racks (key ``("rack", name)``) and floor units (``("unit", name)``) of ``hall``,
    minus the keys in ``skip``."""
    index = FootprintIndex()
    for r in plan.racks:
        if r.hall == hall and rack_key(r.name) not in skip:
            index.add(rack_key(r.name), r.footprint())
    for u in plan.cooling_units:
        if on_floor(u) and unit_hall(plan, u) == hall and unit_key(u.name) not in skip:
            index.add(unit_key(u.name), unit_footprint(u))
    return index


@dataclass(frozen=True)
class Conflict:
    """One breach of the placement rule by a proposed rack or floor unit.

    element : (kind, name)  The proposed element, kind ``"rack"`` or ``"unit"``
    other : (kind, name) | None  What it overlaps; None when it leaves the hall
    hall : Hall  The hall it stands in
    """

    element: tuple[str, str]
    other: tuple[str, str] | None
    hall: Hall

    @property
    def outside(self) -> bool:
        return self.other is None

    def message(self) -> str:
        """``rack 'R1' overlaps cooling unit 'CRAH-1' in hall 'H'`` / ``... stands outside hall ...``."""
        what = {"rack": "rack", "unit": "cooling unit"}
        kind, name = self.element
        if self.other is None:
            return (f"{what[kind]} {name!r} stands outside hall {self.hall.name!r} "
                    f"({self.hall.width_m:g} m x {self.hall.depth_m:g} m)")
        return f"{what[kind]} {name!r} overlaps {what[self.other[0]]} {self.other[1]!r} in hall {self.hall.name!r}"


def placement_conflicts(plan: Plan, racks: Sequence[Rack] = (), units: Sequence[CoolingUnit] = (), *,
                        ignore: Iterable = (), indexes: dict[str, FootprintIndex] | None = None
                        ) -> list[Conflict]:
    """Breaches of the placement rule by ``racks`` and floor ``units`` at their proposed positions.

    Each proposed element is checked, in the order given (racks first), against the racks and floor
    units of its hall in ``plan`` — except the keys in ``ignore`` (``("rack", name)`` /
    ``("unit", name)``, usually the elements being moved) and the proposed elements themselves — and
    against the proposed elements before it. An element that overlaps is reported once, against the
    first element it meets (the plan's before the proposed ones), so n elements piled on one spot
    give n - 1 conflicts found in linear time, not n²/2. A hall named but missing from the plan
    counts as a default-sized hall of that name.

    indexes : {hall: FootprintIndex} of ``plan`` to reuse (the GUI keeps them between edits); a hall's
        index missing there is built with :func:`hall_index` and added. Existing ones are not changed.
        Without it, each hall's index is built without the proposed and ignored elements.
    """
    halls = {h.name: h for h in plan.halls}
    proposed = [(rack_key(r.name), r.hall, r.footprint()) for r in racks]
    proposed += [(unit_key(u.name), unit_hall(plan, u), unit_footprint(u)) for u in units if on_floor(u)]
    skip = set(ignore) | {key for key, _hall, _box in proposed}
    out: list[Conflict] = []
    placed: dict[str, FootprintIndex] = {}
    own = indexes is None  # indexes of this call only: leave the skipped keys out of them
    indexes = {} if indexes is None else indexes
    for key, hall_name, box in proposed:
        hall = halls.get(hall_name) or Hall(hall_name)
        index = indexes.get(hall_name)
        if index is None:
            index = indexes[hall_name] = hall_index(plan, hall_name, skip=skip if own else frozenset())
        mine = placed.setdefault(hall_name, FootprintIndex())
        other = index.first(box, skip)
        if other is None:
            other = mine.first(box)
        if other is not None:
            out.append(Conflict(key, other, hall))
        if leaves_hall(box, hall):
            out.append(Conflict(key, None, hall))
        mine.add(key, box)
    return out


def moved_racks(old: Plan, new: Plan) -> list[Rack]:
    """Racks of ``new`` that ``old`` lacks or that stand elsewhere (another hall or footprint)."""
    before = {r.name: r for r in old.racks}
    return [r for r in new.racks if r.name not in before
            or (r.hall, r.footprint()) != (before[r.name].hall, before[r.name].footprint())]


# ------------------------------------------------------------------ automatic placement


def place_new_racks(plan: Plan, racks: Sequence[Rack], *, margin_m: float = PLACEMENT_MARGIN_M,
                    aisle_m: float = PLACEMENT_AISLE_M) -> list[Rack]:
    """Put each rack of ``racks`` (members of ``plan.racks``, in order) on the first free spot of its
    hall; returns the racks that found none (left where they were).

    Rule: rows of racks run west to east, ``margin_m`` from the walls; row j has its centre at
    ``y = margin + depth/2 + j * (depth + aisle)`` and rows are tried north to south while they end
    ``margin_m`` before the south wall. In a row the rack goes to the westmost position, from
    ``x = margin`` on, where it overlaps no rack and no floor cooling unit of the hall (the other
    racks of ``racks`` count once placed) and ends ``margin_m`` before the east wall. Even rows face
    S and odd rows N, so rows 0 and 1 share a cold aisle, then a hot aisle, and so on. Centres are
    rounded *up* to whole millimetres, so the rounded rack still touches, never overlaps, its
    western neighbour.

    Cost: every rack's search resumes where the previous rack of the same size stopped (adding racks
    never opens a gap), and each probe of the spatial index either places the rack or jumps past an
    obstacle, so placing n racks among m obstacles takes O((n + m) log(n + m)) — near linear.
    """
    pending_keys = {rack_key(r.name) for r in racks}
    indexes: dict[str, FootprintIndex] = {}
    halls = {h.name: h for h in plan.halls}
    cursors: dict[tuple[str, float, float], tuple[int, float]] = {}
    unplaced = []
    for rack in racks:
        hall = halls.get(rack.hall) or Hall(rack.hall)
        index = indexes.get(rack.hall)
        if index is None:  # the racks being placed have no position yet
            index = indexes[rack.hall] = hall_index(plan, rack.hall, skip=pending_keys)
        spot = _row_spot(index, hall, rack.width_m, rack.depth_m, margin_m, aisle_m, cursors)
        if spot is None:
            unplaced.append(rack)
            continue
        rack.x_m, rack.y_m, rack.orientation = spot
        index.add(rack_key(rack.name), rack.footprint())
    return unplaced


def _mm_up(x: float) -> float:
    """``x`` [m] rounded up to whole millimetres (a hair of float noise is not a millimetre)."""
    return math.ceil(round(x * 1000.0, 6)) / 1000.0


def _row_spot(index: FootprintIndex, hall: Hall, w: float, d: float, margin: float, aisle: float,
              cursors: dict) -> tuple[float, float, str] | None:
    """Centre and facing of the first free spot by :func:`place_new_racks`' rule; None if the hall is full."""
    key = (hall.name, w, d)
    j, x_west = cursors.get(key, (0, margin))
    east_limit = hall.width_m - margin + 1e-9
    south_limit = hall.depth_m - margin + 1e-9
    while True:
        y = round(margin + d / 2 + j * (d + aisle), 3)
        if y + d / 2 > south_limit:
            cursors[key] = (j, x_west)
            return None
        x = _mm_up(x_west + w / 2)
        while x + w / 2 <= east_limit:
            hits = index.query((x - w / 2, y - d / 2, x + w / 2, y + d / 2))
            if not hits:
                cursors[key] = (j, x + w / 2)
                return x, y, ("S" if j % 2 == 0 else "N")
            # every hit blocks [x_west, its east edge): jump past the farthest one
            x = _mm_up(max(index.boxes[k][2] for k in hits) + w / 2)
        j, x_west = j + 1, margin


# ---------------------------------------------------------------------------------- aisles


@dataclass(frozen=True)
class AislePartners:
    """Per rack (by index in the list given): the partner across each aisle, or -1.

    cold : int  The rack whose front faces this rack's front across the cold aisle
    hot : int  The rack whose back faces this rack's back across the hot aisle
    """

    cold: tuple[int, ...]
    hot: tuple[int, ...]


def aisle_partners(racks: Sequence[Rack], max_gap_m: float = AISLE_PARTNER_MAX_M) -> AislePartners:
    """Which racks face each other across a cold aisle and back onto each other across a hot one.

    Rack j is rack i's hot-aisle partner when it stands behind i (centre distance along i's facing
    between 0 and ``max_gap_m``), roughly in line (lateral offset under half i's width), in the same
    hall, facing the opposite way; the nearest such rack wins. Cold-aisle partners are the same in
    front. Racks are filed in strips along their facing and found by bisection: n racks cost
    O(n log n).
    """
    cold, hot = _nearest_in_line(racks, max_gap_m, same_facing=False)
    return AislePartners(tuple(cold), tuple(hot))


def _nearest_in_line(racks: Sequence[Rack], max_gap_m: float, same_facing: bool) -> tuple[list[int], list[int]]:
    """Per rack, the nearest rack in front of it and behind it (index, or -1).

    Only racks of the same hall count that stand in line (lateral offset under half the rack's
    width, centre distance along its facing under ``max_gap_m``) and face the opposite way
    (``same_facing=False``: aisle partners) or the same way (``True``: one's exhaust blows at the
    other's inlet).
    """
    n = len(racks)
    ahead_of, behind = [-1] * n, [-1] * n
    if n == 0 or not max_gap_m > 0:
        return ahead_of, behind
    # racks beyond the sanity bounds (a typo, refused by the plan reader) stand in line with nothing
    placed = [i for i, r in enumerate(racks)
              if abs(r.x_m) <= FLOOR_COORD_MAX_M and abs(r.y_m) <= FLOOR_COORD_MAX_M
              and 0 < r.width_m <= RACK_SIDE_MAX_M and r.orientation in _OPPOSITE]
    # racks filed by hall, facing and a strip across the facing one rack wide, sorted along the
    # facing: a rack's candidates lie in the one or two strips its width spans, found by bisection
    cell = max((racks[i].width_m for i in placed), default=1.0)
    strips: dict[tuple[str, str, int], list[tuple[float, int, float]]] = defaultdict(list)
    for j in placed:
        r = racks[j]
        lat, along = (r.x_m, r.y_m) if r.orientation in ("N", "S") else (r.y_m, r.x_m)
        strips[(r.hall, r.orientation, math.floor(lat / cell))].append((along, j, lat))
    keys = {}
    for k, entries in strips.items():
        entries.sort()
        keys[k] = [e[0] for e in entries]
    for i in placed:
        r = racks[i]
        vertical = r.orientation in ("N", "S")
        lat_i, along_i = (r.x_m, r.y_m) if vertical else (r.y_m, r.x_m)
        fx, fy = r.front_vector()
        sign = fy if vertical else fx  # +1: "ahead" is towards larger along
        want = r.orientation if same_facing else _OPPOSITE[r.orientation]
        half = 0.5 * r.width_m
        best = {1: (math.inf, n), -1: (math.inf, n)}  # +1: in front, -1: behind
        for c in range(math.floor((lat_i - half) / cell), math.floor((lat_i + half) / cell) + 1):
            entries = strips.get((r.hall, want, c))
            if not entries:
                continue
            alongs = keys[(r.hall, want, c)]
            for step, start in ((1, bisect.bisect_right(alongs, along_i)), (-1, bisect.bisect_left(alongs, along_i) - 1)):
                side = 1 if step * sign > 0 else -1
                idx = start
                while 0 <= idx < len(entries):
                    along_j, j, lat_j = entries[idx]
                    dist = abs(along_j - along_i)
                    if dist >= max_gap_m or dist > best[side][0]:
                        break  # sorted: every later entry is farther
                    if j != i and abs(lat_j - lat_i) < half:
                        best[side] = min(best[side], (dist, j))  # nearest; a tie goes to the first rack
                    idx += step
        ahead_of[i], behind[i] = (j if j < n else -1 for _d, j in (best[1], best[-1]))
    return ahead_of, behind


def clear_gap_m(a: Rack, b: Rack) -> float:
    """Clear floor between two racks standing in line [m]: centre distance along ``a``'s facing minus
    half of each depth (negative when they overlap)."""
    fx, fy = a.front_vector()
    return abs((b.x_m - a.x_m) * fx + (b.y_m - a.y_m) * fy) - (a.depth_m + b.depth_m) / 2


def exhaust_facing(racks: Sequence[Rack], reach_m: float = EXHAUST_REACH_M) -> list[int]:
    """Per rack (index), the rack whose back (exhaust) its front (inlet) faces less than ``reach_m``
    of clear floor away, or -1: both face the same way, the other one in front, in line.

    That is the front-to-back ("classroom") layout: the inlet breathes the other rack's exhaust
    instead of cold-aisle air.
    """
    if not racks:
        return []
    deepest = max((r.depth_m for r in racks if math.isfinite(r.depth_m)), default=0.0)
    ahead, _behind = _nearest_in_line(racks, reach_m + deepest + OVERLAP_EPS_M, same_facing=True)
    return [j if j >= 0 and clear_gap_m(racks[i], racks[j]) < reach_m else -1 for i, j in enumerate(ahead)]


@dataclass(frozen=True)
class RowAisle:
    """The aisle strips of one row of racks (same row name and facing).

    row : str  Row name ("" for a rack without a row: it is a row of its own)
    orientation : str  Facing of the row's racks
    cold, hot : Box  Strip in front of the row (cold aisle) and behind it (hot aisle) [m]
    extent : Box  The row's racks' bounding box [m]
    """

    row: str
    orientation: str
    cold: Box
    hot: Box
    extent: Box


def row_aisles(racks: Iterable[Rack], depth_m: float = PLACEMENT_AISLE_M) -> list[RowAisle]:
    """Per row (row name and facing), the ``depth_m`` deep strip in front (cold) and behind (hot)."""
    rows: dict[tuple[str, str, str], list[Box]] = {}
    for r in racks:
        if r.orientation in ("N", "E", "S", "W"):
            rows.setdefault((r.row, r.row or r.name, r.orientation), []).append(r.footprint())
    out = []
    d = depth_m
    for (row, _key, o), fps in rows.items():
        x0, y0 = min(f[0] for f in fps), min(f[1] for f in fps)
        x1, y1 = max(f[2] for f in fps), max(f[3] for f in fps)
        north, south = (x0, y0 - d, x1, y0), (x0, y1, x1, y1 + d)
        west, east = (x0 - d, y0, x0, y1), (x1, y0, x1 + d, y1)
        front, back = {"N": (north, south), "S": (south, north), "E": (east, west), "W": (west, east)}[o]
        out.append(RowAisle(row, o, front, back, (x0, y0, x1, y1)))
    return out


# ------------------------------------------------------------------ rows across an aisle


def aisle_widths(tile_m: float) -> tuple[float, float]:
    """Clear widths (cold aisle, hot aisle) [m] that Add Row leaves: ANSI/TIA-942's preferred widths
    (:data:`PREFERRED_COLD_AISLE_M`, :data:`PREFERRED_HOT_AISLE_M`) rounded up to whole tiles of
    pitch ``tile_m`` [m], the cold aisle at least two tiles. 0.6 m tiles: 1.2 m and 1.2 m;
    2 ft (0.6096 m) tiles: 1.2192 m (4 ft) and 1.2192 m."""
    if not tile_m > 0:
        return PREFERRED_COLD_AISLE_M, PREFERRED_HOT_AISLE_M

    def tiles(width: float) -> float:
        return math.ceil(width / tile_m - 1e-9) * tile_m

    return round(max(tiles(PREFERRED_COLD_AISLE_M), 2 * tile_m), 6), round(tiles(PREFERRED_HOT_AISLE_M), 6)


@dataclass(frozen=True)
class RowPlacement:
    """Where :func:`row_across_aisle` puts a new row.

    racks : list[Rack]  The new racks at their positions
    neighbour : str  Row name of the row it faces or backs onto
    aisle : str  ``"cold"`` (fronts face each other) or ``"hot"`` (backs face each other)
    aisle_m : float  Clear width of that aisle [m]
    """

    racks: list
    neighbour: str
    aisle: str
    aisle_m: float


def row_across_aisle(plan: Plan, hall: Hall, proto: Rack, names: Sequence[str], *,
                     near: tuple[float, float] | None = None, orientation: str | None = None,
                     neighbour_row: str | None = None, indexes: dict[str, FootprintIndex] | None = None
                     ) -> RowPlacement | None:
    """A row of ``len(names)`` racks like ``proto``, side by side, across an aisle from an existing row.

    The hot-aisle/cold-aisle pattern: rows alternate their facing, so the new row faces the opposite
    way of its neighbour and stands either in front of it (the fronts face each other across a cold
    aisle) or behind it (backs to backs across a hot aisle), :func:`aisle_widths` of clear floor
    away. The cold side is tried first, so a lone row gets its partner across a cold aisle, and a
    pair of rows grows by a row behind one of them. Neighbours are tried in this order: the row
    named ``neighbour_row`` (the selection's), then rows by distance from ``near`` [m]. Along the
    aisle the new row starts where the neighbour starts, else ends where it ends, else is pushed
    inside the walls. ``orientation`` (N/E/S/W) asks for a facing: only rows facing the other way
    are then neighbours. None when no row has room on either side: the caller places the row on
    free floor instead.
    """
    count = len(names)
    if count < 1:
        return None
    mine = [r for r in plan.racks if r.hall == hall.name]
    rows = [a for a in row_aisles(mine) if orientation is None or _OPPOSITE[a.orientation] == orientation]
    if not rows:
        return None

    def distance(a: RowAisle) -> float:
        if near is None:
            return 0.0
        x0, y0, x1, y1 = a.extent
        return math.hypot(max(x0 - near[0], 0.0, near[0] - x1), max(y0 - near[1], 0.0, near[1] - y1))

    rows.sort(key=lambda a: (a.row != neighbour_row or not neighbour_row, distance(a)))
    cold_m, hot_m = aisle_widths(hall.tile_m)
    for a in rows:
        facing = _OPPOSITE[a.orientation]
        fx, fy = Rack("", orientation=a.orientation).front_vector()
        for aisle, gap in (("cold", cold_m), ("hot", hot_m)):
            direction = 1 if aisle == "cold" else -1  # the new row stands on this side of the neighbour
            for racks in _row_candidates(a, facing, (fx * direction, fy * direction), gap, proto, names, hall):
                if not placement_conflicts(plan, racks, indexes=indexes):
                    return RowPlacement(racks, a.row, aisle, gap)
    return None


def _row_candidates(a: RowAisle, facing: str, side: tuple[float, float], gap: float, proto: Rack,
                    names: Sequence[str], hall: Hall):
    """New rows facing ``facing`` beside row ``a`` on ``side`` (unit vector), ``gap`` [m] away."""
    x0, y0, x1, y1 = a.extent
    along_x = facing in ("N", "S")
    w = proto.width_m  # along the row
    d = proto.depth_m  # across it
    length = w * len(names)
    if along_x:
        across = y1 + gap if side[1] > 0 else y0 - gap - d
        lo, hi, limit = x0, x1, hall.width_m
    else:
        across = x1 + gap if side[0] > 0 else x0 - gap - d
        lo, hi, limit = y0, y1, hall.depth_m
    starts = [lo, hi - length, min(max(lo, 0.0), max(limit - length, 0.0))]
    for start in dict.fromkeys(round(s, 6) for s in starts):
        racks = []
        for i, name in enumerate(names):
            c_along, c_across = start + w / 2 + i * w, across + d / 2
            x, y = (c_along, c_across) if along_x else (c_across, c_along)
            racks.append(replace(proto, name=name, orientation=facing, x_m=round(x, 6), y_m=round(y, 6)))
        yield racks
