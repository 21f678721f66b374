"""Plan persistence: sqlmodel tables in one SQLite file per plan, and conversion to ``planner.plan``."""
