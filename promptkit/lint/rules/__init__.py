"""Built-in rules, one module per family. Importing this package registers them all:
every submodule is imported, so adding a rule file needs no edit here."""

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
