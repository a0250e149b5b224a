"""relight: immutable infrastructure with durable data.

The engine API lives in :mod:`relight.engine`; shells (the CLI) drive it and never reach inside.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
