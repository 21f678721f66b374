"""NetBox slugs: valid, unique within their scope, and stable from one export to the next.

NetBox validates a slug with Django's ``validate_slug`` (``^[-a-zA-Z0-9_]+\\Z``) and stores at
most 100 characters (``SlugField(max_length=100)``); the community devicetype-library further
requires lower case (``^[-a-z0-9_]+$``, ``schema/devicetype.json``). dcplan writes lower case,
so its slugs pass both.

Stability rule: a name's slug depends only on the name and on the names that share its base
slug. Names whose base slugs collide are sorted; the first keeps the base slug, each other one
gets ``-`` and the first 6 hex digits of the SHA-1 of its name. Adding an unrelated name never
changes an existing slug.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Iterable

SLUG_RE = re.compile(r"[-a-z0-9_]+\Z")
SLUG_MAX = 100
_HASH_DIGITS = 6


def is_valid_slug(slug: str) -> bool:
    """True for a slug NetBox and the devicetype-library both accept."""
    return isinstance(slug, str) and 0 < len(slug) <= SLUG_MAX and bool(SLUG_RE.match(slug))


def _digest(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:_HASH_DIGITS]


def slugify(name: str) -> str:
    """Base slug of ``name``: ASCII lower case, runs of other characters become one ``-``.

    ``"Hall 1 / A"`` -> ``"hall-1-a"``; ``"Café"`` -> ``"cafe"``. A name with no letter or digit
    (``"=+"``) gets ``"x-"`` plus its hash, so it still has a valid, distinct slug.
    """
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9_]+", "-", ascii_.lower()).strip("-")
    if not slug:
        slug = f"x-{_digest(name)}"
    return slug[:SLUG_MAX - _HASH_DIGITS - 1].rstrip("-") or f"x-{_digest(name)}"


def unique_slugs(names: Iterable[str], base=slugify) -> dict[str, str]:
    """``{name: slug}`` with every slug valid and distinct (see the module docstring).

    base : callable  name -> candidate slug (default :func:`slugify`); an invalid candidate is
        replaced by :func:`slugify` of the name
    """
    by_base: dict[str, list[str]] = {}
    for name in dict.fromkeys(names):
        candidate = base(name)
        if not is_valid_slug(candidate) or len(candidate) > SLUG_MAX - _HASH_DIGITS - 1:
            candidate = slugify(name)
        by_base.setdefault(candidate, []).append(name)
    out: dict[str, str] = {}
    hashed: list[str] = []
    for candidate, group in by_base.items():
        group = sorted(group)
        out[group[0]] = candidate
        for name in group[1:]:
            out[name] = f"{candidate}-{_digest(name)}"
            hashed.append(name)
    # A hashed slug could equal another name's base slug (absurd, but cheap to rule out): base
    # slugs win, and a hashed one that collides is hashed again.
    taken = set(by_base)
    for name in sorted(hashed):
        slug = out[name]
        while slug in taken:
            slug = f"{slug[:SLUG_MAX - _HASH_DIGITS - 1]}-{_digest(slug)}"
        out[name] = slug
        taken.add(slug)
    return out
