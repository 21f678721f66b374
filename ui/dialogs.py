"""Small dialogs (shown only through ``ui.messages`` so tests can bypass them)."""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QSpinBox

from planner.plan import ORIENTATIONS

ORIENTATION_TEXT = {"N": "North (up)", "E": "East (right)", "S": "South (down)", "W": "West (left)"}


#: The "Fronts face" choice that lets the hot/cold aisle pattern decide.
AUTOMATIC = "Automatic: across an aisle from the nearest row"
NO_FEED = "(none: pick later)"


class AddRowDialog(QDialog):
    """Count, facing (automatic: the hot/cold aisle pattern), row name and feeds A/B of a new row.

    ``defaults``: ``count``, ``orientation`` (None: automatic), ``row``, ``feeds`` (names of the plan's
    power feeds, for the pickers; new racks get no feed unless one is picked).
    """

    def __init__(self, parent, defaults: dict) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a row of racks")
        form = QFormLayout(self)
        self.count = QSpinBox()
        self.count.setRange(1, 200)
        self.count.setValue(int(defaults.get("count", 10)))
        self.count.setSuffix(" racks")
        self.orientation = QComboBox()
        self.orientation.setObjectName("rowOrientation")
        self.orientation.addItem(AUTOMATIC, None)
        for o in ORIENTATIONS:
            self.orientation.addItem(ORIENTATION_TEXT[o], o)
        self.orientation.setCurrentIndex(max(0, self.orientation.findData(defaults.get("orientation"))))
        self.orientation.setToolTip("Automatic faces the new row the other way from its neighbour: fronts to fronts "
                                    "across a cold aisle, or backs to backs across a hot aisle")
        self.row = QLineEdit(defaults.get("row", ""))
        self.feed_a, self.feed_b = QComboBox(), QComboBox()
        for combo, name in ((self.feed_a, "rowFeedA"), (self.feed_b, "rowFeedB")):
            combo.setObjectName(name)
            combo.addItem(NO_FEED, None)
            for f in defaults.get("feeds", ()):
                combo.addItem(f, f)
        form.addRow("Number of racks", self.count)
        form.addRow("Fronts face", self.orientation)
        form.addRow("Row name", self.row)
        form.addRow("Feed A", self.feed_a)
        form.addRow("Feed B", self.feed_b)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        return {"count": self.count.value(), "orientation": self.orientation.currentData(),
                "row": self.row.text().strip() or None, "feeds": (self.feed_a.currentData(), self.feed_b.currentData())}
