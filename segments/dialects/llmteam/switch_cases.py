"""A `switch` case `expression`: llmteam runs it with Python `eval`; here only a parsed safe subset.

llmteam (engine/handlers/switch_handler.py) evaluates a case's text with
`eval(text, {"__builtins__": {}}, {"value": target, "input": input})`, which reaches Python's
object graph. This module parses the text with `ast.parse` (parsing runs nothing) and accepts
only: the names `value` and `input`, JSON literals (strings, numbers, True/False/None, lists,
tuples), `and`/`or`/`not`, comparisons (`== != < <= > >= in`, `not in`, chained), subscripts with a
literal key, `len(x)`, `str(x)`, and the methods `lower() upper() strip() startswith(s)
endswith(s) get(k[, d])`. Anything else is refused, naming what. An exception in llmteam makes
the case not match; here a type mismatch gives null, which does not match either.
"""

from __future__ import annotations

import ast
from typing import Any

from segments.dialects.llmteam.jsonata_text import literal, string
from segments.errors import SegmentError


class UnsafeCase(SegmentError, ValueError):
    """A case expression outside the safe subset."""


_COMPARE = {ast.Eq: "=", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_METHODS = {"lower": 0, "upper": 0, "strip": 0, "startswith": 1, "endswith": 1, "get": (1, 2)}


def translate_case(text: str, value: str, data: str) -> str:
    """JSONata (a boolean) for case `text`, with `value` and `input` bound to these expressions."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise UnsafeCase(f"is not a Python expression ({err.msg})") from None
    body = _node(tree.body)
    return f"($value := {value}; $input := {data}; $pb({body}))"


def _node(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, bool | int | float | str):
            return literal(node.value)
        raise UnsafeCase(f"uses the literal {node.value!r}, which is not JSON")
    if isinstance(node, ast.Name):
        if node.id in ("value", "input"):
            return f"${node.id}"
        raise UnsafeCase(f"reads the name '{node.id}'; only 'value' and 'input' exist")
    if isinstance(node, ast.List | ast.Tuple):
        return "[" + ", ".join(_node(e) for e in node.elts) + "]"
    if isinstance(node, ast.BoolOp):
        parts = [_node(v) for v in node.values]
        result = parts[-1]
        for part in reversed(parts[:-1]):
            keep = "$t" if isinstance(node.op, ast.Or) else result
            other = result if isinstance(node.op, ast.Or) else "$t"
            result = f"($t := {part}; $pb($t) ? {keep} : {other})"
        return result
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return f"$not($pb({_node(node.operand)}))"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"-({_node(node.operand)})"
    if isinstance(node, ast.Compare):
        tests = []
        left = _node(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _node(comparator)
            tests.append(_compare(op, left, right))
            left = right
        return " and ".join(f"({t})" for t in tests)
    if isinstance(node, ast.Subscript):
        key = node.slice
        if (
            not isinstance(key, ast.Constant)
            or not isinstance(key.value, str | int)
            or isinstance(key.value, bool)
        ):
            raise UnsafeCase("indexes with something other than a literal key or position")
        target = _node(node.value)
        if isinstance(key.value, str):
            return f"$lookup({target}, {string(key.value)})"
        return f"({target})[{key.value}]"
    if isinstance(node, ast.Call):
        return _call(node)
    raise UnsafeCase(f"uses {type(node).__name__}, which is outside the safe subset")


def _compare(op: ast.cmpop, left: str, right: str) -> str:
    if type(op) in _COMPARE:
        symbol = _COMPARE[type(op)]
        if symbol in ("=", "!="):
            return f"{left} {symbol} {right}"
        return (
            f"($l := {left}; $r := {right}; ($type($l) = 'number' and $type($r) = 'number') or "
            f"($type($l) = 'string' and $type($r) = 'string') ? $l {symbol} $r : null)"
        )
    if isinstance(op, ast.In | ast.NotIn):
        test = (
            f"($l := {left}; $r := {right}; $type($r) = 'string' ? $contains($r, $string($l)) : "
            f"$type($r) = 'object' ? $l in $keys($r) : $l in $r)"
        )
        return test if isinstance(op, ast.In) else f"$not({test})"
    raise UnsafeCase(f"uses the comparison {type(op).__name__}, which is outside the safe subset")


def _call(node: ast.Call) -> str:
    if node.keywords:
        raise UnsafeCase("passes keyword arguments")
    args = [_node(a) for a in node.args]
    if isinstance(node.func, ast.Name):
        if node.func.id == "len" and len(args) == 1:
            return (
                f"($v := {args[0]}; $type($v) = 'string' ? $length($v) : $type($v) = 'object' ? "
                f"$count($keys($v)) : $count($v))"
            )
        if node.func.id == "str" and len(args) == 1:
            return f"$ps({args[0]})"
        raise UnsafeCase(f"calls '{node.func.id}'; only len() and str() are allowed")
    if isinstance(node.func, ast.Attribute):
        method = node.func.attr
        arity: Any = _METHODS.get(method)
        allowed = arity if isinstance(arity, tuple) else (arity,)
        if arity is None or len(args) not in allowed:
            raise UnsafeCase(f"calls the method '{method}', which is outside the safe subset")
        target = _node(node.func.value)
        if method == "lower":
            return f"$lowercase({target})"
        if method == "upper":
            return f"$uppercase({target})"
        if method == "strip":
            return f"$trim({target})"
        if method == "startswith":
            return f"($s := {target}; $p := {args[0]}; $substring($s, 0, $length($p)) = $p)"
        if method == "endswith":
            return f"($s := {target}; $p := {args[0]}; $length($p) = 0 or $substring($s, -$length($p)) = $p)"
        default = args[1] if len(args) == 2 else "null"
        return f"($o := {target}; $k := {args[0]}; $k in $keys($o) ? $lookup($o, $k) : {default})"
    raise UnsafeCase("calls something other than a name or a method")
