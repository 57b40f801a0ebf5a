"""Optional features and the pip extra each needs: one place for the one-line hint."""

from __future__ import annotations

import importlib.util

# importable module -> rnntui extra
EXTRAS = {
    "tensorboard": "tensorboard",
    "ray": "ray",
    "textual_serve": "serve",
    "pyarrow": "parquet",
}


def missing_extra(module: str) -> str:
    """Why an optional feature cannot work ("" when its package is installed)."""
    if importlib.util.find_spec(module) is not None:
        return ""
    return f"needs the {module} package: pip install 'rnntui[{EXTRAS.get(module, module)}]'"
