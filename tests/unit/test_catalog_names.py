"""The read layer's names (kenning.catalog): each one is the function or value its module
defines, also after every module of the package has been imported (a module named like
one of the names would replace it: `catalog.search` must stay the search)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import kenning.catalog as catalog


def test_every_name_is_what_its_module_defines_whatever_was_imported_first():
    for module in pkgutil.iter_modules(catalog.__path__):
        importlib.import_module(f"kenning.catalog.{module.name}")
        assert module.name not in catalog.__all__, module.name
    for name in catalog.__all__:
        value = getattr(catalog, name)
        assert not isinstance(value, types.ModuleType), name
        assert callable(catalog.search) and callable(catalog.status)


def test_listing_people_at_the_command_line_loads_no_sqlalchemy():
    """`kenning people` reads SQLite through sqlite3 (catalog/direct.py): importing what it
    uses must not bring SQLAlchemy in."""
    code = ("import sys; from kenning.catalog import direct, people_sql; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'numpy')))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert found == "[]"
