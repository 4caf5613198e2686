"""A small, safe expression language for derived features such as labels.

`tips > 0.2 * fare` is parsed with Python's `ast` into a tree of the few node types below; the
tree is never compiled or evaluated as Python. The preprocessing module turns it into
TensorFlow ops, so the derivation is part of the transform graph and serving computes the same
values as training.

Grammar: column names, number/string/boolean literals, `+ - * /`, unary `-`, comparisons
(`< <= > >= == !=`, chains like `0 < x < 5`), `and`, `or`, `not`, parentheses, and calls of
the functions below (positional arguments only). A condition yields 0/1 (int64); arithmetic
yields a float32 number. Arithmetic runs in float64, so integer columns up to 2**53 compare
exactly.

| function           | arguments                    | value                                       |
|--------------------|------------------------------|---------------------------------------------|
| `abs(x)`           | number                       | the absolute value                          |
| `exp(x)`           | number                       | e**x                                        |
| `log(x)`           | number                       | natural log; 0 where x <= 0                 |
| `log1p(x)`         | number                       | log(1 + x); 0 where x <= -1                 |
| `sqrt(x)`          | number                       | square root; 0 where x < 0                  |
| `pow(x, y)`        | numbers                      | x**y; 0 where x < 0 and y is fractional,    |
|                    |                              | or x == 0 and y < 0                         |
| `min(a, b, ...)`   | two or more numbers          | the smallest                                |
| `max(a, b, ...)`   | two or more numbers          | the largest                                 |
| `clip(x, lo, hi)`  | numbers                      | `min(max(x, lo), hi)`, as `numpy.clip`      |
| `where(cond, a, b)`| a condition, then two values | a where cond holds, else b; a and b have one |
|                    | of one type                  | type: numbers, conditions or strings        |

Every function is total, and every numeric value the graph outputs is finite (for finite
inputs). The language already makes `x / 0` 0 rather than infinity; the functions follow the
same rule: where the real result does not exist (the log of 0 or of a negative, the root of a
negative, `pow(0, -1)`) the value is 0, and a result beyond float32's range (`exp(100)`)
saturates at the largest float32, about ±3.4e38. The reason is the label: one NaN or infinite
label makes the training loss NaN for good, and a missing number is filled with 0 by default,
so `log(value)` on a column with gaps would otherwise produce -inf. Where 0 is the wrong
stand-in, say what to use: `log1p(x)` for data with zeros, or `where(x > 0, log(x), -1)`.

Checks happen in two places. `parse_expression` refuses anything outside the grammar, unknown
functions (suggesting the closest name), wrong numbers of arguments, and every type error that
holds whatever the columns' types turn out to be (`log('a')`, `where(fare, 1, 2)`: a column is
never a condition, `where(x > 0, 'a', 1)`), so these are found when the pipeline is built.
`Expression.result_type` checks the rest against the schema's column types (`log(company)` for
a string column). Messages name the function, the argument and its text; the spec adds the
feature's name.

Example:
    >>> expression = parse_expression("tips > 0.2 * fare")
    >>> sorted(expression.columns)
    ['fare', 'tips']
    >>> expression.result_type({"tips": ColumnType.FLOAT, "fare": ColumnType.FLOAT})
    <ValueType.BOOL: 'bool'>
    >>> parse_expression("log1p(fare)").result_type({"fare": ColumnType.FLOAT})
    <ValueType.NUMBER: 'number'>
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import enum
import types
from collections.abc import Mapping

from components.transform.schema import ColumnType

MAX_LENGTH = 1000
_BINARY_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARE_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
                ast.NotEq: "!="}
_BOOL_OPS = {ast.And: "and", ast.Or: "or"}


class ExpressionError(ValueError):
    """An expression that is not in the grammar or does not type-check."""


class ValueType(enum.StrEnum):
    """The type of an expression node's value."""

    NUMBER = "number"
    BOOL = "bool"
    STRING = "string"


@dataclasses.dataclass(frozen=True)
class Function:
    """A function of the language: its parameters' names, for arity and error messages.

    `variadic` functions (`min`, `max`) take two or more arguments, named by position.

    Example:
        >>> FUNCTIONS["clip"].signature
        'clip(x, lo, hi)'
    """

    name: str
    params: tuple[str, ...]
    variadic: bool = False

    @property
    def signature(self) -> str:
        """The call as the docs write it, e.g. `clip(x, lo, hi)`."""
        return f"{self.name}({', '.join(self.params + (('...',) if self.variadic else ()))})"

    def param(self, index: int) -> str:
        """How messages name the argument at `index` (0-based)."""
        return f"{index + 1}" if self.variadic else self.params[index]


FUNCTIONS: Mapping[str, Function] = types.MappingProxyType({f.name: f for f in (
    Function("abs", ("x",)),
    Function("exp", ("x",)),
    Function("log", ("x",)),
    Function("log1p", ("x",)),
    Function("sqrt", ("x",)),
    Function("pow", ("x", "y")),
    Function("min", ("a", "b"), variadic=True),
    Function("max", ("a", "b"), variadic=True),
    Function("clip", ("x", "lo", "hi")),
    Function("where", ("cond", "a", "b")),
)})
_FUNCTION_LIST = ", ".join(sorted(FUNCTIONS))


@dataclasses.dataclass(frozen=True)
class ColumnRef:
    name: str


@dataclasses.dataclass(frozen=True)
class Literal:
    value: int | float | bool | str


@dataclasses.dataclass(frozen=True)
class Binary:
    op: str  # one of + - * /
    left: Node
    right: Node


@dataclasses.dataclass(frozen=True)
class Negate:
    operand: Node


@dataclasses.dataclass(frozen=True)
class Not:
    operand: Node


@dataclasses.dataclass(frozen=True)
class Compare:
    op: str  # one of < <= > >= == !=
    left: Node
    right: Node


@dataclasses.dataclass(frozen=True)
class Logical:
    op: str  # "and" or "or"
    operands: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Call:
    function: str  # a key of FUNCTIONS
    args: tuple[Node, ...]
    # The arguments' source text, for error messages only.
    arg_texts: tuple[str, ...] = dataclasses.field(default=(), compare=False)


Node = ColumnRef | Literal | Binary | Negate | Not | Compare | Logical | Call


@dataclasses.dataclass(frozen=True)
class Expression:
    """A parsed expression: its source text and its tree.

    Build one with `parse_expression`.
    """

    text: str
    root: Node

    @property
    def columns(self) -> frozenset[str]:
        """The column names the expression reads."""
        return frozenset(_columns(self.root))

    def result_type(self, column_types: Mapping[str, ColumnType]) -> ValueType:
        """Type-checks the tree against the column types and returns the result's type.

        Raises:
            ExpressionError: On an unknown column, or operands of the wrong type.
        """
        (result,) = _checked_types(self.root, column_types, self.text)
        return result


def parse_expression(text: str) -> Expression:
    """Parses `text` into an `Expression`, checking what needs no schema.

    Example:
        >>> parse_expression("clip(fare, 0, 100) / 10").columns
        frozenset({'fare'})

    Raises:
        TypeError: If `text` is not a string.
        ExpressionError: If `text` is empty, too long, uses anything outside the grammar,
            calls a function wrongly, or cannot type-check whatever the columns' types are.
    """
    if not isinstance(text, str):
        raise TypeError(f"An expression must be a string, got {type(text).__name__}: {text!r}.")
    if not text.strip():
        raise ExpressionError("The expression is empty.")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"The expression is {len(text)} characters long; the limit is "
                              f"{MAX_LENGTH}.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise ExpressionError(f"{text!r} is not a valid expression: {e.msg}.") from None
    expression = Expression(text, _convert(tree.body, text))
    _checked_types(expression.root, None, text)
    return expression


def _convert(node: ast.AST, text: str) -> Node:
    if isinstance(node, ast.Name):
        return ColumnRef(node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
        return Literal(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPS:
        return Binary(_BINARY_OPS[type(node.op)], _convert(node.left, text),
                      _convert(node.right, text))
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return Negate(_convert(node.operand, text))
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, text)
        if isinstance(node.op, ast.Not):
            return Not(_convert(node.operand, text))
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE_OPS for op in node.ops):
        operands = [_convert(node.left, text)] + [_convert(c, text) for c in node.comparators]
        comparisons = tuple(
            Compare(_COMPARE_OPS[type(op)], left, right)
            for op, left, right in zip(node.ops, operands, operands[1:], strict=False))
        return comparisons[0] if len(comparisons) == 1 else Logical("and", comparisons)
    if isinstance(node, ast.BoolOp):
        return Logical(_BOOL_OPS[type(node.op)], tuple(_convert(v, text) for v in node.values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _convert_call(node, text)
    fragment = ast.get_source_segment(text.strip(), node) or type(node).__name__
    raise ExpressionError(
        f"{text!r}: {fragment!r} is not allowed. Expressions may use column names, number, "
        "string and boolean literals, + - * /, comparisons (< <= > >= == !=), and, or, not, "
        f"parentheses and the functions {_FUNCTION_LIST}; no other calls, attributes or "
        "subscripts."
    )


def _convert_call(node: ast.Call, text: str) -> Call:
    name = node.func.id
    function = FUNCTIONS.get(name)
    if function is None:
        match = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
        hint = f" (did you mean {match[0]!r}?)" if match else ""
        raise ExpressionError(f"{text!r}: unknown function {name!r}{hint}; the functions are "
                              f"{_FUNCTION_LIST}.")
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise ExpressionError(f"{text!r}: {name}() takes positional arguments only, as in "
                              f"{function.signature}.")
    count, wanted = len(node.args), len(function.params)
    if count < wanted or (count > wanted and not function.variadic):
        expected = f"at least {wanted}" if function.variadic else f"{wanted}"
        plural = "" if wanted == 1 else "s"
        raise ExpressionError(f"{text!r}: {function.signature} takes {expected} "
                              f"argument{plural}, got {count}.")
    call = Call(name, tuple(_convert(a, text) for a in node.args),
                tuple(ast.unparse(a) for a in node.args))
    if name == "clip":
        lo, hi = (_constant(a) for a in call.args[1:])
        if lo is not None and hi is not None and lo > hi:
            raise ExpressionError(f"{text!r}: clip() needs lo <= hi, got lo={lo!r} and "
                                  f"hi={hi!r}.")
    return call


def _constant(node: Node) -> int | float | None:
    """The value of a number literal such as `3` or `-1.5`; None for anything else."""
    if isinstance(node, Negate):
        value = _constant(node.operand)
        return None if value is None else -value
    if isinstance(node, Literal) and not isinstance(node.value, bool | str):
        return node.value
    return None


def _columns(node: Node):
    if isinstance(node, ColumnRef):
        yield node.name
    elif isinstance(node, Binary | Compare):
        yield from _columns(node.left)
        yield from _columns(node.right)
    elif isinstance(node, Negate | Not):
        yield from _columns(node.operand)
    elif isinstance(node, Logical):
        for operand in node.operands:
            yield from _columns(operand)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from _columns(arg)


# --- Type checking. --------------------------------------------------------------------------
# A node's type is the set of types it may have. With the schema's column types every set has
# one member; without them (at parse time) a column may be a number or a string, and an error
# is raised only where no choice of column types would make the expression valid.

Types = frozenset[ValueType]
_NUMBER: Types = frozenset({ValueType.NUMBER})
_BOOL: Types = frozenset({ValueType.BOOL})
_STRING: Types = frozenset({ValueType.STRING})
_UNKNOWN_COLUMN: Types = frozenset({ValueType.NUMBER, ValueType.STRING})


def _checked_types(root: Node, column_types: Mapping[str, ColumnType] | None,
                   text: str) -> Types:
    result = _types_of(root, column_types, text)
    if result == _STRING:
        raise ExpressionError(
            f"{text!r} computes a string; an expression must compute a number or a "
            "condition (compare the string, e.g. `payment_type == 'Cash'`)."
        )
    return result


def _describe(types: Types) -> str:
    if len(types) == 1:
        return next(iter(types)).value
    return " or ".join(sorted(t.value for t in types))


def _types_of(node: Node, column_types: Mapping[str, ColumnType] | None, text: str) -> Types:
    if isinstance(node, ColumnRef):
        if column_types is None:
            return _UNKNOWN_COLUMN
        if node.name not in column_types:
            raise ExpressionError(f"{text!r} reads the column {node.name!r}, which is not in "
                                  "the schema.")
        return _STRING if column_types[node.name] is ColumnType.STRING else _NUMBER
    if isinstance(node, Literal):
        if isinstance(node.value, bool):
            return _BOOL
        return _STRING if isinstance(node.value, str) else _NUMBER
    if isinstance(node, Binary):
        _expect(node.left, ValueType.NUMBER, f"the operands of {node.op!r}", column_types, text)
        _expect(node.right, ValueType.NUMBER, f"the operands of {node.op!r}", column_types, text)
        return _NUMBER
    if isinstance(node, Negate):
        _expect(node.operand, ValueType.NUMBER, "the operand of unary '-'", column_types, text)
        return _NUMBER
    if isinstance(node, Not):
        _expect(node.operand, ValueType.BOOL, "the operand of 'not'", column_types, text)
        return _BOOL
    if isinstance(node, Compare):
        left = _types_of(node.left, column_types, text)
        right = _types_of(node.right, column_types, text)
        common = left & right
        if not common:
            raise ExpressionError(f"{text!r}: {node.op!r} compares a {_describe(left)} with a "
                                  f"{_describe(right)}.")
        if ValueType.NUMBER not in common and node.op not in ("==", "!="):
            raise ExpressionError(f"{text!r}: {node.op!r} needs numbers; {_describe(common)} "
                                  "values can only be compared with == or !=.")
        return _BOOL
    if isinstance(node, Call):
        return _call_types(node, column_types, text)
    for operand in node.operands:  # Logical
        _expect(operand, ValueType.BOOL, f"the operands of {node.op!r}", column_types, text)
    return _BOOL


def _call_types(node: Call, column_types: Mapping[str, ColumnType] | None, text: str) -> Types:
    function = FUNCTIONS[node.function]
    types = [_types_of(arg, column_types, text) for arg in node.args]
    arg_texts = node.arg_texts or tuple("?" for _ in node.args)

    def refuse(index: int, needs: str) -> ExpressionError:
        return ExpressionError(
            f"{text!r}: {node.function}() needs {needs} for its argument "
            f"{function.param(index)}, but `{arg_texts[index]}` is a {_describe(types[index])}.")

    if node.function != "where":
        for index, arg_types in enumerate(types):
            if ValueType.NUMBER not in arg_types:
                raise refuse(index, "a number")
        return _NUMBER
    if ValueType.BOOL not in types[0]:
        raise refuse(0, "a condition (a comparison such as `fare > 0`)")
    branches = types[1] & types[2]
    if not branches:
        raise ExpressionError(
            f"{text!r}: where() needs its arguments a and b to have one type, but "
            f"`{arg_texts[1]}` is a {_describe(types[1])} and `{arg_texts[2]}` is a "
            f"{_describe(types[2])}.")
    return branches


def _expect(node: Node, expected: ValueType, what: str,
            column_types: Mapping[str, ColumnType] | None, text: str) -> None:
    actual = _types_of(node, column_types, text)
    if expected not in actual:
        raise ExpressionError(f"{text!r}: {what} must be {expected} values, got a "
                              f"{_describe(actual)}.")
