"""The code of a run: the repository at one commit, fetched with git, unpacked without ``.git``.

A bare cache repository per clone URL (``data_dir/repos/<digest>.git``) fetches the commit by
its SHA (GitHub and local repositories allow it), falling back to every branch and pull request
head; ``git archive`` then writes that commit's tree into the run's directory, so a pull request
cannot bring hooks or git configuration along. Over HTTPS the token goes to git in an HTTP
header passed through the environment (never in the URL, the command line or ``.git/config``).
``file://`` URLs and local paths work as remotes, for tests and demos. Failures raise
:class:`CheckoutError` with git's message (tokens removed).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading

from relight.errors import RelightError

__all__ = ["CheckoutError", "checkout"]

_SHA_RE = re.compile(r"^[0-9a-fA-F]{7,64}$")
_TIMEOUT = 600.0
_repo_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class CheckoutError(RelightError):
    """The commit could not be fetched or unpacked."""


def checkout(clone_url: str, sha: str, dest: str, cache_dir: str, token: str = "") -> None:
    """Make ``dest`` hold the tree of commit ``sha`` of ``clone_url`` (``dest`` must not exist)."""
    if not _SHA_RE.match(sha):
        raise CheckoutError(f"not a commit SHA: {sha!r}")
    cache = os.path.join(cache_dir, hashlib.sha256(clone_url.encode()).hexdigest()[:24] + ".git")
    with _lock_for(cache):
        if not os.path.isdir(cache):
            os.makedirs(cache_dir, mode=0o700, exist_ok=True)
            _git(["init", "--quiet", "--bare", cache], token="")
        env_token = token if clone_url.startswith("https://") else ""
        if not _has_commit(cache, sha):
            fetched = _try_git(["--git-dir", cache, "fetch", "--quiet", "--no-tags", clone_url, sha], env_token)
            if not fetched or not _has_commit(cache, sha):
                _git(["--git-dir", cache, "fetch", "--quiet", "--no-tags", clone_url,
                      "+refs/heads/*:refs/remotes/origin/*", "+refs/pull/*/head:refs/remotes/pull/*"], env_token)
            if not _has_commit(cache, sha):
                raise CheckoutError(f"commit {sha} is not in {_safe_url(clone_url)}")
        _extract(cache, sha, dest)


def _lock_for(path: str) -> threading.Lock:
    with _locks_guard:
        return _repo_locks.setdefault(path, threading.Lock())


def _has_commit(cache: str, sha: str) -> bool:
    return _try_git(["--git-dir", cache, "cat-file", "-e", f"{sha}^{{commit}}"], "")


def _extract(cache: str, sha: str, dest: str) -> None:
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".checkout-", dir=os.path.dirname(dest) or ".")
    try:
        with tempfile.TemporaryFile() as archive:
            proc = subprocess.run(["git", "--git-dir", cache, "archive", "--format=tar", sha], stdout=archive,
                                  stderr=subprocess.PIPE, env=_env(""), timeout=_TIMEOUT, check=False)
            if proc.returncode != 0:
                raise CheckoutError(f"git archive {sha}: {proc.stderr.decode(errors='replace').strip()}")
            archive.seek(0)
            with tarfile.open(fileobj=archive, mode="r:") as tar:
                tar.extractall(staging, filter="data")  # refuses absolute paths, .. and links that leave
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _env(token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "SSL_CERT_FILE")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "true"})
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"})
    return env


def _run(args: list[str], token: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], capture_output=True, env=_env(token), timeout=_TIMEOUT, check=False)
    except FileNotFoundError:
        raise CheckoutError("git is not installed (it is needed to fetch the code of runs)") from None
    except subprocess.TimeoutExpired:
        raise CheckoutError(f"git {args[2] if len(args) > 2 else args[0]} took longer than {_TIMEOUT:.0f}s") from None


def _try_git(args: list[str], token: str) -> bool:
    return _run(args, token).returncode == 0


def _git(args: list[str], token: str) -> None:
    proc = _run(args, token)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        if token:
            message = message.replace(token, "<token>")
        raise CheckoutError(f"git {' '.join(_safe_url(a) for a in args[2:5])}: {message}")


def _safe_url(text: str) -> str:
    """A URL without any user:password part."""
    return re.sub(r"//[^/@]+@", "//", text)
