"""inkbox-sync: config-as-code for Inkbox phone numbers.

The public surface is the CLI (`inkbox-sync --help`). The library modules are
importable for tests and embedding but their API is not yet stable.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
