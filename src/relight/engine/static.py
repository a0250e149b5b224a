"""The checks that need neither state, credentials nor the cloud: what ``validate`` reports, and
what ``plan`` checks before it reads anything (as Terraform's plan validates first).

:func:`static_checks` runs every check, each on its own, so one run reports every independent
mistake, once: references, the dependency graph, resource types and arguments against the
providers' schemas (with "Did you mean"), argument types, conditions, import blocks,
``required_providers`` and provisioners. A check never hides another: a misspelt resource type
is reported next to the references its misspelling breaks.

:func:`evaluation_errors` goes one step further and evaluates every expression that does not
depend on a resource (variables given, or unknown as in ``validate``), so mistakes that only
evaluation finds (a function refusing a literal argument, a known value of the wrong type)
arrive in the same round instead of after the others are fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import cast

from relight.addrs import ResourceAddr
from relight.diagnostics import Diagnostic, Diagnostics
from relight.engine.conditions import static_condition_checks
from relight.engine.conform import conform
from relight.engine.evaluate import NO_EACH, Evaluator
from relight.engine.graph import build_graph
from relight.engine.imports import static_import_checks
from relight.engine.requirements import required_provider_checks
from relight.engine.typecheck import check_types
from relight.engine.validate import validate_schemas
from relight.lang import Config, FilePolicy, Resource, validate_references
from relight.providers.base import ProviderContext, ProviderSchema, Schema
from relight.providers.registry import ProviderRegistry, UnknownProviderError
from relight.values import UNKNOWN, Value

__all__ = ["evaluation_errors", "static_checks", "unique"]


def static_checks(config: Config, registry: ProviderRegistry, *, references: bool = True) -> Diagnostics:
    """Every mistake found without state or cloud (see the module docstring), each once.
    ``references`` False leaves out the reference checks (a caller that already ran them)."""
    found = Diagnostics()
    if references:
        found.extend(validate_references(config))
    found.extend(build_graph(config)[1])
    found.extend(validate_schemas(_with_check_data(config), registry))
    found.extend(static_import_checks(config))  # import blocks are root-only
    schemas = _Schemas(registry)
    for module in _tree(config):  # the root module and every child module
        found.extend(_scoped_data_checks(module))
        found.extend(check_types(module, schemas.of))
        found.extend(static_condition_checks(module))
        found.extend(required_provider_checks(module, registry))
        found.extend(_provisioner_checks(module))
    return unique(found)


def _tree(config: Config) -> Iterator[Config]:
    yield config
    for child in config.children.values():
        yield from _tree(child)


def evaluation_errors(
    config: Config,
    registry: ProviderRegistry,
    variables: Mapping[str, Value] | None,
    file_policy: FilePolicy | None = None,
) -> Diagnostics:
    """The errors evaluating the configuration finds before any resource is known: locals,
    outputs, provider settings and resource arguments, each converted to its schema.

    ``variables`` are the run's values (None: every variable unknown, as ``validate`` has them).
    References to resources are unknown, so only what would fail whatever they turn out to be
    is reported; nothing is read or called.
    """
    values = variables if variables is not None else {name: UNKNOWN for name in config.variables}
    ev = Evaluator(config, values, file_policy)
    diags = Diagnostics()
    for name in config.locals:
        ev.local(name)
    diags.extend(ev.diagnostics)
    schemas = _Schemas(registry)
    flagged: set[tuple[str, str]] = set()  # arguments the static type check already reported
    check_types(config, schemas.of, flagged)
    for res in list(config.resources.values()) + [d for c in config.checks.values() for d in c.data]:
        if _no_instances(res, ev):
            continue  # count = 0 or an empty for_each: the body is never evaluated
        scope = ev.scope(
            # count.index is unknown here: any index (the expression sees UNKNOWN, not a number)
            count_index=cast(int, UNKNOWN) if res.count is not None else None,
            each_key=UNKNOWN if res.for_each is not None else NO_EACH,
            each_value=UNKNOWN if res.for_each is not None else NO_EACH,
        )
        raw, d = res.body.evaluate(scope)
        diags.extend(d)
        schema = schemas.of(res)
        if schema is not None and not d.has_errors:
            # Nested blocks and arguments already reported are checked when planned, not twice here.
            skip = set(schema.blocks) | {name for addr, name in flagged if addr == str(res.addr)}
            known = {k: UNKNOWN if k in skip else v for k, v in raw.items()}
            ranges = {n: a.range for n, a in res.body.attributes.items()}
            diags.extend(conform(schema, known, str(res.addr), res.range, ranges)[1])
    for out in config.outputs.values():
        diags.extend(out.expr.evaluate(ev.scope())[1])
    for prov in config.providers.values():
        diags.extend(prov.body.evaluate(ev.scope())[1])
    return unique(diags)


def _no_instances(res: Resource, ev: Evaluator) -> bool:
    expr = res.count if res.count is not None else res.for_each
    if expr is None:
        return False
    value, d = expr.evaluate(ev.scope())
    return not d.has_errors and value in (0, [], {}) and not isinstance(value, bool)


def unique(diags: Iterable[Diagnostic]) -> Diagnostics:
    """``diags`` without repeats (one diagnostic per summary at one place, the first kept), in
    the order of the places they point at, as a person reads the files."""
    out = Diagnostics()
    seen: set[tuple[object, ...]] = set()
    for diag in sorted(diags, key=_position):
        where = (diag.subject.filename, diag.subject.start) if diag.subject is not None else None
        key = (diag.severity, diag.summary, where, None if where is not None else diag.detail)
        if key in seen:
            continue
        seen.add(key)
        out.append(diag)
    return out


def _position(diag: Diagnostic) -> tuple[str, int, int]:
    if diag.subject is None:
        return ("", 0, 0)
    return (diag.subject.filename, diag.subject.start.line, diag.subject.start.column)


class _Schemas:
    """Resource schemas by provider name, read once per run (providers are not configured)."""

    def __init__(self, registry: ProviderRegistry) -> None:
        self.registry = registry
        self._found: dict[str, ProviderSchema | None] = {}

    def of(self, res: Resource) -> Schema | None:
        name = res.provider_key.split(".", 1)[0]
        if name not in self._found:
            try:
                self._found[name] = self.registry.create(name, ProviderContext()).schema()
            except UnknownProviderError:
                self._found[name] = None
        provider = self._found[name]
        if provider is None:
            return None
        table = provider.data_sources if res.addr.mode == "data" else provider.resources
        return table.get(res.type)


def _with_check_data(config: Config) -> Config:
    """``config`` with each check block's data source among its resources, so the schema checks
    cover them too (nothing outside a check may refer to them; references are checked apart)."""
    scoped = {d.addr: d for check in config.checks.values() for d in check.data if d.addr not in config.resources}
    children = {name: _with_check_data(child) for name, child in config.children.items()}
    return replace(config, resources={**config.resources, **scoped}, children=children)


def _scoped_data_checks(config: Config) -> Diagnostics:
    """A check block's data source shares the module's namespace of data sources."""
    diags = Diagnostics()
    seen: dict[ResourceAddr, Resource] = dict(config.resources)
    for name in sorted(config.checks):
        for data in config.checks[name].data:
            first = seen.get(data.addr)
            if first is not None:
                diags.error(
                    f'Duplicate data "{data.type}" configuration',
                    f'A {data.type} data resource named "{data.name}" was already declared at {first.range}. '
                    "Resource names must be unique per type in each module.",
                    data.range,
                )
                continue
            seen[data.addr] = data
    return diags


def _provisioner_checks(config: Config) -> Diagnostics:
    """relight never runs provisioners: a resource would be created without what they do."""
    diags = Diagnostics()
    for res in config.resources.values():
        provisioners = [b for b in res.provisioners if b.type == "provisioner"]
        for block in provisioners:
            kind = block.labels[0] if block.labels else "?"
            diags.error(
                "Provisioners are not supported",
                f'relight does not run provisioners, so this "{kind}" provisioner of {res.addr} would never run. '
                "Bake what it does into the machine image (relight builds images from Packer-style templates), "
                "or pass it as the instance's user_data; then remove the provisioner block.",
                block.range,
            )
        for block in res.provisioners:
            if block.type == "connection" and not provisioners:
                diags.warning(
                    "Connection settings are not used",
                    f"relight does not run provisioners, so this connection block of {res.addr} configures nothing. "
                    "Remove it.",
                    block.range,
                )
    return diags
