#!/usr/bin/env python3
"""Parse benchmark: loading a generated N-resource configuration, and what the parse cache saves.

For each size it writes ``engine_bench``'s ``tree`` config (``resource i`` interpolates
``terraform_data.r<(i-1)//2>.output``) and prints, best of ``--repeat`` runs (CPU seconds):

* ``load (no cache)``: :func:`relight.lang.load_config` with ``cache=None`` (parse + compile + decode);
* ``cache miss``: a fresh on-disk cache (parse, then write the entry);
* ``disk hit``: a new :class:`ParseCache` on that directory (what a new CLI process pays);
* ``memory hit``: the same cache again (a long-running ``relight watch``);
* ``refs+validate``: collecting every reference and :func:`validate_references`.

``python bench/parse_bench.py --sizes 1000,10000``. Prints figures only; no targets here.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_bench import generate_config

from relight.lang import ParseCache, load_config, validate_references


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def measure(n: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        conf = Path(scratch) / "conf"
        conf.mkdir()
        (conf / "main.tf").write_text(generate_config("tree", n))
        directory = str(conf)
        figures = {"load (no cache)": best(lambda: load_config(directory), repeat)}
        counter = iter(range(10**6))
        figures["cache miss"] = best(
            lambda: load_config(directory, cache=ParseCache(f"{scratch}/cache{next(counter)}")), repeat
        )
        warm = f"{scratch}/warm"
        load_config(directory, cache=ParseCache(warm))
        figures["disk hit"] = best(lambda: load_config(directory, cache=ParseCache(warm)), repeat)
        memory = ParseCache(warm)
        load_config(directory, cache=memory)
        figures["memory hit"] = best(lambda: load_config(directory, cache=memory), repeat)
        config, diags = load_config(directory)
        assert config is not None and not diags.has_errors, list(diags)

        def check() -> None:
            assert config is not None
            sum(len(r.body.references()) for r in config.resources.values())
            validate_references(config)

        figures["refs+validate"] = best(check, repeat)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in (int(s) for s in args.sizes.split(",")):
        figures = measure(n, args.repeat)
        print(f"N={n:>6}: " + ", ".join(f"{k} {v * 1000:8.1f} ms" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
