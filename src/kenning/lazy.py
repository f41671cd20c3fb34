"""Modules loaded on first use, so that a command starts quickly (`kenning --help`)."""

from __future__ import annotations

import importlib
from types import ModuleType


class LazyModule:
    """Stands for a module; imports it when one of its names is first read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


def lazy_module(name: str) -> LazyModule:
    return LazyModule(name)
