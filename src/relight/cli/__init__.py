"""The command-line shell. It drives :mod:`relight.engine` and renders results; nothing more."""
