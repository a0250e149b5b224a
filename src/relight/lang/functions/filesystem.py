"""Filesystem functions: reading files of the configuration and path manipulation."""

from __future__ import annotations

import base64
import os
import re

from relight.lang.funcbase import FuncContext, FunctionError
from relight.lang.functions._args import as_str, invalid
from relight.values import Value


def _resolve(ctx: FuncContext, path: str) -> str:
    expanded = os.path.expanduser(path)
    return expanded if os.path.isabs(expanded) else os.path.join(ctx.base_dir, expanded)


def read_bytes(ctx: FuncContext, path: Value) -> tuple[str, bytes]:
    name = as_str(path, "path")
    try:
        with open(_resolve(ctx, name), "rb") as handle:
            return name, handle.read()
    except FileNotFoundError:
        raise invalid(
            "path",
            f'no file exists at "{name}"; this function works only with files that are '
            "distributed as part of the configuration source code, so if this file will be "
            "created by a resource in this configuration you must instead obtain this result "
            "from an attribute of that resource",
        ) from None
    except OSError as exc:
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
    return ctx.render_template(text, variables, filename)


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
    return os.path.abspath(as_str(path, "path"))


def fn_pathexpand(ctx: FuncContext, path: Value) -> Value:
    return os.path.expanduser(as_str(path, "path"))
