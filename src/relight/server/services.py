"""What every request handler uses, built once by :class:`relight.server.server.Server`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from starlette.requests import Request

from relight.providers.registry import ProviderRegistry
from relight.server.accounts import Accounts
from relight.server.actions import Actions
from relight.server.auth import Auth
from relight.server.config import ServerConfig
from relight.server.github import GitHubClient
from relight.server.metrics import Metrics
from relight.server.queue import RunQueue
from relight.server.sqlstate import SqlStateBackend
from relight.server.store import Store

__all__ = ["Services", "remote_of", "workspace_backend"]


@dataclass
class Services:
    config: ServerConfig
    store: Store
    accounts: Accounts
    queue: RunQueue
    actions: Actions
    auth: Auth
    github: GitHubClient | None
    log: Callable[[str], None]
    metrics: Metrics
    registry: ProviderRegistry = field(default_factory=ProviderRegistry)
    env: Mapping[str, str] = field(default_factory=dict)
    ready: Callable[[], str | None] = lambda: None  # why the server is not ready, or None


def remote_of(request: Request) -> str:
    """Where a request came from (the peer address; proxy headers are not trusted)."""
    return request.client.host if request.client is not None else "unknown"


def workspace_backend(svc: Services, name: str) -> SqlStateBackend | None:
    """The state backend of workspace ``name``; None when there is no such workspace."""
    ws_id = svc.store.workspace_id(name)
    return SqlStateBackend(svc.store.db, ws_id, name) if ws_id is not None else None
