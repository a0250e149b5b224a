"""``relight serve`` and ``relight server token create`` as a user meets them."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from relight.cli.main import main
from relight.server.accounts import Accounts
from relight.server.db import Database


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_serve_refuses_to_start_without_a_webhook_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELIGHT_GITHUB_WEBHOOK_SECRET", raising=False)
    config = tmp_path / "relight-server.hcl"
    config.write_text('github {\n  token = "t"\n}\n')
    code, _out, err = _run("serve", f"-config={config}")
    assert code == 1
    assert "No webhook secret" in err and "refuses to start" in err and f"{config}:1" in err


def test_serve_reports_a_missing_or_wrong_file(tmp_path: Path) -> None:
    code, _out, err = _run("serve", f"-config={tmp_path / 'nope.hcl'}")
    assert code == 1 and "No server configuration" in err
    bad = tmp_path / "bad.hcl"
    bad.write_text('server {\n  listen = 8080\n  colour = "blue"\n}\n')
    code, _out, err = _run("serve", f"-config={bad}")
    assert code == 1 and f"{bad}:3" in err and 'An argument named "colour"' in err


def test_token_create_prints_a_token_stored_hashed(tmp_path: Path) -> None:
    config = tmp_path / "relight-server.hcl"
    config.write_text(f'server {{\n  data_dir = "{tmp_path / "data"}"\n}}\n')  # no secrets needed for this
    code, out, err = _run("server", "token", "create", "alice", f"-config={config}")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("rlt_") and "not shown again" in err
    db = Database(f"sqlite:///{tmp_path / 'data' / 'relight.db'}")
    try:
        assert Accounts(db).authenticate(token) == "alice"
    finally:
        db.dispose()
    assert _run("server", "token", "create", "not a login", f"-config={config}")[0] == 1
    code, _out, err = _run("server")
    assert code == 1 and "usage: relight server token create USER" in err
