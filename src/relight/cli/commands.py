"""The command implementations. Each returns an exit code; user mistakes print diagnostics."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from relight.diagnostics import Diagnostic, Diagnostics, render
from relight.errors import PlanError, StateError
from relight.lang import Config
from relight.values import type_of

__all__ = ["run"]

_STDOUT_COLOR = sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _color(args: argparse.Namespace) -> bool:
    return _STDOUT_COLOR and not getattr(args, "no_color", False)


def _print_diags(diags: Diagnostics | list[Diagnostic], sources: Mapping[str, str] | None, color: bool) -> None:
    items = _merge_repeats(list(diags))
    if items:
        print(render(items, sources or {}, color=color and sys.stderr.isatty()), file=sys.stderr)


def _merge_repeats(items: list[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic for a problem that hit many objects alike (an unreachable endpoint, no
    credentials), naming every object, instead of the same box once per object."""
    from dataclasses import replace

    groups: dict[tuple[object, ...], list[Diagnostic]] = {}
    for d in items:
        key = (d.severity, d.summary, d.detail, d.subject) if d.subject is None and d.address else (id(d),)
        groups.setdefault(key, []).append(d)
    out: list[Diagnostic] = []
    for same in groups.values():
        first = same[0]
        if len(same) == 1:
            out.append(first)
            continue
        names = ", ".join(sorted({d.address or "" for d in same}))
        out.append(replace(first, address=None, detail=f"{first.detail}\n\nAffected ({len(same)}): {names}"))
    return out


def _fail(message: str, detail: str = "") -> int:
    _print_diags([Diagnostic.error(message, detail)], None, sys.stderr.isatty())
    return 1


# -- loading ------------------------------------------------------------------------------
def _load(args: argparse.Namespace) -> tuple[Config | None, Diagnostics]:
    from relight.engine.workspace import load_checked
    from relight.lang import ParseCache

    return load_checked(".", cache=ParseCache.from_env(os.environ))


def _state_path(config: Config | None) -> str:
    from relight.engine.workspace import state_path

    return state_path(config)


def _backend(config: Config | None) -> Any:
    from relight.state import LocalBackend

    return LocalBackend(_state_path(config))


@contextlib.contextmanager
def _maybe_lock(engine: Any, args: argparse.Namespace, operation: str) -> Iterator[None]:
    if getattr(args, "lock", "true") == "false":
        yield
        return
    with engine.lock(operation, parse_timeout(args)):
        yield


def parse_timeout(args: argparse.Namespace) -> float:
    from relight.cli.args import parse_duration

    return parse_duration(getattr(args, "lock_timeout", "0s"))


# -- commands -----------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    config, diags = _load(args)
    _print_diags(diags, config.sources if config else None, _color(args))
    if diags.has_errors:
        return 1
    print("relight has been successfully initialized! Providers are built in; nothing to download.")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    config, diags = _load(args)
    if config is not None and not diags.has_errors:
        from relight.engine.graph import build_graph
        from relight.engine.validate import validate_schemas
        from relight.providers.registry import ProviderRegistry

        _, d = build_graph(config)
        diags.extend(d)
        diags.extend(validate_schemas(config, ProviderRegistry()))
        if config.relight is not None and not diags.has_errors:
            from relight.heal.policy import load_policy

            variables, d = _variables(args, config)
            if not d.has_errors:  # missing variables are plan's business, not validate's
                diags.extend(load_policy(config, variables, dict(os.environ))[1])
    if args.json:
        print(
            json.dumps(
                {
                    "valid": not diags.has_errors,
                    "error_count": len(diags.errors),
                    "diagnostics": [d.to_json() for d in diags],
                },
                indent=2,
            )
        )
        return 1 if diags.has_errors else 0
    _print_diags(diags, config.sources if config else None, _color(args))
    if diags.has_errors:
        return 1
    print("Success! The configuration is valid.")
    return 0


def _engine(args: argparse.Namespace, config: Config, variables: dict[str, Any]) -> Any:
    from relight.cli.progress import CliHook
    from relight.engine import Engine
    from relight.providers.registry import ProviderRegistry

    hook = CliHook(sys.stderr if getattr(args, "json", False) else sys.stdout)
    return Engine(config, _backend(config), ProviderRegistry(), variables, hook)


def _variables(args: argparse.Namespace, config: Config) -> tuple[dict[str, Any], Diagnostics]:
    from relight.lang import collect_variable_values

    return collect_variable_values(config, list(getattr(args, "vars", [])), dict(os.environ))


def _plan_options(args: argparse.Namespace, destroy: bool) -> Any:
    from relight.addrs import InstanceAddr
    from relight.engine import PlanMode, PlanOptions

    for addr in [*args.target, *args.replace]:
        InstanceAddr.parse(addr)  # raises ValueError with a clear message
    mode = PlanMode.DESTROY if destroy else PlanMode.REFRESH_ONLY if args.refresh_only else PlanMode.NORMAL
    return PlanOptions(
        mode=mode,
        refresh=args.refresh != "false",
        targets=tuple(args.target),
        replace=tuple(args.replace),
        parallelism=max(1, args.parallelism),
    )


def _show_plan(args: argparse.Namespace, plan: Any) -> None:
    from relight.cli.render import plan_to_json, render_plan

    if getattr(args, "json", False):
        print(json.dumps(plan_to_json(plan), indent=2, default=str))
    else:
        print(render_plan(plan, _color(args)))


def cmd_plan(args: argparse.Namespace, destroy: bool | None = None) -> int:
    config, diags = _load(args)
    if config is None or diags.has_errors:
        _print_diags(diags, config.sources if config else None, _color(args))
        return 1
    variables, d = _variables(args, config)
    diags.extend(d)
    if diags.has_errors:
        _print_diags(diags, config.sources, _color(args))
        return 1
    try:
        options = _plan_options(args, bool(args.destroy if destroy is None else destroy))
    except ValueError as exc:
        return _fail("Invalid address", str(exc))
    engine = _engine(args, config, variables)
    with _maybe_lock(engine, args, "plan"):
        plan, d = engine.plan(options)
    diags.extend(d)
    _print_diags(diags, config.sources, _color(args))
    if diags.has_errors:
        return 1
    _show_plan(args, plan)
    if args.out:
        from relight.engine import write_plan

        write_plan(plan, args.out)
        if not args.json:
            print(
                f"\nSaved the plan to: {args.out}\n\nTo perform exactly these actions, run:\n"
                f"    relight apply {args.out}"
            )
    elif not args.json and plan.has_changes:
        print(
            "\nNote: You didn't use the -out option to save this plan, so relight can't "
            'guarantee to take exactly these actions if you run "relight apply" now.'
        )
    if args.detailed_exitcode and plan.has_changes:
        return 2
    return 0


def _confirm(destroy: bool) -> bool:
    what = "destroy all remote objects managed by relight here" if destroy else "perform these actions"
    print(
        f"\nDo you want to {what}?\n  relight will perform the actions described above.\n"
        "  Only 'yes' will be accepted to approve.\n"
    )
    try:
        answer = input("  Enter a value: ")
    except EOFError:
        answer = ""
    return answer.strip() == "yes"


def cmd_apply(args: argparse.Namespace, destroy: bool = False) -> int:
    from relight.engine import read_plan
    from relight.providers.clock import CLOCK

    started, (cloud_before, _calls) = time.monotonic(), CLOCK.snapshot()

    destroy = destroy or bool(getattr(args, "destroy", False))
    config, diags = _load(args)
    if config is None or diags.has_errors:
        _print_diags(diags, config.sources if config else None, _color(args))
        return 1
    saved = None
    if getattr(args, "planfile", None):
        try:
            saved = read_plan(args.planfile)
        except PlanError as exc:
            return _fail("Failed to load the saved plan", str(exc))
        variables = saved.variables
    else:
        variables, d = _variables(args, config)
        diags.extend(d)
        if diags.has_errors:
            _print_diags(diags, config.sources, _color(args))
            return 1
        try:
            options = _plan_options(args, destroy)
        except ValueError as exc:
            return _fail("Invalid address", str(exc))
    engine = _engine(args, config, variables)
    try:
        with _maybe_lock(engine, args, "apply"):
            if saved is None:
                plan, d = engine.plan(options)
                diags.extend(d)
                _print_diags(diags, config.sources, _color(args))
                if diags.has_errors:
                    return 1
                _show_plan(args, plan)
                if not plan.has_changes:
                    _print_outputs_after(engine)
                    return 0
                asked = time.monotonic()
                if not args.auto_approve and not _confirm(destroy):
                    print("\nApply cancelled.")
                    return 1
                started += time.monotonic() - asked  # time at the prompt is the person's, not relight's
                diags = Diagnostics()
            else:
                plan = saved
            state, d = engine.apply(plan, parallelism=max(1, args.parallelism))
    except PlanError as exc:
        return _fail("Cannot apply the saved plan", str(exc))
    finally:
        close = getattr(engine.hook, "close", None)
        if close:
            close()
    diags.extend(d)
    _print_diags(diags, config.sources, _color(args))
    if diags.has_errors:
        print(
            "\nApply failed: some actions did not complete (see the errors above). What did "
            "complete is recorded in the state; run apply again after fixing the cause.",
            file=sys.stderr,
        )
        return 1
    add, change, gone = plan.counts()
    if destroy:
        print(f"\nDestroy complete! Resources: {gone} destroyed.")
    else:
        print(f"\nApply complete! Resources: {add} added, {change} changed, {gone} destroyed.")
    total, cloud = time.monotonic() - started, CLOCK.snapshot()[0] - cloud_before
    if cloud > 0:
        print(f"Took {total:.1f}s: {cloud:.1f}s waiting on the cloud API, {max(0.0, total - cloud):.1f}s in relight.")
    _print_outputs(state.outputs)
    return 0


def _print_outputs_after(engine: Any) -> None:
    try:
        state = engine.backend.read()
    except StateError:
        return
    _print_outputs(state.outputs)


def _print_outputs(outputs: dict[str, Any]) -> None:
    from relight.cli.render import render_value

    if not outputs:
        return
    print("\nOutputs:\n")
    for name in sorted(outputs):
        out = outputs[name]
        text = "<sensitive>" if out.sensitive else render_value(out.value)
        print(f"{name} = {text}")


def cmd_destroy(args: argparse.Namespace) -> int:
    args.planfile = None
    return cmd_apply(args, destroy=True)


def cmd_output(args: argparse.Namespace) -> int:
    from relight.cli.render import render_value
    from relight.lang import load_config

    config, _ = load_config(".")
    state = _backend(config).read()
    outputs = state.outputs
    if args.name:
        if args.name not in outputs:
            return _fail(
                f'Output "{args.name}" not found',
                "The output variable requested could not be found in the state. "
                "Run 'relight apply' first, or check the name with 'relight output'.",
            )
        value = outputs[args.name].value
        if args.json:
            print(json.dumps(value))
        elif args.raw and isinstance(value, str | int | float | bool):
            print(value if not isinstance(value, bool) else str(value).lower(), end="")
        else:
            print(render_value(value))
        return 0
    if args.json:
        doc = {
            n: {"sensitive": o.sensitive, "type": o.type if o.type is not None else type_of(o.value), "value": o.value}
            for n, o in sorted(outputs.items())
        }
        print(json.dumps(doc, indent=2))
        return 0
    if not outputs:
        print("No outputs found. Declare output blocks and run 'relight apply'.", file=sys.stderr)
        return 0
    for name in sorted(outputs):
        o = outputs[name]
        print(f"{name} = {'<sensitive>' if o.sensitive else render_value(o.value)}")
    return 0


def cmd_state(args: argparse.Namespace) -> int:
    from relight.cli import state_cmds

    return state_cmds.run(args)


def cmd_force_unlock(args: argparse.Namespace) -> int:
    from relight.lang import load_config

    config, _ = load_config(".")
    backend = _backend(config)
    if not args.force:
        print(
            f"Do you really want to force-unlock?\n  relight will remove the lock {args.lock_id} on "
            "the state. Only do this if you are sure no other run holds it.\n  Only 'yes' will "
            "be accepted to confirm.\n"
        )
        try:
            if input("  Enter a value: ").strip() != "yes":
                print("force-unlock cancelled.")
                return 1
        except EOFError:
            print("force-unlock cancelled.")
            return 1
    backend.force_unlock(args.lock_id)
    print("relight state has been successfully unlocked!")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from relight.engine.graph import build_graph

    config, diags = _load(args)
    if config is None or diags.has_errors:
        _print_diags(diags, config.sources if config else None, True)
        return 1
    graph, d = build_graph(config)
    if d.has_errors:
        _print_diags(d, config.sources, True)
        return 1
    print('digraph {\n  compound = "true"\n  newrank = "true"\n  subgraph "root" {')
    for node in graph.order:
        print(f'    "{node}" [label="{node}"]')
    for node in graph.order:
        for dep in sorted(graph.deps[node]):
            print(f'    "{node}" -> "{dep}"')
    print("  }\n}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    config, diags = _load(args)
    if config is None or diags.has_errors:
        _print_diags(diags, config.sources if config else None, _color(args))
        return 1
    variables, d = _variables(args, config)
    diags.extend(d)
    if diags.has_errors:
        _print_diags(diags, config.sources, _color(args))
        return 1
    engine = _engine(args, config, variables)
    with _maybe_lock(engine, args, "import"):
        _state, d = engine.import_(args.address, args.id)
    diags.extend(d)
    _print_diags(diags, config.sources, _color(args))
    if diags.has_errors:
        return 1
    print(
        "\nImport successful!\n\nThe resources that were imported are shown above. These resources are now in\n"
        "your relight state and will henceforth be managed by relight."
    )
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init,
    "validate": cmd_validate,
    "plan": cmd_plan,
    "apply": cmd_apply,
    "destroy": cmd_destroy,
    "output": cmd_output,
    "state": cmd_state,
    "force-unlock": cmd_force_unlock,
    "graph": cmd_graph,
    "import": cmd_import,
    "heal": lambda a: _heal_cmds().cmd_heal(a),
    "watch": lambda a: _heal_cmds().cmd_watch(a),
    "incidents": lambda a: _heal_cmds().cmd_incidents(a),
}


def _heal_cmds() -> Any:
    from relight.cli import heal_cmds

    return heal_cmds


def run(args: argparse.Namespace) -> int:
    """Run one command; translate expected failures into messages and exit code 1."""
    from relight.errors import ConfigError, RelightError, StateLockedError

    try:
        return _COMMANDS[args.command](args)
    except StateLockedError as exc:
        return _fail("Error acquiring the state lock", str(exc))
    except StateError as exc:
        return _fail("Failed to load or save the state", str(exc))
    except ConfigError as exc:
        _print_diags(exc.diagnostics, None, True)
        return 1
    except RelightError as exc:
        return _fail(str(exc))
