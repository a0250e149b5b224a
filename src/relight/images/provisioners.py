"""Provisioners (``shell``, ``file``) and the ``manifest`` post-processor, as Packer spells them.

Decoding evaluates each block in its build's scope and reads the files it names at once (a
script, a file to upload), so a build never starts with a missing file and the image digest
covers their content. Running them is the communicator's job (:mod:`relight.images.communicators`).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from relight.diagnostics import Diagnostics, SourceRange
from relight.images._sources import typed
from relight.lang import Block, did_you_mean
from relight.values import Value

__all__ = [
    "FileProvisioner",
    "ManifestPostProcessor",
    "Provisioner",
    "ShellProvisioner",
    "decode_post_processor",
    "decode_provisioner",
]

_COMMON = {"only": "list", "except": "list", "pause_before": "duration", "max_retries": "number", "timeout": "duration"}
_SHELL = {
    **_COMMON,
    "inline": "list", "script": "string", "scripts": "list", "environment_vars": "list",
    "inline_shebang": "string", "valid_exit_codes": "list", "expect_disconnect": "bool",
    "skip_clean": "bool", "remote_folder": "string", "env": "map",
}  # fmt: skip
_SHELL_NOT_IMPLEMENTED = frozenset(
    {
        "execute_command",
        "remote_path",
        "remote_file",
        "env_var_format",
        "use_env_var_file",
        "start_retry_timeout",
        "binary",
    }
)
_FILE = {
    **_COMMON,
    "source": "string",
    "sources": "list",
    "destination": "string",
    "content": "string",
    "direction": "string",
    "generated": "bool",
}
_MANIFEST = {
    "output": "string",
    "strip_path": "bool",
    "strip_time": "bool",
    "custom_data": "map",
    "keep_input_artifact": "bool",
}


@dataclass(frozen=True)
class _Common:
    range: SourceRange
    only: tuple[str, ...]
    except_: tuple[str, ...]
    pause_before: float
    max_retries: int
    timeout: float | None

    def applies_to(self, build_name: str, source: Any) -> bool:
        """Packer's ``only``/``except``: names like ``amazon-ebs.ghe`` (globs allowed)."""
        names = (build_name, f"{source.type}.{source.name}", source.name)

        def hit(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)

        return (not self.only or hit(self.only)) and not hit(self.except_)


@dataclass(frozen=True)
class ShellProvisioner(_Common):
    """``provisioner "shell"``: ``inline`` lines, or ``script``/``scripts`` files (their content
    read at decode time), run as root with ``environment_vars`` exported."""

    inline: tuple[str, ...] = ()
    scripts: tuple[tuple[str, bytes], ...] = ()  # (path as written, content)
    environment_vars: tuple[str, ...] = ()
    inline_shebang: str = "/bin/sh -e"
    valid_exit_codes: tuple[int, ...] = (0,)
    expect_disconnect: bool = False
    remote_folder: str = "/tmp"

    kind = "shell"

    def scripts_to_run(self) -> Iterator[tuple[str, bytes]]:
        """Each script as (name, content): the inline lines as one script, or each file."""
        if self.inline:
            body = "\n".join(self.inline) + "\n"
            yield "inline", f"#!{self.inline_shebang}\n{body}".encode()
        yield from self.scripts

    def describe(self) -> str:
        return "shell (inline)" if self.inline else f"shell ({', '.join(p for p, _ in self.scripts)})"

    def digest_parts(self) -> Iterator[bytes]:
        yield b"shell"
        for name, content in self.scripts_to_run():
            yield name.encode() + b"\0" + content
        yield "\0".join(self.environment_vars).encode()


@dataclass(frozen=True)
class FileProvisioner(_Common):
    """``provisioner "file"``: upload ``source`` (a file, or a directory: its content, or the
    directory itself without a trailing slash, as Packer does) or ``content`` to ``destination``."""

    destination: str = ""
    files: tuple[tuple[str, int, bytes], ...] = ()  # (path under destination, mode, content)

    kind = "file"

    def describe(self) -> str:
        return f"file ({len(self.files)} file(s) to {self.destination})"

    def digest_parts(self) -> Iterator[bytes]:
        yield b"file\0" + self.destination.encode()
        for path, mode, content in self.files:
            yield f"{path}\0{mode:o}".encode() + b"\0" + content


Provisioner = ShellProvisioner | FileProvisioner


@dataclass(frozen=True)
class ManifestPostProcessor:
    """``post-processor "manifest"``: Packer's manifest file (default ``packer-manifest.json``)."""

    output: str
    strip_path: bool
    custom_data: Mapping[str, str]
    range: SourceRange


def decode_provisioner(block: Block, scope: Any, diags: Diagnostics) -> Provisioner | None:
    """The provisioner in ``block`` (scope: the build's PackerScope); None with errors."""
    if len(block.labels) != 1:
        diags.error("Invalid provisioner block", 'A provisioner block needs one label: "shell" or "file".', block.range)
        return None
    kind = block.labels[0]
    if kind not in ("shell", "file"):
        diags.error(
            "Unsupported provisioner",
            f'relight runs "shell" and "file" provisioners, not "{kind}". Use a shell provisioner, '
            "or build with --with-packer.",
            block.range,
        )
        return None
    table = _SHELL if kind == "shell" else _FILE
    args, ok = _args(block, table, _SHELL_NOT_IMPLEMENTED if kind == "shell" else frozenset(), scope, diags)
    if not ok:
        return None
    common = _common(block, args)
    if kind == "shell":
        return _shell(block, args, common, scope, diags)
    return _file(block, args, common, scope, diags)


def warn_not_used(block: Block, names: Mapping[str, str], diags: Diagnostics) -> None:
    """A warning for each of ``names`` (argument -> why) the block sets: accepted, not applied."""
    for name, why in names.items():
        attr = block.body.attributes.get(name)
        if attr is not None:
            diags.warning("Argument not used", f'"{name}" is not used by relight: {why}.', attr.range)


def _args(
    block: Block, table: Mapping[str, str], not_implemented: frozenset[str], scope: Any, diags: Diagnostics
) -> tuple[dict[str, Any], bool]:
    before = diags.has_errors
    body = block.body
    errors = 0
    for attr in body.attributes.values():
        if attr.name in table:
            continue
        errors += 1
        if attr.name in not_implemented:
            diags.error(
                "Not supported by relight",
                f'"{attr.name}" is not implemented for {block.labels[0]} provisioners.',
                attr.range,
            )
        else:
            hint = did_you_mean(attr.name, table)
            diags.error(
                "Unsupported argument", f'An argument named "{attr.name}" is not expected here.{hint}', attr.range
            )
    for nested in body.blocks:
        errors += 1
        diags.error("Unsupported block type", f'Blocks of type "{nested.type}" are not expected here.', nested.range)
    values, d = body.evaluate(scope.scope())
    diags.extend(d)
    out = {
        k: typed(values.get(k), kind, k, body.attributes[k].range, diags)
        for k, kind in table.items()
        if k in body.attributes
    }
    return out, errors == 0 and not d.has_errors and (before or not diags.has_errors)


def _common(block: Block, args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "range": block.range,
        "only": tuple(args.get("only") or ()),
        "except_": tuple(args.get("except") or ()),
        "pause_before": float(args.get("pause_before") or 0.0),
        "max_retries": int(args.get("max_retries") or 0),
        "timeout": args.get("timeout"),
    }


def _shell(
    block: Block, args: dict[str, Any], common: dict[str, Any], scope: Any, diags: Diagnostics
) -> ShellProvisioner | None:
    warn_not_used(block, {
        "remote_folder": "scripts are uploaded to /tmp on the instance",
        "expect_disconnect": "a script that reboots the instance fails the build",
        "skip_clean": "the uploaded scripts are always removed",
    }, diags)  # fmt: skip
    given = [k for k in ("inline", "script", "scripts") if args.get(k)]
    if len(given) != 1:
        diags.error(
            "Invalid shell provisioner",
            "A shell provisioner needs exactly one of inline, script or scripts.",
            block.range,
        )
        return None
    paths = [args["script"]] if args.get("script") else list(args.get("scripts") or [])
    scripts = []
    for path in paths:
        content = _read(path, scope, block, diags)
        if content is None:
            return None
        scripts.append((path, content))
    env = list(args.get("environment_vars") or [])
    env += [f"{k}={v}" for k, v in sorted((args.get("env") or {}).items())]
    for item in env:
        if "=" not in item:
            diags.error("Invalid environment_vars", f'"{item}" is not of the form NAME=value.', block.range)
            return None
    codes = tuple(int(c) for c in args.get("valid_exit_codes") or [0])
    return ShellProvisioner(
        **common,
        inline=tuple(args.get("inline") or ()),
        scripts=tuple(scripts),
        environment_vars=tuple(env),
        inline_shebang=args.get("inline_shebang") or "/bin/sh -e",
        valid_exit_codes=codes,
        expect_disconnect=bool(args.get("expect_disconnect")),
        remote_folder=args.get("remote_folder") or "/tmp",
    )


def _file(
    block: Block, args: dict[str, Any], common: dict[str, Any], scope: Any, diags: Diagnostics
) -> FileProvisioner | None:
    if args.get("direction") not in (None, "upload"):
        diags.error(
            "Not supported by relight",
            'File provisioners upload only (direction = "download" is not implemented).',
            block.range,
        )
        return None
    destination = args.get("destination")
    sources = [args["source"]] if args.get("source") else list(args.get("sources") or [])
    if (
        not destination
        or (not sources and args.get("content") is None)
        or (sources and args.get("content") is not None)
    ):
        diags.error(
            "Invalid file provisioner",
            "A file provisioner needs destination and one of source, sources or content.",
            block.range,
        )
        return None
    files: list[tuple[str, int, bytes]] = []
    if args.get("content") is not None:
        files.append(("", 0o644, str(args["content"]).encode()))
    for src in sources:
        found = _collect(src, scope, block, diags, many=len(sources) > 1 or str(destination).endswith("/"))
        if found is None:
            return None
        files.extend(found)
    return FileProvisioner(**common, destination=str(destination), files=tuple(files))


def _collect(src: str, scope: Any, block: Block, diags: Diagnostics, many: bool) -> list[tuple[str, int, bytes]] | None:
    """The files ``src`` names: one file ("" = the destination itself, or its basename under a
    directory destination), or a directory's tree (under its own name unless ``src`` ends in /)."""
    full = src if os.path.isabs(src) else os.path.join(scope.root, src)
    if os.path.isfile(full):
        content = _read(src, scope, block, diags)
        if content is None:
            return None
        return [(os.path.basename(full) if many else "", os.stat(full).st_mode & 0o777, content)]
    if not os.path.isdir(full):
        diags.error("File not found", f'The file provisioner\'s source "{src}" does not exist.', block.range)
        return None
    prefix = "" if src.endswith("/") else os.path.basename(full.rstrip("/"))
    out: list[tuple[str, int, bytes]] = []
    for here, _dirs, names in sorted(os.walk(full)):
        for name in sorted(names):
            path = os.path.join(here, name)
            rel = os.path.join(prefix, os.path.relpath(path, full))
            content = _read(os.path.relpath(path, scope.root), scope, block, diags)
            if content is None:
                return None
            out.append((rel, os.stat(path).st_mode & 0o777, content))
    return out


def _read(path: str, scope: Any, block: Block, diags: Diagnostics) -> bytes | None:
    try:
        data: bytes = scope.files.read_bytes(path, scope.root)
        return data
    except Exception as exc:  # OSError or the file policy's refusal: the user's to fix
        diags.error("Cannot read a provisioner's file", f"{path}: {exc}.", block.range)
        return None


def decode_post_processor(block: Block, scope: Any, diags: Diagnostics) -> ManifestPostProcessor | None:
    if len(block.labels) != 1 or block.labels[0] != "manifest":
        label = block.labels[0] if block.labels else ""
        diags.error(
            "Unsupported post-processor",
            f'relight runs the "manifest" post-processor only, not "{label}". Build with --with-packer for others.',
            block.range,
        )
        return None
    args, ok = _args(block, {**_MANIFEST, "only": "list", "except": "list"}, frozenset(), scope, diags)
    if not ok:
        return None
    warn_not_used(block, {
        "only": "the manifest lists every build of the block",
        "except": "the manifest lists every build of the block",
        "strip_time": "relight's manifest entries carry the build time",
        "keep_input_artifact": "the image is always kept",
    }, diags)  # fmt: skip
    custom: Mapping[str, Value] = args.get("custom_data") or {}
    return ManifestPostProcessor(
        output=args.get("output") or "packer-manifest.json",
        strip_path=bool(args.get("strip_path")),
        custom_data={str(k): str(v) for k, v in custom.items()},
        range=block.range,
    )
