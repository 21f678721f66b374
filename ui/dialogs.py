"""Small dialogs (shown only through ``ui.messages`` so tests can bypass them)."""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QSpinBox

from planner.plan import ORIENTATIONS

ORIENTATION_TEXT = {"N": "North (up)", "E": "East (right)", "S": "South (down)", "W": "West (left)"}


class AddRowDialog(QDialog):
    def __init__(self, parent, defaults: dict) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a row of racks")
        form = QFormLayout(self)
        self.count = QSpinBox()
        self.count.setRange(1, 200)
        self.count.setValue(int(defaults.get("count", 10)))
        self.count.setSuffix(" racks")
        self.orientation = QComboBox()
        for o in ORIENTATIONS:
            self.orientation.addItem(ORIENTATION_TEXT[o], o)
        self.orientation.setCurrentIndex(ORIENTATIONS.index(defaults.get("orientation", "N")))
        self.row = QLineEdit(defaults.get("row", ""))
        form.addRow("Number of racks", self.count)
        form.addRow("Fronts face", self.orientation)
        form.addRow("Row name", self.row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        return {"count": self.count.value(), "orientation": self.orientation.currentData(),
                "row": self.row.text().strip() or None}
