"""Bring a plan file of an older schema version up to ``SCHEMA_VERSION`` — in memory.

Opening never writes to the user's file, so an old file is copied into an in-memory SQLite
database (``sqlite3.Connection.backup``) and migrated there, one version step at a time; the
file itself is upgraded only when the user saves (``models.store.save_plan`` always writes the
current schema). Each step is frozen SQL: it describes the schema as it was at that version, so a
later change to ``models.tables`` never changes what an old step does.

Add a step for every ``SCHEMA_VERSION`` bump: ``STEPS[v]`` takes a version-``v`` database to
``v + 1``. ``tests/test_store.py`` opens a committed file of every older version.
"""
from __future__ import annotations

import sqlite3

#: ``STEPS[v]``: SQL statements that take a version-``v`` plan to version ``v + 1``.
STEPS: dict[int, tuple[str, ...]] = {
    # 1 -> 2: a job's fixed placement (server, GPUs) for schedules saved by `dcplan schedule --save`
    1: (
        """CREATE TABLE job_placement (
            id INTEGER NOT NULL,
            job_id INTEGER NOT NULL,
            server_id INTEGER NOT NULL,
            gpus INTEGER NOT NULL,
            PRIMARY KEY (id),
            FOREIGN KEY(job_id) REFERENCES job (id) ON DELETE CASCADE,
            FOREIGN KEY(server_id) REFERENCES server (id) ON DELETE CASCADE
        )""",
        "CREATE INDEX ix_job_placement_job_id ON job_placement (job_id)",
    ),
    # 2 -> 3: a tariff's on-peak demand window and off-peak demand charge; the defaults (every hour of
    # every day, no off-peak charge) are what a schema-2 tariff meant: one charge on the peak at any hour
    2: (
        "ALTER TABLE scenario ADD COLUMN demand_window_start_h INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE scenario ADD COLUMN demand_window_end_h INTEGER NOT NULL DEFAULT 24",
        "ALTER TABLE scenario ADD COLUMN demand_window_weekdays_only BOOLEAN NOT NULL DEFAULT 0",
        "ALTER TABLE scenario ADD COLUMN demand_window_months_json VARCHAR NOT NULL DEFAULT '[]'",
        "ALTER TABLE scenario ADD COLUMN off_peak_demand_charge_usd_per_kw FLOAT NOT NULL DEFAULT 0",
    ),
}


def migrated_copy(source: sqlite3.Connection, version: int, target_version: int) -> sqlite3.Connection:
    """An in-memory copy of ``source`` (a plan of schema ``version``) migrated to ``target_version``.

    The source connection is only read. Raises ``KeyError`` for a version without a step (a bug:
    every bump must add one).
    """
    mem = sqlite3.connect(":memory:", check_same_thread=False)
    source.backup(mem)
    mem.execute("PRAGMA foreign_keys=ON")
    for v in range(version, target_version):
        for statement in STEPS[v]:
            mem.execute(statement)
        mem.execute(f"PRAGMA user_version={v + 1}")
    mem.commit()
    return mem
