"""Exports of a run: each plot as PNG and SVG, the time series as CSV, a PDF report.

Every file goes through :mod:`planner.outputs` (``write_output`` / ``atomic_output``): written
whole or not at all, never over a plan or an input. Images are rendered to memory first
(pyqtgraph exporters ``toBytes``); the report is printed by Qt itself (``QPdfWriter`` into a
buffer, ``QTextDocument`` paginating it): the answers, the floor heat map at the worst instant
(the hottest GPU's minute) and every plot. No new dependency.
"""
from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

import pyqtgraph.exporters as pgx

from planner.outputs import write_output

PNG_WIDTH_PX = 1400


def _png_bytes(img: QImage) -> bytes:
    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    buf.close()
    return bytes(ba)


def plot_image(item, width: int = PNG_WIDTH_PX) -> QImage:
    ex = pgx.ImageExporter(item)
    ex.parameters()["width"] = width
    return ex.export(toBytes=True)


def plot_svg(item) -> bytes:
    data = pgx.SVGExporter(item).export(toBytes=True)
    return data if isinstance(data, bytes) else bytes(data)


def protect_list(win) -> list:
    out = [win.doc.path] if win.doc.path else []
    sc = win.analysis.scenario()
    if sc is not None and sc.weather_file:
        out.append(sc.weather_file)
    return out


def export_plot(win, key: str, path) -> Path:
    """Panel ``key`` of the time series to ``path`` (``.png`` or ``.svg`` by its suffix)."""
    item = win.analysis.results.plots.plots[key]
    path = Path(path)
    data = plot_svg(item) if path.suffix.lower() == ".svg" else _png_bytes(plot_image(item))
    write_output(path, data, protect=protect_list(win))
    return path


def export_all_plots(win, folder) -> list[Path]:
    """Every panel as ``<panel>.png`` and ``<panel>.svg`` in ``folder``."""
    folder = Path(folder)
    out = []
    for key in win.analysis.results.plots.plots:
        for ext in ("png", "svg"):
            out.append(export_plot(win, key, folder / f"{key}.{ext}"))
    return out


def export_timeseries_csv(win, path) -> Path:
    """The current run's minute series (``SimulationResult.write_timeseries_csv``)."""
    out = win.analysis.store.current
    out.result.write_timeseries_csv(path, protect=protect_list(win))
    return Path(path)


def heat_map_image(win, width: int = 1400) -> QImage:
    """The floor coloured by hottest GPU at the worst instant (the hottest GPU's minute)."""
    a = win.analysis
    sc = a.scrubber
    out = a.store.current
    old_mode, old_index, old_q = win.scene.color_mode, sc.index(), sc.quantity
    try:
        if sc.rs is not None:
            sc.set_quantity("gpu")
            t = out.answers["hottest_gpu"].get("time_s")
            if t is not None:
                import numpy as np
                sc.set_index(int(np.clip(np.searchsorted(sc.rs.time_s, t, side="right") - 1, 0, len(sc.rs.time_s) - 1)))
        win.scene.set_color_mode("temperature")
        win.scene._rebuild_layer()
        src = win.scene.hall_rect().adjusted(-1.5, -1.5, 1.5, 1.5)
        h = int(width * src.height() / max(src.width(), 1e-6))
        img = QImage(width, max(h, 1), QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.white)
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        win.scene.render(p, QRectF(0, 0, width, h), src)
        p.end()
        return img
    finally:
        sc.set_quantity(old_q)
        sc.set_index(old_index)
        win.scene.set_color_mode(old_mode)


def report_html(win, images: dict[str, str], heat_size=(1, 1)) -> str:
    from ui.answers_panel import answers_html

    a = win.analysis
    out = a.store.current
    plan = win.doc.plan
    title = html.escape(out.title())
    stale = "<p style='color:#b42318'><b>Out of date:</b> the plan changed after this run.</p>" if a.store.stale else ""
    parts = [f"<h2>dcplan report — {html.escape(plan.site.name)}</h2>",
             f"<p>{html.escape(win.doc.display_name())}, {len(plan.racks)} racks, {len(plan.servers)} servers; "
             f"run: {title}; printed {datetime.now():%Y-%m-%d %H:%M}</p>", stale,
             "<h3>Answers</h3>", answers_html(out.answers).replace('<a href', '<span data-href').replace('</a>', '</span>')]
    hot = out.answers["hottest_gpu"]
    if "heatmap" in images:
        when = hot.get("time") or ""
        parts.append(f"<h3>Floor at the worst instant ({html.escape(when.replace('T', ' '))} local): hottest GPU per rack</h3>")
        sc = a.scrubber
        parts.append(f"<p>Colour scale {html.escape(sc.bar.label(sc.lo))} (blue) to {html.escape(sc.bar.label(sc.hi))} "
                     f"(red); {html.escape(sc.resolution.text())}.</p>")
        w, h = heat_size
        parts.append(f"<p align='center'><img src='{images['heatmap']}' width='{min(960, int(760 * w / max(h, 1)))}'></p>")
    parts.append("<h3>Time series (local site time)</h3>")
    for key, url in images.items():
        if key != "heatmap":
            parts.append(f"<p align='center'><img src='{url}' width='980'></p>")
    return "\n".join(parts)


def write_report(win, path) -> int:
    """The PDF report to ``path``; returns its number of pages."""
    from PySide6.QtWidgets import QApplication

    a = win.analysis
    doc = QTextDocument()
    font = doc.defaultFont()
    font.setPixelSize(19)  # ≈ 9 pt on the 150 dpi page
    doc.setDefaultFont(font)
    images = {}
    heat_size = (1, 1)
    if a.scrubber.rs is not None:
        images["heatmap"] = "img://heatmap"
        heat = heat_map_image(win)
        heat_size = (heat.width(), heat.height())
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(images["heatmap"]), heat)
    for key, item in a.results.plots.plots.items():
        url = f"img://{key}"
        images[key] = url
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), plot_image(item, 1280))
    QApplication.processEvents()
    doc.setHtml(report_html(win, images, heat_size))
    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    pdf = QPdfWriter(buf)
    pdf.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                  QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
    pdf.setResolution(150)
    pdf.setTitle(f"dcplan report — {win.doc.plan.site.name}")
    pdf.setCreator("dcplan")
    layout = pdf.pageLayout().paintRectPixels(pdf.resolution())
    doc.setPageSize(QSizeF(layout.width(), layout.height()))
    pages = doc.pageCount()
    doc.print_(pdf)
    buf.close()
    write_output(path, bytes(ba), protect=protect_list(win))
    return pages
