"""``relight-server.hcl``: the server's configuration, parsed raw -> valid.

::

    server {
      listen     = "127.0.0.1:8080"
      public_url = "http://127.0.0.1:8080"   # used in links (statuses, Slack)
      data_dir   = ".relight-server"         # SQLite database, checkouts, logs
      database   = ""                        # "" = SQLite in data_dir; or a postgresql:// URL
      workers    = 2                         # runs at a time in this process (0: serve only,
                                             # with PostgreSQL and `relight worker` processes)
    }
    github {
      api_url        = "https://api.github.com"   # GitHub Enterprise: https://HOST/api/v3
      webhook_secret = "..."                      # required
      token          = "..."                      # or app_id + private_key_file (GitHub App)
      client_id      = "..."                      # optional: "Sign in with GitHub" (OAuth app)
      client_secret  = "..."
      pr_comments    = true                       # one plan comment per pull request
    }
    slack { webhook_url = "..." }
    workspace "ghe" {
      repo       = "acme/infra"
      dir        = "github-enterprise"
      branch     = "main"
      approvers  = ["alice"]
      auto_apply = false
      health_check = "5m"                    # a heal pass this often ("" or absent: never)
      images     = ["images/ghe"]   # Packer templates of the images it runs (built on PRs)
      channel    = "production"     # the channel a merge promotes their new images to
    }

Stage one parses the file with the Terraform-language parser and evaluates each argument as a
constant (so errors carry file:line like ``.tf`` files); stage two checks every key, type and
value against the schema below and builds frozen settings. Every problem is a diagnostic:
unknown blocks and arguments are errors (nothing written is silently ignored). Secrets left out
of the file come from ``RELIGHT_GITHUB_WEBHOOK_SECRET``, ``RELIGHT_GITHUB_TOKEN``,
``RELIGHT_GITHUB_CLIENT_SECRET`` and ``RELIGHT_SLACK_WEBHOOK_URL`` in the environment mapping the
caller passes in; a missing webhook secret is an error (verification is never turned off).
"""

from __future__ import annotations

import difflib
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relight.channel_names import channel_problem
from relight.diagnostics import Diagnostics, SourcePos, SourceRange
from relight.durations import parse_duration
from relight.lang import Scope, parse_body
from relight.lang.body import Body
from relight.runs import url_problem

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "GitHubApp",
    "GitHubSettings",
    "ServerConfig",
    "ServerSettings",
    "SlackSettings",
    "WorkspaceSettings",
    "load_server_config",
    "parse_server_config",
]

DEFAULT_CONFIG_FILE = "relight-server.hcl"

ENV_WEBHOOK_SECRET = "RELIGHT_GITHUB_WEBHOOK_SECRET"
ENV_TOKEN = "RELIGHT_GITHUB_TOKEN"
ENV_CLIENT_SECRET = "RELIGHT_GITHUB_CLIENT_SECRET"
ENV_SLACK = "RELIGHT_SLACK_WEBHOOK_URL"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    data_dir: str = ".relight-server"  # absolute after loading
    database: str = ""  # "" = SQLite in data_dir
    workers: int = 2  # runs executed at a time by this process; 0: it only serves (PostgreSQL)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: the configured PostgreSQL one, else SQLite in ``data_dir``."""
        if self.database:
            return _sqlalchemy_url(self.database)
        return "sqlite:///" + os.path.join(self.data_dir, "relight.db")


@dataclass(frozen=True, slots=True)
class GitHubApp:
    app_id: str
    private_key: str = field(repr=False)
    private_key_file: str


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    api_url: str = "https://api.github.com"
    webhook_secret: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    app: GitHubApp | None = None
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    pr_comments: bool = True

    @property
    def web_url(self) -> str:
        """Where people sign in: github.com for api.github.com, else the API host's root."""
        parts = urllib.parse.urlsplit(self.api_url)
        if parts.hostname in ("api.github.com", "github.com"):
            return "https://github.com"
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True, slots=True)
class SlackSettings:
    webhook_url: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    name: str
    repo: str
    dir: str = ""
    branch: str = "main"
    approvers: tuple[str, ...] = ()
    auto_apply: bool = False
    health_check: float | None = None  # seconds between heal passes; None: no health checks
    images: tuple[str, ...] = ()  # template directories (repository-relative) of its images
    channel: str = "production"  # where a merge promotes them

    def image_dir_of(self, path: str) -> str | None:
        """The image directory a changed file at ``path`` is in, if any."""
        return next((d for d in self.images if path == d or path.startswith(d + "/")), None)

    def touches(self, path: str) -> bool:
        """True when a changed file at ``path`` (repository-relative) is inside ``dir``."""
        inside = not self.dir or path == self.dir or path.startswith(self.dir + "/")
        return inside or self.image_dir_of(path) is not None

    def may_confirm(self, login: str) -> bool:
        """GitHub logins compare case-insensitively, as GitHub does."""
        return login.lower() in {a.lower() for a in self.approvers}


@dataclass(frozen=True, slots=True)
class ServerConfig:
    path: str
    server: ServerSettings
    github: GitHubSettings
    slack: SlackSettings
    workspaces: Mapping[str, WorkspaceSettings]

    def workspaces_for(self, repo: str) -> list[WorkspaceSettings]:
        """Workspaces whose ``repo`` is ``repo`` (owner/name, compared case-insensitively)."""
        return [w for w in self.workspaces.values() if w.repo.lower() == repo.lower()]


# -- stage one: raw --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RawValue:
    value: Any
    range: SourceRange


@dataclass(frozen=True, slots=True)
class _RawBlock:
    type: str
    labels: tuple[str, ...]
    range: SourceRange
    values: Mapping[str, _RawValue]


def _raw_blocks(body: Body, base_dir: str, diags: Diagnostics) -> list[_RawBlock]:
    """Every top-level block with its arguments evaluated as constants; stray items are errors."""
    for attr in body.attributes.values():
        diags.error(
            "Unsupported argument",
            f'An argument named "{attr.name}" is not expected at the top level. Arguments belong '
            f"inside a server, github, slack or workspace block.",
            attr.range,
        )
    scope = Scope(path_module=base_dir, path_root=base_dir, path_cwd=base_dir)
    out: list[_RawBlock] = []
    for block in body.blocks:
        for inner in block.body.blocks:
            diags.error(
                "Unsupported block type",
                f'Blocks of type "{inner.type}" are not expected inside a {block.type} block.',
                inner.range,
            )
        values: dict[str, _RawValue] = {}
        for name, attr in block.body.attributes.items():
            value, d = attr.expr.evaluate(scope)
            diags.extend(d)
            if not d.has_errors:
                values[name] = _RawValue(value, attr.range)
        out.append(_RawBlock(block.type, block.labels, block.range, values))
    return out


# -- stage two: valid ------------------------------------------------------------------------

_STR, _BOOL, _LIST, _NUM = "string", "bool", "list of string", "number"
_SCHEMAS: dict[str, dict[str, str]] = {
    "server": {"listen": _STR, "public_url": _STR, "data_dir": _STR, "database": _STR, "workers": _NUM},
    "github": {
        "api_url": _STR,
        "webhook_secret": _STR,
        "token": _STR,
        "app_id": _STR,
        "private_key_file": _STR,
        "client_id": _STR,
        "client_secret": _STR,
        "pr_comments": _BOOL,
    },
    "slack": {"webhook_url": _STR},
    "workspace": {"repo": _STR, "dir": _STR, "branch": _STR, "approvers": _LIST, "auto_apply": _BOOL,
                  "health_check": _STR, "images": _LIST, "channel": _STR},
}
MAX_WORKERS = 64


_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class _Checker:
    """Typed access to one raw block's values, reporting each problem once with its range."""

    def __init__(self, block: _RawBlock, diags: Diagnostics) -> None:
        self.block = block
        self.diags = diags
        schema = _SCHEMAS[block.type]
        for name, raw in block.values.items():
            if name not in schema:
                self._unsupported(name, raw.range, sorted(schema))
            else:
                self._check_type(name, raw, schema[name])

    def _unsupported(self, name: str, rng: SourceRange, valid: list[str]) -> None:
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f' Did you mean "{close[0]}"?' if close else f" Valid arguments: {', '.join(valid)}."
        self.diags.error(
            "Unsupported argument",
            f'An argument named "{name}" is not expected in a {self.block.type} block.{hint}',
            rng,
        )

    def _check_type(self, name: str, raw: _RawValue, want: str) -> None:
        value = raw.value
        ok = (
            (want == _STR and isinstance(value, str | int | float) and not isinstance(value, bool))
            or (want == _BOOL and isinstance(value, bool))
            or (want == _NUM and isinstance(value, int | float) and not isinstance(value, bool))
            or (want == _LIST and isinstance(value, list) and all(isinstance(v, str) for v in value))
        )
        if not ok:
            self.diags.error(
                "Incorrect attribute value type",
                f'Inappropriate value for attribute "{name}": {want} required.',
                raw.range,
            )

    def has(self, name: str) -> bool:
        return name in self.block.values

    def range_of(self, name: str) -> SourceRange:
        raw = self.block.values.get(name)
        return raw.range if raw is not None else self.block.range

    def text(self, name: str, default: str = "") -> str:
        raw = self.block.values.get(name)
        if raw is None or isinstance(raw.value, bool) or not isinstance(raw.value, str | int | float):
            return default
        return str(raw.value)

    def flag(self, name: str, default: bool) -> bool:
        raw = self.block.values.get(name)
        return raw.value if raw is not None and isinstance(raw.value, bool) else default

    def number(self, name: str, default: float) -> float:
        raw = self.block.values.get(name)
        if raw is None or isinstance(raw.value, bool) or not isinstance(raw.value, int | float):
            return default
        return float(raw.value)

    def strings(self, name: str) -> tuple[str, ...]:
        raw = self.block.values.get(name)
        if raw is None or not isinstance(raw.value, list):
            return ()
        return tuple(v for v in raw.value if isinstance(v, str))

    def invalid(self, name: str, detail: str) -> None:
        self.diags.error(f'Invalid value for "{name}"', detail, self.range_of(name))


def _server(c: _Checker | None, base_dir: str) -> ServerSettings:
    if c is None:
        return ServerSettings(data_dir=os.path.join(base_dir, ".relight-server"))
    listen = c.text("listen", "127.0.0.1:8080")
    host, _, port_text = listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        c.invalid("listen", f'Expected "HOST:PORT", such as "127.0.0.1:8080"; got "{listen}".')
        host, port_text = "127.0.0.1", "8080"
    public_url = c.text("public_url", f"http://{listen}").rstrip("/")
    parts = urllib.parse.urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        c.invalid("public_url", f'Expected an http:// or https:// URL that people can open; got "{public_url}".')
    database = c.text("database")
    if database and not database.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        c.invalid("database", 'Leave it "" for SQLite in data_dir, or give a postgresql:// URL.')
        database = ""
    data_dir = c.text("data_dir", ".relight-server") or ".relight-server"
    workers = c.number("workers", 2)
    if workers != int(workers) or not 0 <= workers <= MAX_WORKERS:
        c.invalid("workers", f"Expected a whole number from 0 to {MAX_WORKERS}: how many runs this process "
                  "executes at a time (0: it only serves, and `relight worker` processes run them).")
        workers = 2
    elif workers == 0 and not database:
        c.invalid("workers", "workers = 0 leaves the runs to `relight worker` processes, which reach the server's "
                  'database over the network: set database = "postgresql://..." too (SQLite has one process).')
        workers = 2
    return ServerSettings(
        listen_host=host,
        listen_port=int(port_text),
        public_url=public_url,
        data_dir=os.path.normpath(os.path.join(base_dir, os.path.expanduser(data_dir))),
        database=database,
        workers=int(workers),
    )


def _github(c: _Checker | None, base_dir: str, env: Mapping[str, str], need_secrets: bool,
            where: SourceRange, diags: Diagnostics) -> GitHubSettings:

    def get(name: str, default: str = "") -> str:
        return c.text(name, default) if c is not None else default

    def rng(name: str) -> SourceRange:
        return c.range_of(name) if c is not None else where

    api_url = get("api_url", "https://api.github.com").rstrip("/")
    secret = get("webhook_secret") or env.get(ENV_WEBHOOK_SECRET, "")
    token = get("token") or env.get(ENV_TOKEN, "")
    client_secret = get("client_secret") or env.get(ENV_CLIENT_SECRET, "")
    app_id, key_file = get("app_id"), get("private_key_file")
    problems: list[tuple[str, str, SourceRange]] = []
    parts = urllib.parse.urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(('Invalid value for "api_url"', "Expected https://api.github.com or, for GitHub "
                         "Enterprise, https://HOST/api/v3.", rng("api_url")))
    if need_secrets and not secret:
        problems.append(("No webhook secret", "The server refuses to start without a webhook secret: set "
                         f"github {{ webhook_secret = ... }} or {ENV_WEBHOOK_SECRET}, and give GitHub the same "
                         "secret in the webhook's settings.", rng("webhook_secret")))
    app: GitHubApp | None = None
    if bool(app_id) != bool(key_file):
        problems.append(("Incomplete GitHub App credentials", "A GitHub App needs both app_id and "
                         "private_key_file.", rng("app_id" if app_id else "private_key_file")))
    elif app_id and token:
        problems.append(("Conflicting GitHub credentials", "Set either token or app_id + private_key_file, "
                         "not both.", rng("token")))
    elif app_id:
        path = os.path.normpath(os.path.join(base_dir, os.path.expanduser(key_file)))
        try:
            with open(path, encoding="utf-8") as fh:
                app = GitHubApp(app_id, fh.read(), path)
        except OSError as exc:
            problems.append(('Invalid value for "private_key_file"', f"Cannot read {path}: {exc.strerror}.",
                             rng("private_key_file")))
    elif need_secrets and not token:
        problems.append(("No GitHub credentials", "relight posts commit statuses and comments: set github "
                         f"{{ token = ... }} (or {ENV_TOKEN}), or app_id + private_key_file for a GitHub App.",
                         rng("token")))
    for summary, detail, at in problems:
        diags.error(summary, detail, at)
    return GitHubSettings(
        api_url=api_url,
        webhook_secret=secret,
        token=token,
        app=app,
        client_id=get("client_id"),
        client_secret=client_secret,
        pr_comments=c.flag("pr_comments", True) if c is not None else True,
    )


def _slack(c: _Checker | None, env: Mapping[str, str]) -> SlackSettings:
    url = (c.text("webhook_url") if c is not None else "") or env.get(ENV_SLACK, "")
    if url and c is not None and url_problem(url) is not None:
        c.invalid("webhook_url", f"Not a usable Slack incoming-webhook URL: {url_problem(url)}.")
    return SlackSettings(url)


def _workspace(c: _Checker) -> WorkspaceSettings | None:
    block = c.block
    if len(block.labels) != 1 or not _NAME_RE.match(block.labels[0]):
        c.diags.error("Invalid workspace block", 'A workspace block needs one name label of letters, digits, "-" '
                      'and "_", such as workspace "ghe" { ... }.', block.range)
        return None
    if not c.has("repo"):
        c.diags.error("Missing required argument", 'The argument "repo" is required, but no definition was '
                      "found. It names the repository as webhook payloads do: \"owner/name\".", block.range)
    repo = c.text("repo")
    if repo and not _REPO_RE.match(repo):
        c.invalid("repo", f'Expected "owner/name" as in webhook payloads; got "{repo}".')
    directory = c.text("dir").strip("/")
    if directory in (".", ""):
        directory = ""
    elif os.path.isabs(c.text("dir")) or ".." in directory.split("/") or "\\" in directory:
        c.invalid("dir", "Expected a directory inside the repository, relative to its root, without \"..\".")
    branch = c.text("branch", "main")
    if not branch:
        c.invalid("branch", "The branch whose pushes are planned and applied cannot be empty.")
    interval: float | None = None
    if c.text("health_check"):
        try:
            interval = parse_duration(c.text("health_check"))
        except ValueError:
            interval = None
        if interval is None or interval < 1.0:
            c.invalid("health_check", 'Expected how often to run a heal pass, as a duration such as "5m", "30s" '
                      'or "1h" (at least 1s); leave it out for no health checks.')
            interval = None
    return WorkspaceSettings(
        name=block.labels[0],
        repo=repo,
        dir=directory,
        branch=branch,
        approvers=c.strings("approvers"),
        auto_apply=c.flag("auto_apply", False),
        health_check=interval,
        images=_image_dirs(c),
        channel=_channel(c),
    )


def _image_dirs(c: _Checker) -> tuple[str, ...]:
    out: list[str] = []
    for raw in c.strings("images"):
        directory = raw.strip("/")
        if not directory or os.path.isabs(raw) or ".." in directory.split("/") or "\\" in directory:
            c.invalid("images", "Expected template directories inside the repository, relative to its root.")
            continue
        out.append(directory)
    return tuple(out)


def _channel(c: _Checker) -> str:
    channel = c.text("channel", "production") or "production"
    problem = channel_problem(channel)
    if problem is not None:
        c.invalid("channel", f"{problem[0].upper()}{problem[1:]}.")
    return channel


def parse_server_config(text: str, path: str, env: Mapping[str, str], *,
                        need_secrets: bool = True) -> tuple[ServerConfig | None, Diagnostics]:
    """Parse and validate ``text`` (the content of ``path``); None when there are errors.

    ``need_secrets`` False skips the webhook-secret and credentials checks (for commands such as
    ``relight server token create`` that only use the database).
    """
    diags = Diagnostics()
    body, d = parse_body(text, path)
    diags.extend(d)
    if body is None:
        return None, diags
    base_dir = os.path.dirname(os.path.abspath(path))
    blocks = _raw_blocks(body, base_dir, diags)
    single: dict[str, _Checker] = {}
    workspaces: dict[str, WorkspaceSettings] = {}
    for raw in blocks:
        if raw.type not in _SCHEMAS:
            close = difflib.get_close_matches(raw.type, list(_SCHEMAS), n=1)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            diags.error("Unsupported block type", f'Blocks of type "{raw.type}" are not expected here. '
                        f"Expected server, github, slack or workspace.{hint}", raw.range)
            continue
        checker = _Checker(raw, diags)
        if raw.type != "workspace":
            if raw.labels:
                diags.error(f"Invalid {raw.type} block", f"A {raw.type} block takes no labels.", raw.range)
            if raw.type in single:
                diags.error(f"Duplicate {raw.type} block", f"Only one {raw.type} block is allowed; the first is at "
                            f"{single[raw.type].block.range}.", raw.range)
                continue
            single[raw.type] = checker
            continue
        ws = _workspace(checker)
        if ws is not None and ws.name in workspaces:
            diags.error("Duplicate workspace", f'A workspace named "{ws.name}" was already declared.', raw.range)
        elif ws is not None:
            workspaces[ws.name] = ws
    top = body.range or SourceRange(path, SourcePos(1, 1))
    server = _server(single.get("server"), base_dir)
    github = _github(single.get("github"), base_dir, env, need_secrets, top, diags)
    slack = _slack(single.get("slack"), env)
    if diags.has_errors:
        return None, diags
    return ServerConfig(os.path.abspath(path), server, github, slack, workspaces), diags


def load_server_config(path: str, env: Mapping[str, str], *,
                       need_secrets: bool = True) -> tuple[ServerConfig | None, Diagnostics, dict[str, str]]:
    """Read and parse the file at ``path``; also returns its source for rendering diagnostics."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        diags = Diagnostics()
        diags.error("No server configuration", f"{os.path.abspath(path)} does not exist. Write one (see the "
                    f"README's pipeline section) or point at it with -config=FILE.")
        return None, diags, {}
    except (OSError, UnicodeDecodeError) as exc:
        diags = Diagnostics()
        diags.error("Cannot read the server configuration", f"{path}: {exc}")
        return None, diags, {}
    config, diags = parse_server_config(text, path, env, need_secrets=need_secrets)
    return config, diags, {path: text}


def _sqlalchemy_url(url: str) -> str:
    """postgres:// and postgresql:// as SQLAlchemy's psycopg 3 dialect spells them."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url

