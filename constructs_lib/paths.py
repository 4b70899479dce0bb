"""Where things are: the one path helper every layer uses."""

from __future__ import annotations

from pathlib import Path

# The checkout this package was installed from (the folder holding app.py).
ROOT = Path(__file__).resolve().parent.parent


def display(path: Path, base: Path | None = None) -> str:
    """`path` relative to `base` (default: the current directory) when it is inside it, for
    messages; otherwise as given."""
    try:
        return str(path.resolve().relative_to(base or Path.cwd()))
    except ValueError:
        return str(path)
