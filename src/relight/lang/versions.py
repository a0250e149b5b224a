"""Version constraints as Terraform writes them (``>= 1.5, < 2.0``, ``~> 1.11.0``), and the
Terraform language version relight implements.

relight implements the Terraform language of Terraform **1.11.4** (the release its
differential corpus is checked against), so a ``terraform { required_version = ... }`` is met
exactly when Terraform 1.11.4 would meet it. The syntax is go-version's, as Terraform uses it:
comma-separated constraints that must all hold, each an operator (``=``, ``!=``, ``>``, ``>=``,
``<``, ``<=``, ``~>``; none means ``=``) and a version of one to three numeric segments with an
optional ``-prerelease``. ``~> 1.2`` allows ``>= 1.2, < 2.0``; ``~> 1.2.3`` allows
``>= 1.2.3, < 1.3.0``. Missing segments are zeros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["TERRAFORM_VERSION", "Constraint", "Version", "parse_constraints", "satisfies"]

_VERSION_RE: Final = re.compile(r"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")
_CONSTRAINT_RE: Final = re.compile(r"\s*(~>|>=|<=|!=|=|>|<)?\s*(\S+)\s*")


@dataclass(frozen=True, order=True, slots=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        """Ordering key: a release sorts after its prereleases, numeric parts before words."""
        pre = tuple((0, p) if isinstance(p, int) else (1, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return text + ("-" + ".".join(str(p) for p in self.pre) if self.pre else "")


TERRAFORM_VERSION: Final = Version(1, 11, 4)


@dataclass(frozen=True, slots=True)
class Constraint:
    op: str
    version: Version
    segments: int  # how many numeric segments were written (for ~>)

    def allows(self, v: Version) -> bool:
        a, b = v.key(), self.version.key()
        if self.op == "=":
            return a == b
        if self.op == "!=":
            return a != b
        if self.op == ">":
            return a > b
        if self.op == ">=":
            return a >= b
        if self.op == "<":
            return a < b
        if self.op == "<=":
            return a <= b
        return a >= b and a < self._pessimistic_limit().key()

    def _pessimistic_limit(self) -> Version:
        c = self.version
        if self.segments <= 2:
            return Version(c.major + 1, 0, 0)
        return Version(c.major, c.minor + 1, 0)

    def __str__(self) -> str:
        return f"{self.op} {self.version}"


def _version(text: str) -> tuple[Version, int] | None:
    match = _VERSION_RE.fullmatch(text)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    segments = 1 + (minor is not None) + (patch is not None)
    parts = tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else ()
    return Version(int(major), int(minor or 0), int(patch or 0), parts), segments


def parse_constraints(text: str) -> list[Constraint] | None:
    """The constraints of ``text``, or None when it is not valid constraint syntax."""
    out: list[Constraint] = []
    for part in text.split(","):
        match = _CONSTRAINT_RE.fullmatch(part)
        if match is None:
            return None
        parsed = _version(match.group(2))
        if parsed is None:
            return None
        out.append(Constraint(match.group(1) or "=", parsed[0], parsed[1]))
    return out or None


def satisfies(constraints: list[Constraint], version: Version = TERRAFORM_VERSION) -> bool:
    return all(c.allows(version) for c in constraints)
