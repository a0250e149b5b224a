"""Terraform's built-in functions, as an explicit registry.

Contract: :data:`FUNCTIONS` maps each function name to a :class:`FunctionSpec` whose ``impl`` is
``impl(ctx, *args) -> Value`` over the plain-Python value model of :mod:`relight.values`.
:func:`call_function` is what the evaluator calls: it checks arity, applies the unknown rule and
then runs the implementation. Every user mistake raises :class:`FunctionError` with a message in
Terraform's words; nothing else is raised on bad input, and no function mutates its arguments.

Terraform's automatic conversions are reproduced where a parameter has a primitive type: a
number or bool given for a string becomes its string form, a decimal string given for a number
becomes that number, and ``"true"``/``"false"`` given for a bool become bools. Bools are never
numbers. Sets are lists; a set of strings or of numbers is kept sorted, as Terraform orders them.
Numbers are ``int`` or ``float``, and an integral float result is returned as an ``int``.

Strings are measured in user-perceived characters (grapheme clusters) by a compact
approximation of Unicode's segmentation rules, enough for accents, emoji and flags.

The implementations live in one module per category, as Terraform's ``lang/funcs`` has them
(:mod:`.strings`, :mod:`.regex`, :mod:`.formatting`, :mod:`.collection`, :mod:`.number`,
:mod:`.conversion`, :mod:`.encoding`, :mod:`.crypto`, :mod:`.filesystem`, :mod:`.cidr`,
:mod:`.dates`), over shared argument checks (:mod:`._args`), set semantics (:mod:`._sets`) and
grapheme clusters (:mod:`._graphemes`). This module is the one place that names them: importing
it builds :data:`FUNCTIONS` and does nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from relight.lang.funcbase import FuncContext, FunctionError, FunctionSpec
from relight.lang.functions import (
    _typing,
    cidr,
    collection,
    conversion,
    crypto,
    dates,
    encoding,
    filesystem,
    formatting,
    number,
    regex,
    strings,
)
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = ["FUNCTIONS", "call_function", "default_functions"]


def _spec(
    name: str,
    impl: Callable[..., Value],
    min_args: int,
    max_args: int | None = -1,
    handles_unknown: bool = False,
    result: _typing.ResultRule | None = None,
) -> FunctionSpec:
    """``max_args`` -1 means "same as min_args"; None means variadic."""
    upper = min_args if max_args == -1 else max_args
    return FunctionSpec(name, impl, min_args, upper, handles_unknown, result)


_STRINGS = _typing.list_of("string")


_SPECS = [
    # strings
    _spec("lower", strings.fn_lower, 1),
    _spec("upper", strings.fn_upper, 1),
    _spec("title", strings.fn_title, 1),
    _spec("trimspace", strings.fn_trimspace, 1),
    _spec("trim", strings.fn_trim, 2),
    _spec("trimprefix", strings.fn_trimprefix, 2),
    _spec("trimsuffix", strings.fn_trimsuffix, 2),
    _spec("chomp", strings.fn_chomp, 1),
    _spec("indent", strings.fn_indent, 2),
    _spec("strrev", strings.fn_strrev, 1),
    _spec("startswith", strings.fn_startswith, 2),
    _spec("endswith", strings.fn_endswith, 2),
    _spec("strcontains", strings.fn_strcontains, 2),
    _spec("substr", strings.fn_substr, 3),
    _spec("split", strings.fn_split, 2, result=_STRINGS),
    _spec("join", strings.fn_join, 1, None),
    _spec("replace", regex.fn_replace, 3),
    _spec("regex", regex.fn_regex, 2),
    _spec("regexall", regex.fn_regexall, 2, result=_typing.list_of()),
    _spec("format", formatting.fn_format, 1, None),
    _spec("formatlist", formatting.fn_formatlist, 1, None, result=_STRINGS),
    _spec("urlencode", strings.fn_urlencode, 1),
    # collections
    _spec("length", collection.fn_length, 1, handles_unknown=True),
    _spec("lookup", collection.fn_lookup, 2, 3, handles_unknown=True),
    _spec("merge", collection.fn_merge, 0, None, handles_unknown=True, result=_typing.merge),
    _spec("concat", collection.fn_concat, 0, None, handles_unknown=True, result=_typing.concat),
    _spec("keys", collection.fn_keys, 1, handles_unknown=True, result=_typing.keys),
    _spec("values", collection.fn_values, 1, handles_unknown=True, result=_typing.values),
    _spec("element", collection.fn_element, 2, handles_unknown=True),
    _spec("contains", collection.fn_contains, 2),
    _spec("index", collection.fn_index, 2),
    _spec("coalesce", collection.fn_coalesce, 0, None),
    _spec("coalescelist", collection.fn_coalescelist, 0, None),
    _spec("compact", collection.fn_compact, 1, result=_STRINGS),
    _spec("distinct", collection.fn_distinct, 1, result=_typing.follows(collection_element=True, always=True)),
    _spec("flatten", collection.fn_flatten, 1),
    _spec("zipmap", collection.fn_zipmap, 2, result=_typing.zipmap),
    _spec("reverse", collection.fn_reverse, 1, result=_typing.follows()),
    _spec("sort", collection.fn_sort, 1, result=_STRINGS),
    _spec("slice", collection.fn_slice, 3, result=_typing.follows()),
    _spec("one", collection.fn_one, 1),
    _spec("chunklist", collection.fn_chunklist, 2, result=_typing.chunks),
    _spec("alltrue", collection.fn_alltrue, 1),
    _spec("anytrue", collection.fn_anytrue, 1),
    _spec("setproduct", collection.fn_setproduct, 0, None, result=_typing.list_of()),
    _spec("setunion", collection.fn_setunion, 1, None, result=_typing.set_of()),
    _spec("setintersection", collection.fn_setintersection, 1, None, result=_typing.set_of()),
    _spec("setsubtract", collection.fn_setsubtract, 2, result=_typing.set_of()),
    _spec("transpose", collection.fn_transpose, 1, result=_typing.transpose),
    _spec("matchkeys", collection.fn_matchkeys, 3, result=_typing.follows(collection_element=True, always=True)),
    _spec("range", collection.fn_range, 1, 3, result=_typing.list_of("number")),
    # numbers
    _spec("min", number.fn_min, 0, None),
    _spec("max", number.fn_max, 0, None),
    _spec("sum", number.fn_sum, 1),
    _spec("abs", number.fn_abs, 1),
    _spec("ceil", number.fn_ceil, 1),
    _spec("floor", number.fn_floor, 1),
    _spec("pow", number.fn_pow, 2),
    _spec("signum", number.fn_signum, 1),
    _spec("log", number.fn_log, 2),
    _spec("parseint", number.fn_parseint, 2),
    # type conversion
    _spec("tostring", conversion.fn_tostring, 1),
    _spec("sensitive", conversion.fn_sensitivity, 1, handles_unknown=True),
    _spec("nonsensitive", conversion.fn_sensitivity, 1, handles_unknown=True),
    _spec("tonumber", conversion.fn_tonumber, 1),
    _spec("tobool", conversion.fn_tobool, 1),
    _spec("tolist", conversion.fn_tolist, 1, result=_typing.list_of()),
    _spec("toset", conversion.fn_toset, 1, result=_typing.set_of()),
    _spec("tomap", conversion.fn_tomap, 1, result=_typing.map_of()),
    # encoding and hashing
    _spec("jsonencode", encoding.fn_jsonencode, 1),
    _spec("jsondecode", encoding.fn_jsondecode, 1),
    _spec("yamlencode", encoding.fn_yamlencode, 1),
    _spec("base64encode", encoding.fn_base64encode, 1),
    _spec("base64decode", encoding.fn_base64decode, 1),
    _spec("base64sha256", crypto.fn_base64sha256, 1),
    _spec("base64sha512", crypto.fn_base64sha512, 1),
    _spec("md5", crypto.text_hash("md5"), 1),
    _spec("sha1", crypto.text_hash("sha1"), 1),
    _spec("sha256", crypto.text_hash("sha256"), 1),
    _spec("sha512", crypto.text_hash("sha512"), 1),
    # files and paths
    _spec("file", filesystem.fn_file, 1),
    _spec("filebase64", filesystem.fn_filebase64, 1),
    _spec("filemd5", crypto.file_hash("md5"), 1),
    _spec("filesha1", crypto.file_hash("sha1"), 1),
    _spec("filesha256", crypto.file_hash("sha256"), 1),
    _spec("filesha512", crypto.file_hash("sha512"), 1),
    _spec("filebase64sha256", crypto.file_base64_hash("sha256"), 1),
    _spec("filebase64sha512", crypto.file_base64_hash("sha512"), 1),
    _spec("fileexists", filesystem.fn_fileexists, 1),
    _spec("fileset", filesystem.fn_fileset, 2, result=_typing.set_of("string")),
    _spec("templatefile", filesystem.fn_templatefile, 2),
    _spec("abspath", filesystem.fn_abspath, 1),
    _spec("basename", filesystem.fn_basename, 1),
    _spec("dirname", filesystem.fn_dirname, 1),
    _spec("pathexpand", filesystem.fn_pathexpand, 1),
    # network
    _spec("cidrsubnet", cidr.fn_cidrsubnet, 3),
    _spec("cidrhost", cidr.fn_cidrhost, 2),
    _spec("cidrnetmask", cidr.fn_cidrnetmask, 1),
    _spec("cidrsubnets", cidr.fn_cidrsubnets, 1, None, result=_STRINGS),
    # time and identity
    _spec("timestamp", dates.fn_timestamp, 0),
    _spec("uuid", crypto.fn_uuid, 0),
]

FUNCTIONS: Mapping[str, FunctionSpec] = {spec.name: spec for spec in _SPECS}
assert len(FUNCTIONS) == len(_SPECS), "a function is registered twice"


def default_functions() -> Mapping[str, FunctionSpec]:
    """The built-in registry (:data:`FUNCTIONS`), what a scope uses unless it is given another."""
    return FUNCTIONS


def _arity_message(spec: FunctionSpec, given: int) -> str:
    if spec.max_args is None:
        expected = f"at least {spec.min_args}"
    elif spec.min_args == spec.max_args:
        expected = str(spec.min_args)
    else:
        expected = f"{spec.min_args} to {spec.max_args}"
    noun = "argument" if expected == "1" else "arguments"
    return f'Function "{spec.name}" expects {expected} {noun}, got {given}'


def call_function(name: str, ctx: FuncContext, args: list[Value]) -> Value:
    """Call the built-in ``name`` with already-evaluated ``args``.

    Raises :class:`FunctionError` for an unknown function name, a wrong number of arguments or
    arguments the function rejects. Unless the function handles unknowns itself, any argument
    that is not wholly known makes the result :data:`UNKNOWN` without calling it.
    """
    spec = FUNCTIONS.get(name)
    if spec is None:
        raise FunctionError(f'There is no function named "{name}".')
    count = len(args)
    if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
        raise FunctionError(_arity_message(spec, count))
    if not spec.handles_unknown and not all(is_wholly_known(a) for a in args):
        return UNKNOWN
    return spec.call(ctx, args)
