"""What every shell (CLI, heal loop) does first: load a directory's configuration and find its state.

Kept here so the CLI and the heal loop agree on both: the same checks (syntax, references, "no
.tf files here") and the same state file (the local backend's ``path``, else relight.tfstate).
"""

from __future__ import annotations

import os

from relight.diagnostics import Diagnostics
from relight.lang import Config, FilePolicy, ParseCache, load_config, validate_references
from relight.state import DEFAULT_STATE_FILE

__all__ = ["load_checked", "state_path"]


def load_checked(
    directory: str, *, cache: ParseCache | None = None, file_policy: FilePolicy | None = None
) -> tuple[Config | None, Diagnostics]:
    """The configuration in ``directory``, with references checked; an empty directory is an error.

    ``cache`` and ``file_policy`` are passed to :func:`relight.lang.load_config`.
    """
    config, diags = load_config(directory, cache=cache, file_policy=file_policy)
    if config is not None and not diags.has_errors:
        diags.extend(validate_references(config))
    if config is not None and not config.sources and not diags.has_errors:
        where = os.path.abspath(directory)
        diags.error(
            "No configuration files",
            f"There are no .tf files in {where}. Change to a directory that has them, or use -chdir=DIR.",
        )
    return config, diags


def state_path(config: Config | None, directory: str = ".") -> str:
    """The state file of ``config``: its local backend's ``path``, else relight.tfstate."""
    path = DEFAULT_STATE_FILE
    if config is not None and config.backend is not None and config.backend.type == "local":
        configured = config.backend.config.get("path")
        if isinstance(configured, str) and configured:
            path = configured
    return os.path.join(directory, path) if directory != "." else path
