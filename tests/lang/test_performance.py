"""Loading a 2,000-resource file costs little more than python-hcl2's own parse."""

from __future__ import annotations

import time
from pathlib import Path

import hcl2
import pytest

from relight.lang import load_config, validate_references

N = 2000


def _generate(path: Path) -> str:
    blocks = ['resource "terraform_data" "r0" {\n  input = "v"\n}\n']
    for i in range(1, N):
        blocks.append(f'resource "terraform_data" "r{i}" {{\n  input = "v-${{terraform_data.r{i - 1}.output}}"\n}}\n')
    text = "".join(blocks)
    path.write_text(text)
    return text


def _cpu(fn: object, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()  # type: ignore[operator]
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.slow
def test_large_file_loads_fast(tmp_path: Path) -> None:
    text = _generate(tmp_path / "main.tf")
    parse = _cpu(lambda: hcl2.parses(text))
    load = _cpu(lambda: load_config(str(tmp_path)))
    config, diags = load_config(str(tmp_path))
    assert config is not None and not diags
    start = time.process_time()
    refs = sum(len(r.body.references()) for r in config.resources.values())
    assert not validate_references(config)
    check = time.process_time() - start
    print(f"hcl2.parses {parse:.3f}s, load_config {load:.3f}s, refs+validate {check:.3f}s")
    assert len(config.resources) == N and refs == N - 1
    # Our model building (GC paused during parsing) must not cost more than parsing itself.
    assert load <= parse * 1.2
    assert check <= parse * 0.2
