"""Scheduler exceptions."""
from __future__ import annotations


class ScheduleInputError(ValueError):
    """Bad scheduler input (jobs, slot, plan); the message names what and why, for the user."""


class ScheduleCancelled(Exception):
    """The caller's ``cancel()`` returned True; nothing was changed."""
