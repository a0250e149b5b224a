"""Filesystem functions: reading the configuration's files, ``fileset`` and path manipulation.

Every read goes through the context's :class:`relight.lang.filepolicy.FilePolicy`; a refusal
becomes a :class:`FunctionError` whose message names the path and the rule, so the diagnostic
lands on the call. Relative paths are relative to the context's ``base_dir`` (the root module's
directory, as Terraform's are to its working directory).
"""

from __future__ import annotations

import base64
import errno
import os
import re

from relight.lang.filepolicy import FileAccessDenied
from relight.lang.funcbase import FuncContext, FunctionError
from relight.lang.functions._args import as_str, invalid
from relight.lang.functions._glob import compile_glob, literal_prefix
from relight.values import Value


def read_bytes(ctx: FuncContext, path: Value) -> tuple[str, bytes]:
    """(the path as written, the file's bytes), under the context's file policy."""
    name = as_str(path, "path")
    try:
        return name, ctx.files.read_bytes(name, ctx.base_dir)
    except FileAccessDenied as exc:
        raise FunctionError(str(exc)) from None
    except FileNotFoundError:
        raise invalid(
            "path",
            f'no file exists at "{name}"; this function works only with files that are '
            "distributed as part of the configuration source code, so if this file will be "
            "created by a resource in this configuration you must instead obtain this result "
            "from an attribute of that resource",
        ) from None
    except OSError as exc:
        if ctx.files.is_confined and exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise FunctionError(f'"{name}" is a symbolic link, refused by the file access policy') from None
        raise FunctionError(f'failed to read file "{name}": {exc.strerror}') from None


def read_text(ctx: FuncContext, path: Value) -> tuple[str, str]:
    name, data = read_bytes(ctx, path)
    try:
        return name, data.decode("utf-8")
    except UnicodeDecodeError:
        raise FunctionError(
            f'contents of "{name}" are not valid UTF-8; use the filebase64 function to obtain '
            "the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) "
            "to obtain file hashing results instead"
        ) from None


def fn_file(ctx: FuncContext, path: Value) -> Value:
    return read_text(ctx, path)[1]


def fn_filebase64(ctx: FuncContext, path: Value) -> Value:
    return base64.b64encode(read_bytes(ctx, path)[1]).decode("ascii")


def _resolve(ctx: FuncContext, name: str) -> str:
    try:
        return ctx.files.resolve(name, ctx.base_dir)
    except FileAccessDenied as exc:
        raise FunctionError(str(exc)) from None


def fn_fileexists(ctx: FuncContext, path: Value) -> Value:
    name = as_str(path, "path")
    resolved = _resolve(ctx, name)
    if not os.path.exists(resolved):
        return False
    if os.path.isdir(resolved):
        raise FunctionError(f'"{name}" is a directory, not a file')
    if not os.path.isfile(resolved):
        raise FunctionError(f'"{name}" is not a regular file')
    return True


def fn_fileset(ctx: FuncContext, path: Value, pattern: Value) -> Value:
    """Terraform's ``fileset``: regular files under ``path`` matching ``pattern``, sorted.

    ``*``, ``?``, ``[...]``, ``{a,b}`` and ``**`` (any number of directories) as in doublestar;
    results are relative to ``path`` with forward slashes. Under a confined policy a match whose
    real path leaves the roots is refused, not skipped.
    """
    base_text = as_str(path, "path")
    glob_text = as_str(pattern, "pattern")
    base = _resolve(ctx, base_text)
    full = os.path.normpath(os.path.join(base, glob_text))
    try:
        matcher = compile_glob(full)
    except ValueError as exc:
        raise FunctionError(f"failed to glob pattern ({full}): {exc}") from None
    start = literal_prefix(full)
    if os.path.isfile(start):
        candidates = [start]
    else:
        candidates = [os.path.join(d, f) for d, _, files in os.walk(start) for f in files]
    out: list[str] = []
    for candidate in candidates:
        if not matcher.fullmatch(candidate) or not os.path.isfile(candidate):
            continue
        real = os.path.realpath(candidate)
        if not ctx.files.allows(real):
            raise FunctionError(f'"{candidate}" resolves to {real}, outside the roots of the file access policy')
        out.append(os.path.relpath(candidate, base).replace(os.sep, "/"))
    return sorted(out)


_TEMPLATE_VAR = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def fn_templatefile(ctx: FuncContext, path: Value, variables: Value) -> Value:
    if not isinstance(variables, dict):
        raise invalid("vars", "invalid vars value: must be a map")
    for name in variables:
        if not _TEMPLATE_VAR.fullmatch(name):
            raise invalid(
                "vars",
                f'invalid template variable name "{name}": must start with a letter, followed '
                "by zero or more letters, digits, and underscores",
            )
    filename, text = read_text(ctx, path)
    return ctx.render_template(text, variables, filename, ctx)


def _clean_path(path: str) -> str:
    """Go's filepath.Clean for slash-separated paths."""
    if path == "":
        return "."
    cleaned = os.path.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def fn_basename(ctx: FuncContext, path: Value) -> Value:
    text = as_str(path, "path").rstrip("/")
    if text == "":
        return "/" if as_str(path, "path") else "."
    return text.rsplit("/", 1)[-1]


def fn_dirname(ctx: FuncContext, path: Value) -> Value:
    text = as_str(path, "path")
    head = text[: text.rfind("/") + 1]
    return _clean_path(head)


def fn_abspath(ctx: FuncContext, path: Value) -> Value:
    text = as_str(path, "path")
    if ctx.cwd is None or os.path.isabs(text):
        return os.path.abspath(text)
    return os.path.normpath(os.path.join(ctx.cwd, text))


def fn_pathexpand(ctx: FuncContext, path: Value) -> Value:
    try:
        return ctx.files.expand(as_str(path, "path"))
    except FileAccessDenied as exc:
        raise FunctionError(str(exc)) from None
