"""Imports deferred to first use: a package's names, and functions imported at their call.

A command's start-up is its imports: every module the CLI pulls in before it
can send its first request, or print `--version`, is time the user waits for.
Packages whose public names come from modules of very different weights
(`client/`: httpx and asyncio; `manifest/`: PyYAML and pydantic) export them
through `exports`, a module `__getattr__` (PEP 562) that imports only the
module a name comes from, on first access: `from inkbox_sync.manifest import
version_problems` does not import pydantic. `on_call` goes one step further
for the entry points that are imported long before they run (the manifest
loaders: plan and apply start their API reads first).

Type checkers see the real imports (each package imports its names under
`TYPE_CHECKING` and sets `__getattr__` only when not type checking), so a
misspelt name stays an error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["exports", "on_call"]


def exports(package: str, modules: Mapping[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """The `__getattr__` of `package`: each name of `modules[m]` comes from module `m`
    (`.name`: a submodule of `package`, as `importlib.import_module` reads it),
    imported when the name is first asked for."""
    origin = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = origin.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # asked once: a plain attribute from now on
        return value

    return __getattr__


def on_call(module: str, name: str) -> Callable[..., Any]:
    """A stand-in for `module.name` (a function) that imports `module` only when called."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"`{module}.{name}`, imported at the first call."
    return call
