"""Hash and identity functions: ``md5``/``sha*``, ``base64sha*``, their ``file*`` twins, ``uuid``."""

from __future__ import annotations

import base64
import hashlib
import uuid as uuidlib
from collections.abc import Callable

from relight.lang.funcbase import FuncContext
from relight.lang.functions._args import as_str
from relight.lang.functions.filesystem import read_bytes
from relight.values import Value


def text_hash(algorithm: str) -> Callable[[FuncContext, Value], Value]:
    def impl(ctx: FuncContext, s: Value) -> Value:
        return hashlib.new(algorithm, as_str(s, "str").encode()).hexdigest()

    return impl


def fn_base64sha256(ctx: FuncContext, s: Value) -> Value:
    return base64.b64encode(hashlib.sha256(as_str(s, "str").encode()).digest()).decode("ascii")


def fn_base64sha512(ctx: FuncContext, s: Value) -> Value:
    return base64.b64encode(hashlib.sha512(as_str(s, "str").encode()).digest()).decode("ascii")


def file_hash(algorithm: str) -> Callable[[FuncContext, Value], Value]:
    def impl(ctx: FuncContext, path: Value) -> Value:
        return hashlib.new(algorithm, read_bytes(ctx, path)[1]).hexdigest()

    return impl


def file_base64_hash(algorithm: str) -> Callable[[FuncContext, Value], Value]:
    def impl(ctx: FuncContext, path: Value) -> Value:
        return base64.b64encode(hashlib.new(algorithm, read_bytes(ctx, path)[1]).digest()).decode("ascii")

    return impl


def fn_uuid(ctx: FuncContext) -> Value:
    return str(uuidlib.uuid4())
