"""Edits of a plan as Qt-free rules: each takes the plan being edited and the user's input and
returns an :class:`Edit` (the exact element swaps and the history text) or raises
:class:`EditRefused` saying why not. The GUI's undo commands (``ui.commands``) and any script
use the same rules; :class:`EditHistory` undoes and redoes them without Qt.

Modules: :mod:`~planner.edits.core` (Edit, PlanState, EditHistory), :mod:`~planner.edits.racks`
(floor: racks, hall), :mod:`~planner.edits.servers` (U positions), :mod:`~planner.edits.plant`
(cooling units, loops, power feeds), :mod:`~planner.edits.scenarios` (site, scenarios, jobs).
"""
from planner.edits.core import (  # noqa: F401
    KINDS,
    MAX_NAME_CHARS,
    Change,
    Edit,
    EditHistory,
    EditRefused,
    NoChange,
    PlanState,
    loop_medium,
    new_plan,
    short,
)
