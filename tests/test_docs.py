"""Every physics note the code cites resolves inside the repository (issue 13, point 8).

Source files cite ``physics.md`` (the project's physics reference, ``docs/physics.md``), some with a
section: ``physics.md, "Energy and cost"``. Each cited section must be the start of a heading there,
and no source file may point outside the project for it (``/work/shared/...``).
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHYSICS = ROOT / "docs" / "physics.md"
CITED_SECTION = re.compile(r'physics\.md[,:]?\s*(?:§\s*|")([^"\n]+?)"')
PACKAGES = ("planner", "models", "ui")


def _citations() -> list[tuple[str, int, str]]:
    """(file, line, text after 'physics.md') of every citation in the source."""
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "physics.md" in line:
                    out.append((str(path.relative_to(ROOT)), n, line))
    return out


def _headings() -> list[str]:
    return [line.lstrip("#").strip() for line in PHYSICS.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")]


def test_the_physics_reference_is_in_the_repository_and_cited():
    cites = _citations()
    assert PHYSICS.is_file()
    assert len({f for f, _n, _l in cites}) >= 9  # the issue counted nine citing files
    outside = [f"{f}:{n}" for f, n, line in cites if "/work/" in line or "shared/design" in line]
    assert not outside, outside


def _missing_sections(citations, headings) -> list[str]:
    """Cited sections that start no heading, as ``file:line: 'section'``."""
    missing = []
    for f, n, line in citations:
        for section in CITED_SECTION.findall(line):
            if not any(h.startswith(section.strip()) for h in headings):
                missing.append(f"{f}:{n}: {section!r}")
    return missing


def test_every_cited_section_is_a_heading_of_docs_physics_md():
    headings = _headings()
    missing = _missing_sections(_citations(), headings)
    assert not missing, f"cited sections not in docs/physics.md: {missing}; headings: {headings}"


def test_the_section_check_would_catch_a_bad_citation():
    fake = [("planner/x.py", 3, 'cost (physics.md, "Energy and cost"); lag (physics.md, "Pump lag of unicorns")')]
    assert _missing_sections(fake, _headings()) == ["planner/x.py:3: 'Pump lag of unicorns'"]
