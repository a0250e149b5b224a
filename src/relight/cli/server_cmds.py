"""``relight serve``, ``relight worker`` and ``relight server token create USER``: the pipeline
server's commands."""

from __future__ import annotations

import argparse
import os
import sys

from relight.diagnostics import render

__all__ = ["add_parsers", "run"]

_SERVE_HELP = """\
Runs the pull-request pipeline: GitHub webhooks at POST /webhooks/github, a plan and a commit
status for every pull request, a plan on every push to a workspace's branch that waits for
Confirm & Apply on its page, Slack notices, run logs, state versions and an audit log.
Configuration: relight-server.hcl (server, github, slack and workspace blocks). Secrets left
out of it come from RELIGHT_GITHUB_WEBHOOK_SECRET, RELIGHT_GITHUB_TOKEN,
RELIGHT_GITHUB_CLIENT_SECRET and RELIGHT_SLACK_WEBHOOK_URL."""


_WORKER_HELP = """\
Runs the pipeline server's runs (plans, applies, health checks) on this machine, taking them from
the server's PostgreSQL database (server { database = "postgresql://..." } in the same
relight-server.hcl the server reads). Start as many as you like, on any machine that reaches the
database; each workspace still runs one apply-capable run at a time, in order. A worker that
dies mid-run is noticed within a minute: its run ends errored ("worker lost") and a fresh plan
is queued. SIGTERM stops it gracefully."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` and ``server`` to the CLI's parser."""
    s = sub.add_parser("serve", help="run the pull-request pipeline server", description=_SERVE_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--config", default="relight-server.hcl", metavar="FILE",
                   help="the server's configuration (default relight-server.hcl)")
    w = sub.add_parser("worker", help="run the pipeline server's runs from its PostgreSQL database",
                       description=_WORKER_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    w.add_argument("--config", default="relight-server.hcl", metavar="FILE",
                   help="the server's configuration (default relight-server.hcl)")
    w.add_argument("--concurrency", type=int, default=1, metavar="N", help="runs at a time (default 1)")
    w.add_argument("--drain", type=float, default=30.0, metavar="SECONDS",
                   help="on SIGTERM, how long runs in flight may finish before they are stopped between actions")
    srv = sub.add_parser("server", help="manage the pipeline server (API tokens)")
    ssub = srv.add_subparsers(dest="server_command", metavar="SUBCOMMAND")
    tok = ssub.add_parser("token", help="API tokens")
    tsub = tok.add_subparsers(dest="token_command", metavar="SUBCOMMAND")
    create = tsub.add_parser("create", help="print a new API token for USER (stored hashed)",
                             description="Create a user named USER if needed and print a new API token for it. "
                             "Only a digest of the token is stored: copy it now. Use it as 'Authorization: "
                             "Bearer TOKEN' or paste it on the sign-in page. USER confirms runs in the "
                             "workspaces whose approvers list it.")
    create.add_argument("user", metavar="USER")
    create.add_argument("--config", default="relight-server.hcl", metavar="FILE",
                        help="the server's configuration (default relight-server.hcl)")


def _load(path: str, need_secrets: bool) -> object | None:
    from relight.server.config import load_server_config

    config, diags, sources = load_server_config(path, dict(os.environ), need_secrets=need_secrets)
    if diags:
        print(render(diags, sources), file=sys.stderr)
    return config


def run(args: argparse.Namespace) -> int:
    """Run ``serve`` or ``server token create``; user mistakes print diagnostics and return 1."""
    try:
        from relight.server.config import ServerConfig
    except ImportError as exc:
        print(f"Error: the server needs its extra dependencies: pip install 'relight[server]' ({exc.name})",
              file=sys.stderr)
        return 1
    from relight.errors import RelightError

    if args.command == "worker" and not 1 <= args.concurrency <= 64:
        print("Error: -concurrency must be from 1 to 64", file=sys.stderr)
        return 1
    if args.command == "server" and getattr(args, "token_command", None) != "create":
        print("usage: relight server token create USER [-config=FILE]", file=sys.stderr)
        return 1
    config = _load(args.config, need_secrets=args.command == "serve")
    if not isinstance(config, ServerConfig):
        return 1
    try:
        if args.command == "worker":
            return _worker(config, args.concurrency, args.drain)
        return _serve(config) if args.command == "serve" else _token(config, args.user)
    except RelightError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1


def _token(config: object, user: str) -> int:
    import re

    from relight.server.accounts import Accounts
    from relight.server.config import ServerConfig
    from relight.server.db import Database

    assert isinstance(config, ServerConfig)
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})", user):
        print(f"Error: {user!r} is not a GitHub-style login (letters, digits and '-', at most 39)", file=sys.stderr)
        return 1
    os.makedirs(config.server.data_dir, mode=0o700, exist_ok=True)
    db = Database(config.server.database_url)
    try:
        db.migrate()
        token = Accounts(db).create_token(user)
    finally:
        db.dispose()
    print(token)
    print(f"(a new API token for {user}; it is not shown again)", file=sys.stderr)
    return 0


def _serve(config: object) -> int:
    from relight.server.config import ServerConfig
    from relight.server.server import Server

    assert isinstance(config, ServerConfig)
    server = Server(config, dict(os.environ))
    s = config.server
    print(f"relight serve: listening on {s.listen_host}:{s.listen_port}, pages at {s.public_url}/", flush=True)
    print(f"  GitHub webhook: {s.public_url}/webhooks/github (content type application/json, events: pull "
          "requests and pushes)", flush=True)
    print(f"  workspaces: {', '.join(config.workspaces) or 'none'}; data in "
          f"{'PostgreSQL' if s.database else s.data_dir}", flush=True)
    server.serve()
    return 0


def _worker(config: object, concurrency: int, drain: float) -> int:
    from relight.server.config import ServerConfig
    from relight.server.worker import Worker

    assert isinstance(config, ServerConfig)
    worker = Worker(config, dict(os.environ), concurrency=concurrency, drain=drain)
    print(f"relight worker: {concurrency} run(s) at a time from {config.server.database_url.split('@')[-1]}; "
          f"workspaces: {', '.join(config.workspaces) or 'none'}", flush=True)
    worker.run()
    return 0
