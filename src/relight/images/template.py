"""Packer's HCL2 templates (``*.pkr.hcl``), read with relight's own language engine.

:func:`load_template` reads every ``*.pkr.hcl`` file of a directory (and ``*.auto.pkrvars.hcl``)
and returns a frozen :class:`Template`: the builds to run, each with its ``amazon-ebs`` source
fully evaluated, its provisioners and its post-processors. Two stages, as everywhere in relight:
the files are parsed into bodies (:mod:`relight.lang`), then each block is checked against what
Packer accepts and decoded into the model (:mod:`relight.images._sources`). Nothing the user
wrote is ignored: an argument or block relight does not know is an error at its line (with a
"did you mean"), and a Packer argument relight does not implement says so at its line.

Variables follow Packer's precedence, lowest first: defaults, ``PKR_VAR_name`` in the run's
environment, ``*.auto.pkrvars.hcl`` in lexical order, then ``-var``/``-var-file`` in
command-line order. Locals (``locals {}`` and ``local "name" {}``) may use variables, other
locals and functions (Terraform's, plus Packer's ``formatdate`` and ``regex_replace``).
Expressions may name ``source.name``, ``source.type``, ``build.name`` and ``packer.version``.

Contract: user mistakes come back as diagnostics with file:line (``Template`` is None when there
are errors); nothing is raised for bad input, and reading a template never touches the cloud.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from relight.diagnostics import Diagnostics
from relight.images._eval import PACKER_VERSION, PackerScope, decode_variables, evaluate_locals
from relight.images._sources import AmazonEbs, decode_amazon_ebs
from relight.images.provisioners import (
    FileProvisioner,
    ManifestPostProcessor,
    Provisioner,
    ShellProvisioner,
    decode_post_processor,
    decode_provisioner,
)
from relight.lang import Block, Body, FilePolicy, parse_body
from relight.values import Value

__all__ = [
    "PACKER_VERSION",
    "BuildSpec",
    "FileProvisioner",
    "ManifestPostProcessor",
    "Provisioner",
    "ShellProvisioner",
    "Template",
    "load_template",
]

_TOP_BLOCKS = ("packer", "variable", "variables", "locals", "local", "source", "build", "data")
_BUILD_ARGS = ("name", "description", "sources")
_BUILD_BLOCKS = (
    "source",
    "provisioner",
    "post-processor",
    "post-processors",
    "error-cleanup-provisioner",
    "hcp_packer_registry",
)
_PLUGINS = {"amazon": "github.com/hashicorp/amazon"}


@dataclass(frozen=True)
class BuildSpec:
    """One source of one ``build`` block: what ``-only amazon-ebs.NAME`` selects.

    ``name`` is Packer's full name (``amazon-ebs.ghe``, or ``BUILD.amazon-ebs.ghe`` when the
    build block has a name); ``digest`` covers everything that decides the image's content (the
    template files, the files the provisioners upload or run, the variables, this build's name);
    the builder adds the source image's id.
    """

    name: str
    build_name: str
    source: AmazonEbs
    provisioners: tuple[Provisioner, ...]
    post_processors: tuple[ManifestPostProcessor, ...]
    digest: str

    @property
    def source_name(self) -> str:
        return self.source.name


@dataclass(frozen=True)
class Template:
    """A loaded template directory: its builds, and the variables they were evaluated with."""

    directory: str
    files: Mapping[str, str]
    builds: tuple[BuildSpec, ...]
    variables: Mapping[str, Value] = field(default_factory=dict)
    sensitive: frozenset[str] = frozenset()

    def select(self, only: Sequence[str] = (), except_: Sequence[str] = ()) -> tuple[BuildSpec, ...]:
        """The builds ``-only``/``-except`` pick (glob patterns on Packer's build names)."""

        def matches(build: BuildSpec, patterns: Sequence[str]) -> bool:
            names = (build.name, f"{build.source.type}.{build.source.name}", build.source.name)
            return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)

        picked = [b for b in self.builds if not only or matches(b, only)]
        return tuple(b for b in picked if not matches(b, except_))

    def public_variables(self) -> dict[str, Value]:
        """The variables with sensitive values masked, for records and logs."""
        return {k: ("(sensitive)" if k in self.sensitive else v) for k, v in sorted(self.variables.items())}


def load_template(
    directory: str,
    cli_vars: Sequence[tuple[str, str]] = (),
    env: Mapping[str, str] | None = None,
    file_policy: FilePolicy | None = None,
) -> tuple[Template | None, Diagnostics]:
    """Read the template in ``directory`` (or one ``.pkr.hcl`` file); see the module docstring.

    ``cli_vars`` holds ``("var", "k=v")`` and ``("var-file", "path")`` in command-line order
    (relative paths are the caller's to resolve). ``env`` is the run's environment (never
    ``os.environ``). Returns None with error diagnostics when anything is wrong.
    """
    diags = Diagnostics()
    policy = file_policy or FilePolicy.unconfined()
    root, paths = _template_files(directory, diags)
    files: dict[str, str] = {}
    bodies: list[Body] = []
    for path in paths:
        text = _read(path, diags)
        if text is None:
            continue
        files[path] = text
        body, d = parse_body(text, os.path.relpath(path, root) if os.path.isdir(directory) else path)
        diags.extend(d)
        if body is not None:
            bodies.append(body)
    if diags.has_errors:  # a file that cannot be read or parsed: nothing more can be said
        return None, diags
    blocks: list[Block] = [b for body in bodies for b in _top_blocks(body, diags)]
    _check_packer_blocks(blocks, diags)
    auto = [("var-file", p) for p in _auto_var_files(root)]
    # Block mistakes so far do not stop decoding: every mistake is reported at once, unless the
    # variables or locals themselves cannot be evaluated (everything else depends on them).
    variables, sensitive, d = decode_variables(blocks, [*auto, *cli_vars], env or {}, policy)
    diags.extend(d)
    if d.has_errors:
        return None, diags
    locals_, d = evaluate_locals(blocks, variables, root, policy)
    diags.extend(d)
    if d.has_errors:
        return None, diags
    scope = PackerScope(variables, locals_, root, policy)
    sources = _sources(blocks, scope, diags)
    builds = _builds(blocks, sources, scope, files, variables, diags)
    if diags.has_errors:
        return None, diags
    if not builds:
        diags.error("No builds", f"The template in {directory} has no build block with a source.")
        return None, diags
    return Template(root, files, tuple(builds), variables, frozenset(sensitive)), diags


def _template_files(directory: str, diags: Diagnostics) -> tuple[str, list[str]]:
    if os.path.isfile(directory):
        return os.path.dirname(os.path.abspath(directory)), [os.path.abspath(directory)]
    root = os.path.abspath(directory)
    try:
        names = sorted(os.listdir(root))
    except OSError as exc:
        diags.error("Cannot read the template directory", f"{directory}: {exc.strerror or exc}.")
        return root, []
    found = [os.path.join(root, n) for n in names if n.endswith(".pkr.hcl")]
    legacy = [n for n in names if n.endswith(".json") and not n.endswith(".pkrvars.json") and "manifest" not in n]
    if not found:
        hint = (
            f" JSON templates ({', '.join(legacy)}) are Packer's legacy format: run `packer hcl2_upgrade` first."
            if legacy
            else ""
        )
        diags.error("No template files", f"There are no .pkr.hcl files in {directory}.{hint}")
    for name in names:
        if name.endswith(".pkr.json"):
            diags.error("JSON templates are not supported", f"{name}: write the template in HCL (.pkr.hcl).")
    return root, found


def _auto_var_files(root: str) -> list[str]:
    try:
        return [os.path.join(root, n) for n in sorted(os.listdir(root)) if n.endswith(".auto.pkrvars.hcl")]
    except OSError:
        return []


def _read(path: str, diags: Diagnostics) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        diags.error("Cannot read a template file", f"{path}: {exc}.")
        return None


def _top_blocks(body: Body, diags: Diagnostics) -> list[Block]:
    for attr in body.attributes.values():
        diags.error(
            "Unsupported argument",
            f'An argument named "{attr.name}" is not expected at the top level of a template.',
            attr.range,
        )
    out: list[Block] = []
    for block in body.blocks:
        if block.type not in _TOP_BLOCKS:
            diags.error(
                "Unsupported block type",
                f'Blocks of type "{block.type}" are not expected in a Packer template; expected one of '
                f"{', '.join(_TOP_BLOCKS)}.",
                block.range,
            )
            continue
        if block.type == "data":
            diags.error(
                "Data sources are not supported",
                f'relight does not run Packer data sources ("{" ".join(block.labels)}"); use source_ami_filter '
                "in the source, or a variable.",
                block.range,
            )
            continue
        if block.type == "variables":
            diags.error(
                "Unsupported block type", 'Declare each variable in a "variable" block of its own.', block.range
            )
            continue
        out.append(block)
    return out


def _check_packer_blocks(blocks: list[Block], diags: Diagnostics) -> None:
    """``packer { required_version, required_plugins { amazon = {...} } }``: the amazon plugin is
    built in; any other plugin is an error (relight cannot run it)."""
    for block in blocks:
        if block.type != "packer":
            continue
        for attr in block.body.attributes.values():
            if attr.name != "required_version":
                diags.error(
                    "Unsupported argument",
                    f'An argument named "{attr.name}" is not expected in a packer block.',
                    attr.range,
                )
        for nested in block.body.blocks:
            if nested.type != "required_plugins":
                diags.error(
                    "Unsupported block type",
                    f'Blocks of type "{nested.type}" are not expected in a packer block.',
                    nested.range,
                )
                continue
            for attr in nested.body.attributes.values():
                value, d = attr.expr.evaluate(PackerScope({}, {}, ".", FilePolicy.unconfined()).scope())
                source = value.get("source") if isinstance(value, dict) else None
                if attr.name not in _PLUGINS or (source is not None and str(source) != _PLUGINS[attr.name]):
                    diags.error(
                        "Unsupported plugin",
                        f'relight builds with its own amazon-ebs builder; the plugin "{attr.name}" ({source}) '
                        "cannot be used. Remove it, or build with --with-packer.",
                        attr.range,
                    )
                diags.extend(d)


def _sources(blocks: list[Block], scope: PackerScope, diags: Diagnostics) -> dict[str, AmazonEbs]:
    out: dict[str, AmazonEbs] = {}
    for block in blocks:
        if block.type != "source":
            continue
        if len(block.labels) != 2:
            diags.error(
                "Invalid source block",
                'A source block needs two labels: its type and name, e.g. source "amazon-ebs" "ghe".',
                block.range,
            )
            continue
        kind, name = block.labels
        if kind != "amazon-ebs":
            diags.error(
                "Unsupported builder",
                f'relight builds "amazon-ebs" sources only, not "{kind}". Build this one with --with-packer.',
                block.range,
            )
            continue
        key = f"source.{kind}.{name}"
        if key in out:
            diags.error("Duplicate source", f'The source "{kind}.{name}" is declared twice.', block.range)
            continue
        found = decode_amazon_ebs(name, block, scope.for_source(kind, name), diags)
        if found is not None:
            out[key] = found
    return out


def _builds(
    blocks: list[Block],
    sources: Mapping[str, AmazonEbs],
    scope: PackerScope,
    files: Mapping[str, str],
    variables: Mapping[str, Value],
    diags: Diagnostics,
) -> list[BuildSpec]:
    out: list[BuildSpec] = []
    for block in blocks:
        if block.type != "build":
            continue
        if block.labels:
            diags.error("Invalid build block", 'A build block has no labels; name it with name = "...".', block.range)
        out.extend(_one_build(block, sources, scope, files, variables, diags))
    return out


def _one_build(
    block: Block,
    sources: Mapping[str, AmazonEbs],
    scope: PackerScope,
    files: Mapping[str, str],
    variables: Mapping[str, Value],
    diags: Diagnostics,
) -> list[BuildSpec]:
    body = block.body
    for attr in body.attributes.values():
        if attr.name not in _BUILD_ARGS:
            diags.error(
                "Unsupported argument", f'An argument named "{attr.name}" is not expected in a build block.', attr.range
            )
    build_name = _string_attr(body, "name", scope, diags)
    names = _source_names(body, scope, diags)
    for nested in body.blocks:
        if nested.type not in _BUILD_BLOCKS:
            diags.error(
                "Unsupported block type",
                f'Blocks of type "{nested.type}" are not expected in a build block.',
                nested.range,
            )
        elif nested.type in ("error-cleanup-provisioner", "hcp_packer_registry", "post-processors"):
            diags.error(
                "Not supported by relight",
                f'relight does not implement "{nested.type}" blocks yet; remove it or build with --with-packer.',
                nested.range,
            )
        elif nested.type == "source":
            diags.error(
                "Not supported by relight",
                "Source blocks inside a build (per-build overrides) are not implemented; list the source in "
                "sources = [...] and set its arguments in the top-level source block.",
                nested.range,
            )
    out: list[BuildSpec] = []
    for ref in names:
        source = sources.get(ref)
        if source is None:
            known = ", ".join(sorted(sources)) or "none"
            diags.error(
                "Unknown source", f'The build names "{ref}", which is not declared (declared: {known}).', body.range
            )
            continue
        local_scope = scope.for_source(source.type, source.name, build_name)
        provisioners = tuple(
            p for b in body.blocks_of("provisioner") if (p := decode_provisioner(b, local_scope, diags)) is not None
        )
        posts = tuple(
            pp
            for b in body.blocks_of("post-processor")
            if (pp := decode_post_processor(b, local_scope, diags)) is not None
        )
        full = f"{build_name}.{source.type}.{source.name}" if build_name else f"{source.type}.{source.name}"
        applicable = tuple(p for p in provisioners if p.applies_to(full, source))
        digest = _digest(files, applicable, variables, full, source)
        out.append(BuildSpec(full, build_name, source, applicable, posts, digest))
    return out


def _string_attr(body: Body, name: str, scope: PackerScope, diags: Diagnostics) -> str:
    attr = body.attributes.get(name)
    if attr is None:
        return ""
    value, d = attr.expr.evaluate(scope.scope())
    diags.extend(d)
    if not isinstance(value, str):
        if not d.has_errors:
            diags.error("Invalid value", f'"{name}" must be a string.', attr.range)
        return ""
    return value


def _source_names(body: Body, scope: PackerScope, diags: Diagnostics) -> list[str]:
    attr = body.attributes.get("sources")
    if attr is None:
        diags.error("Missing sources", 'A build block needs sources = ["source.amazon-ebs.NAME", ...].', body.range)
        return []
    value, d = attr.expr.evaluate(scope.scope())
    diags.extend(d)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        if not d.has_errors:
            diags.error(
                "Invalid value", '"sources" must be a list of strings like "source.amazon-ebs.NAME".', attr.range
            )
        return []
    out: list[str] = []
    for item in value:
        text = str(item)
        if not text.startswith("source."):
            text = f"source.{text}"
        if text.count(".") != 2:
            diags.error("Invalid source reference", f'"{item}" is not of the form "source.TYPE.NAME".', attr.range)
            continue
        out.append(text)
    return out


def _digest(
    files: Mapping[str, str],
    provisioners: Sequence[Provisioner],
    variables: Mapping[str, Value],
    name: str,
    source: AmazonEbs,
) -> str:
    """What decides an image's content, hashed; timestamps in names do not change it (the
    template's text does, not the values its ``timestamp()`` calls produce)."""
    h = hashlib.sha256()
    h.update(b"relight-image-digest-v1\0")
    for path in sorted(files):
        h.update(os.path.basename(path).encode() + b"\0" + files[path].encode() + b"\0")
    for prov in provisioners:
        for part in prov.digest_parts():
            h.update(part + b"\0")
    h.update(json.dumps(variables, sort_keys=True, default=str).encode() + b"\0")
    h.update(name.encode() + b"\0" + source.content_key().encode())
    return h.hexdigest()
