"""Collection functions: lists, maps and sets (``length``, ``lookup``, ``merge``, ``flatten``, ``range``...)."""

from __future__ import annotations

from collections.abc import Iterator

from relight.lang.funcbase import FuncContext, FunctionError
from relight.lang.functions._args import (
    Number,
    as_bool,
    as_int,
    as_mapping,
    as_num,
    as_seq,
    as_str,
    as_str_list,
    as_whole,
    from_decimal,
    invalid,
    not_null,
    to_decimal,
    type_name,
)
from relight.lang.functions._graphemes import graphemes
from relight.lang.functions._sets import distinct, equal, equality_key, to_set, unify
from relight.values import UNKNOWN, Value, is_wholly_known


def fn_length(ctx: FuncContext, value: Value) -> Value:
    not_null(value, "value")
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, str):
        return len(graphemes(value))
    if isinstance(value, list | dict):
        return len(value)
    raise FunctionError("argument must be a string, a collection type, or a structural type")


def fn_lookup(ctx: FuncContext, mapping: Value, key: Value, *default: Value) -> Value:
    if mapping is UNKNOWN or not is_wholly_known(key):
        return UNKNOWN
    inputs = as_mapping(mapping, "inputMap", "lookup() requires a map as the first argument")
    name = as_str(key, "key")
    if name in inputs:
        return inputs[name]
    if default:
        return default[0]
    raise invalid("inputMap", f'the given object has no attribute "{name}"')


def fn_merge(ctx: FuncContext, *maps: Value) -> Value:
    out: dict[str, Value] = {}
    for mapping in maps:
        if mapping is None:
            continue
        if mapping is UNKNOWN:
            return UNKNOWN
        if not isinstance(mapping, dict):
            raise FunctionError(f'arguments must be maps or objects, got "{type_name(mapping)}"')
        out.update(mapping)
    return out


def fn_concat(ctx: FuncContext, *seqs: Value) -> Value:
    if not seqs:
        raise FunctionError("at least one argument is required")
    out: list[Value] = []
    for seq in seqs:
        if seq is UNKNOWN:
            return UNKNOWN
        if not isinstance(seq, list):
            raise invalid("seqs", f"all arguments must be lists or tuples; got {type_name(seq)}")
        out.extend(seq)
    return out


def fn_keys(ctx: FuncContext, mapping: Value) -> Value:
    if mapping is UNKNOWN:
        return UNKNOWN
    return sorted(as_mapping(mapping, "inputMap", "must have map or object type"))


def fn_values(ctx: FuncContext, mapping: Value) -> Value:
    if mapping is UNKNOWN:
        return UNKNOWN
    if not isinstance(mapping, dict):
        raise FunctionError("values() requires a map as the first argument")
    return [mapping[k] for k in sorted(mapping)]


def fn_element(ctx: FuncContext, seq: Value, index: Value) -> Value:
    if seq is UNKNOWN or not is_wholly_known(index):
        return UNKNOWN
    not_null(seq, "list")
    if not isinstance(seq, list):
        raise FunctionError(f"cannot read elements from {type_name(seq)}")
    position = as_whole(index, "index", "invalid index: ")
    if not seq:
        raise FunctionError("cannot use element function with an empty list")
    if position < 0:
        raise FunctionError("cannot use element function with a negative index")
    return seq[position % len(seq)]


def fn_contains(ctx: FuncContext, seq: Value, value: Value) -> Value:
    items = as_seq(seq, "list", "argument must be list, tuple, or set")
    return any(equal(item, value) for item in items)


def fn_index(ctx: FuncContext, seq: Value, value: Value) -> Value:
    items = as_seq(seq, "list", "argument must be a list or tuple")
    for i, item in enumerate(items):
        if equal(item, value):
            return i
    raise FunctionError("item not found")


def fn_coalesce(ctx: FuncContext, *args: Value) -> Value:
    unified = unify(list(args))
    if unified is None or not args:
        raise FunctionError("all arguments must have the same type")
    for value in unified:
        if value is not None and value != "":
            return value
    raise FunctionError("no non-null, non-empty-string arguments")


def fn_coalescelist(ctx: FuncContext, *args: Value) -> Value:
    if not args:
        raise FunctionError("at least one argument is required")
    for arg in args:
        if not isinstance(arg, list):
            raise FunctionError("coalescelist arguments must be lists or tuples")
        if arg:
            return arg
    raise FunctionError("no non-null arguments")


def fn_compact(ctx: FuncContext, seq: Value) -> Value:
    items = as_seq(seq, "list")
    return [as_str(item, "list") for item in items if item is not None and item != ""]


def fn_distinct(ctx: FuncContext, seq: Value) -> Value:
    unified = unify(as_seq(seq, "list"))
    if unified is None:
        raise invalid("list", "list of any single type required")
    return distinct(unified)


def _flatten(items: list[Value]) -> Iterator[Value]:
    for item in items:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


def fn_flatten(ctx: FuncContext, seq: Value) -> Value:
    if not isinstance(seq, list):
        raise FunctionError("can only flatten lists, sets and tuples")
    return list(_flatten(seq))


def fn_zipmap(ctx: FuncContext, keys: Value, values: Value) -> Value:
    names = as_str_list(keys, "keys")
    items = as_seq(values, "values")
    if len(names) != len(items):
        raise FunctionError(f"number of keys ({len(names)}) does not match number of values ({len(items)})")
    return dict(zip(names, items, strict=True))


def fn_reverse(ctx: FuncContext, seq: Value) -> Value:
    not_null(seq, "list")
    if not isinstance(seq, list):
        raise invalid("list", f"can only reverse list or tuple values, not {type_name(seq)}")
    return list(reversed(seq))


def fn_sort(ctx: FuncContext, seq: Value) -> Value:
    return sorted(as_str_list(seq, "list"))


def fn_slice(ctx: FuncContext, seq: Value, start: Value, end: Value) -> Value:
    items = as_seq(seq, "list", "must be a list or tuple value")
    first = as_int(start, "start_index")
    last = as_int(end, "end_index")
    if first < 0:
        raise invalid("start_index", "start index must not be less than zero")
    if last > len(items):
        raise invalid("end_index", "end index must not be greater than the length of the list")
    if first > last:
        raise invalid("start_index", "start index must not be greater than end index")
    return items[first:last]


def fn_one(ctx: FuncContext, seq: Value) -> Value:
    if not isinstance(seq, list) or len(seq) > 1:
        raise invalid("list", "must be a list, set, or tuple value with either zero or one elements")
    return seq[0] if seq else None


def fn_chunklist(ctx: FuncContext, seq: Value, size: Value) -> Value:
    items = as_seq(seq, "list")
    chunk = as_int(size, "size")
    if chunk < 0:
        raise FunctionError("the size argument must be positive")
    if chunk == 0:
        return [list(items)] if items else []
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def _bool_list(seq: Value) -> list[bool]:
    items = as_seq(seq, "list")
    out = []
    for i, item in enumerate(items):
        if not (isinstance(item, bool) or item in ("true", "false")):
            raise invalid("list", f"element {i}: bool required")
        out.append(as_bool(item, "list"))
    return out


def fn_alltrue(ctx: FuncContext, seq: Value) -> Value:
    return all(_bool_list(seq))


def fn_anytrue(ctx: FuncContext, seq: Value) -> Value:
    return any(_bool_list(seq))


def fn_setproduct(ctx: FuncContext, *sets: Value) -> Value:
    if len(sets) < 2:
        raise FunctionError("at least two arguments are required")
    rows: list[list[Value]] = [[]]
    for s in sets:
        items = as_seq(s, "sets")
        rows = [[*row, item] for row in rows for item in items]
    return rows


def _set_args(sets: tuple[Value, ...]) -> list[list[Value]]:
    if not sets:
        raise FunctionError("at least one argument is required")
    return [as_seq(s, "first_set" if i == 0 else "other_sets") for i, s in enumerate(sets)]


def fn_setunion(ctx: FuncContext, *sets: Value) -> Value:
    return to_set([item for s in _set_args(sets) for item in s], "sets")


def fn_setintersection(ctx: FuncContext, *sets: Value) -> Value:
    lists = _set_args(sets)
    result = to_set(lists[0], "first_set")
    for other in lists[1:]:
        keys = {equality_key(v) for v in to_set(other, "other_sets")}
        result = [v for v in result if equality_key(v) in keys]
    return result


def fn_setsubtract(ctx: FuncContext, a: Value, b: Value) -> Value:
    remove = {equality_key(v) for v in to_set(as_seq(b, "b"), "b")}
    return [v for v in to_set(as_seq(a, "a"), "a") if equality_key(v) not in remove]


def fn_transpose(ctx: FuncContext, mapping: Value) -> Value:
    out: dict[str, list[str]] = {}
    for key in sorted(as_mapping(mapping, "values")):
        for value in as_str_list(mapping[key], "values"):
            out.setdefault(value, []).append(key)
    return out


def fn_matchkeys(ctx: FuncContext, values: Value, keys: Value, searchset: Value) -> Value:
    items = as_seq(values, "values")
    names = as_seq(keys, "keys")
    wanted = as_seq(searchset, "searchset")
    if len(items) != len(names):
        raise FunctionError("length of keys and values should be equal")
    wanted_keys = {equality_key(w) for w in wanted}
    return [v for v, k in zip(items, names, strict=True) if equality_key(k) in wanted_keys]


def fn_range(ctx: FuncContext, *params: Value) -> Value:
    nums = [as_num(p, "params") for p in params]
    start: Number
    limit: Number
    step: Number
    if len(nums) == 1:
        start, limit, step = 0, nums[0], (1 if nums[0] >= 0 else -1)
    elif len(nums) == 2:
        start, limit = nums
        step = 1 if limit >= start else -1
    else:
        start, limit, step = nums
        if step < 0 and limit > start:
            raise invalid("params", "end must be less than start when step is negative")
        if step > 0 and limit < start:
            raise invalid("params", "end must be greater than start when step is positive")
    # Decimal steps, so range(0.1, 0.5, 0.1) yields 0.3 and not 0.30000000000000004.
    first, increment = to_decimal(start), to_decimal(step)
    out: list[Value] = []
    current = first
    while (step >= 0 and current < limit) or (step < 0 and current > limit):
        if len(out) >= 1024:
            raise FunctionError(
                "more than 1024 values were generated; either decrease the difference "
                "between start and end or use a smaller step"
            )
        out.append(from_decimal(current))
        current = first + increment * len(out)
    return out
