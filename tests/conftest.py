"""Shared fixtures. One in-process local cloud per test session; each test starts from an empty cloud."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from hypothesis import settings

from relight.localcloud import LocalCloud

# Speed is measured by benchmarks, never by tests: no per-example deadline (a loaded 2-core
# machine makes any deadline flaky).
settings.register_profile("relight", deadline=None)
settings.load_profile("relight")


@pytest.fixture(scope="session")
def local_cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as cloud:
        yield cloud


@pytest.fixture
def cloud(local_cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> LocalCloud:
    """The local cloud, emptied, with this process's AWS_* environment pointing at it."""
    local_cloud.reset()
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in local_cloud.env().items():
        monkeypatch.setenv(key, value)
    return local_cloud


@pytest.fixture
def dataplane(cloud: LocalCloud) -> LocalCloud:
    """The local cloud, emptied, with its data plane (skips, saying why, where sandboxes cannot run)."""
    if cloud.data_plane is None:
        pytest.skip(f"the local cloud has no data plane on this machine: {cloud.data_plane_reason}")
    return cloud


@pytest.fixture
def ec2(cloud: LocalCloud):  # type: ignore[no-untyped-def]
    return boto3.client("ec2")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
