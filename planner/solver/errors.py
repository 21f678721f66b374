"""The solver's one error type."""
from __future__ import annotations


class SolverInputError(ValueError):
    """Bad input to the solver: names the object and field, says what is wrong and what is allowed.

    Raised instead of letting NaNs, negative powers, missing weather rows or unstable steps turn
    into a traceback (or, worse, into a plausible-looking wrong answer).
    """
