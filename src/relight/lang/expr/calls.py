"""Function calls: arity, argument expansion (``...``), the unknown rule, ``try`` and ``can``.

The function table comes from the context (:meth:`EvalContext.function_table`); a
:class:`FunctionError` raised by a function becomes "Error in function call" at the call.
"""

from __future__ import annotations

from typing import Final

from relight.lang._prim import ConversionError
from relight.lang.expr.context import EvalContext, EvalError, PosLike, fail
from relight.lang.expr.nodes import Expr
from relight.lang.funcbase import FunctionError, FunctionSpec
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = ["SPECIAL_FUNCTIONS", "FunctionCall", "unknown_function"]


# --- function calls --------------------------------------------------------------------------


class FunctionCall(Expr):
    __slots__ = ("args", "expand", "name")

    def __init__(self, file: str, pos: PosLike, name: str, args: tuple[Expr, ...], expand: bool) -> None:
        super().__init__(file, pos)
        self.name = name
        self.args = args
        self.expand = expand

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def ev(self, scope: EvalContext) -> Value:
        if self.name == "try":
            return self._try(scope)
        if self.name == "can":
            return self._can(scope)
        spec = scope.function_table().get(self.name)
        if spec is None:
            raise fail(self.range, "Call to unknown function", unknown_function(self.name))
        args = [a.ev(scope) for a in self.args]
        if self.expand:
            expanded = self._expand(args.pop())
            if expanded is UNKNOWN:
                return UNKNOWN
            args.extend(expanded)
        self._check_arity(spec, len(args))
        if not spec.handles_unknown and not all(is_wholly_known(a) for a in args):
            return UNKNOWN
        try:
            return spec.call(scope.function_context(), args)
        except (FunctionError, ConversionError) as err:
            raise fail(
                self.range,
                "Error in function call",
                f'Call to function "{self.name}" failed: {err}.',
            ) from None

    def _expand(self, last: Value) -> Value:
        if last is UNKNOWN or isinstance(last, list):
            return last
        what = "must not be null" if last is None else "must be of a tuple, list, or set type"
        raise fail(
            self.args[-1].range,
            "Invalid expanding argument value",
            f"The expanding argument (indicated by ...) {what}.",
        )

    def _check_arity(self, spec: FunctionSpec, count: int) -> None:
        if count < spec.min_args:
            raise fail(
                self.range,
                "Not enough function arguments",
                f'Function "{self.name}" expects at least {spec.min_args} argument(s), but {count} were given.',
            )
        if spec.max_args is not None and count > spec.max_args:
            raise fail(
                self.range,
                "Too many function arguments",
                f'Function "{self.name}" expects only {spec.max_args} argument(s).',
            )

    def _try(self, scope: EvalContext) -> Value:
        errors: list[str] = []
        for arg in self.args:
            try:
                value = arg.ev(scope)
            except EvalError as err:
                errors.extend(d.detail or d.summary for d in err.diags)
                continue
            return value if is_wholly_known(value) else UNKNOWN
        raise fail(
            self.range,
            "Error in function call",
            'Call to function "try" failed: no expression succeeded:\n- ' + "\n- ".join(errors or ["no arguments"]),
        )

    def _can(self, scope: EvalContext) -> Value:
        if len(self.args) != 1:
            raise fail(self.range, "Incorrect number of arguments", 'Function "can" expects one argument.')
        try:
            value = self.args[0].ev(scope)
        except EvalError:
            return False
        return True if is_wholly_known(value) else UNKNOWN


SPECIAL_FUNCTIONS: Final = frozenset({"try", "can"})


def unknown_function(name: str) -> str:
    return f'There is no function named "{name}".'
