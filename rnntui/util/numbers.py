"""Small checks on values read from files that may hold anything (JSON, npz meta records)."""

from __future__ import annotations

from typing import Any


def is_number(value: Any) -> bool:
    """An int or float (a bool is neither here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def short_repr(value: Any) -> str:
    """A value's repr cut to 40 characters, for one-line messages."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
