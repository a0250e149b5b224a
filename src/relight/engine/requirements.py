"""``terraform { required_providers { ... } }`` checked against the providers relight has.

relight's built-in providers answer to the sources Terraform gives them: ``hashicorp/aws``
(``registry.terraform.io/hashicorp/aws``) for ``aws`` and ``terraform.io/builtin/terraform``
for ``terraform``. An installed provider (an entry point in ``relight.providers``) answers to a
source whose type (the last part) is its name. Anything else is an error naming the source and
saying what relight has, so no configuration runs against a provider it did not ask for.

Versions: Terraform refuses a version constraint on a built-in provider, and so does relight
for ``terraform``. relight's ``aws`` implements the resource types and arguments of the AWS
provider's major versions 3 to 5 (the ones whose state it reads); a constraint that admits none
of them is a warning naming both, since arguments may differ.
"""

from __future__ import annotations

from typing import Final

from relight.diagnostics import Diagnostics
from relight.lang import Config, RequiredProvider
from relight.lang.versions import Constraint, Version, parse_constraints, satisfies
from relight.providers.registry import BUILTIN, ProviderRegistry

__all__ = ["BUILTIN_SOURCES", "required_provider_checks"]

BUILTIN_SOURCES: Final = {"aws": "hashicorp/aws", "terraform": "terraform.io/builtin/terraform"}
_AWS_MAJORS: Final = (3, 4, 5)


def required_provider_checks(config: Config, registry: ProviderRegistry) -> Diagnostics:
    """An error for each required provider relight cannot supply as asked (see the module)."""
    diags = Diagnostics()
    for req in config.required_providers.values():
        _check(req, registry, diags)
    return diags


def _check(req: RequiredProvider, registry: ProviderRegistry, diags: Diagnostics) -> None:
    kind = req.source.rsplit("/", 1)[-1]
    wanted = BUILTIN_SOURCES.get(kind)
    if wanted == req.source or (wanted is None and kind in registry.names() and kind not in BUILTIN):
        if req.name != kind:
            diags.error(
                "Unsupported provider local name",
                f'This configuration calls {req.source} "{req.name}". relight names each provider by its '
                f'type: use the local name "{kind}" (resources of type {kind}_* use it by default).',
                req.range,
            )
            return
        _check_version(req, kind, diags)
        return
    diags.error(
        f'Provider "{req.source}" is not available',
        f'relight has no provider for "{req.source}" ({req.name}). It has: {_available(registry)}. '
        "Use one of these sources, or install a relight provider package for it.",
        req.range,
    )


def _available(registry: ProviderRegistry) -> str:
    names = registry.names()
    return ", ".join(f"{BUILTIN_SOURCES[n]} ({n})" if n in BUILTIN_SOURCES else f"{n} (installed)" for n in names)


def _check_version(req: RequiredProvider, kind: str, diags: Diagnostics) -> None:
    if req.version is None:
        return
    if kind == "terraform":
        diags.error(
            "Invalid dependency on built-in provider",
            f"Cannot use {req.source}: built-in providers do not support explicit version constraints.",
            req.range,
        )
        return
    constraints = parse_constraints(req.version)
    if kind != "aws" or constraints is None or _admits_a_major(constraints, _AWS_MAJORS):
        return
    diags.warning(
        "Provider version constraint not met",
        f'This configuration asks for {req.source} "{req.version}". relight\'s built-in aws provider implements '
        "the resource types and arguments of hashicorp/aws versions 3 to 5; arguments that differ in the "
        "version asked for are reported where they are used.",
        req.range,
    )


def _admits_a_major(constraints: list[Constraint], majors: tuple[int, ...]) -> bool:
    """Whether some version of one of ``majors`` meets every constraint."""
    candidates = {Version(m, minor, patch) for m in majors for minor in (0, 50, 999) for patch in (0, 999)}
    for c in constraints:
        v = c.version
        candidates |= {v, Version(v.major, v.minor, v.patch + 1), Version(v.major, v.minor + 1, 0)}
    return any(v.major in majors and satisfies(constraints, v) for v in candidates)
