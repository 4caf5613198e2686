"""A small, safe expression language for derived features such as labels.

`tips > 0.2 * fare` is parsed with Python's `ast` into a tree of the few node types below; the
tree is never compiled or evaluated as Python. The preprocessing module turns it into
TensorFlow ops, so the derivation is part of the transform graph.

Grammar: column names, number/string/boolean literals, `+ - * /`, unary `-`, comparisons
(`< <= > >= == !=`, chains like `0 < x < 5`), `and`, `or`, `not`, and parentheses. A
condition yields 0/1 (int64); arithmetic yields a float32 number. Arithmetic runs in float64,
so integer columns up to 2**53 compare exactly; `x / 0` is 0, not infinity.

Example:
    >>> expression = parse_expression("tips > 0.2 * fare")
    >>> sorted(expression.columns)
    ['fare', 'tips']
    >>> expression.result_type({"tips": ColumnType.FLOAT, "fare": ColumnType.FLOAT})
    <ValueType.BOOL: 'bool'>
"""

from __future__ import annotations

import ast
import dataclasses
import enum
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


Node = ColumnRef | Literal | Binary | Negate | Not | Compare | Logical


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
        result = _type_of(self.root, column_types, self.text)
        if result is ValueType.STRING:
            raise ExpressionError(
                f"{self.text!r} computes a string; an expression must compute a number or a "
                "condition (compare the string, e.g. `payment_type == 'Cash'`)."
            )
        return result


def parse_expression(text: str) -> Expression:
    """Parses `text` into an `Expression`.

    Raises:
        TypeError: If `text` is not a string.
        ExpressionError: If `text` is empty, too long, or uses anything outside the grammar.
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
    return Expression(text, _convert(tree.body, text))


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
    fragment = ast.get_source_segment(text.strip(), node) or type(node).__name__
    raise ExpressionError(
        f"{text!r}: {fragment!r} is not allowed. Expressions may use column names, number, "
        "string and boolean literals, + - * /, comparisons (< <= > >= == !=), and, or, not, "
        "and parentheses; no function calls, attributes or subscripts."
    )


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


def _type_of(node: Node, column_types: Mapping[str, ColumnType], text: str) -> ValueType:
    if isinstance(node, ColumnRef):
        if node.name not in column_types:
            raise ExpressionError(f"{text!r} reads the column {node.name!r}, which is not in "
                                  "the schema.")
        column_type = column_types[node.name]
        return ValueType.STRING if column_type is ColumnType.STRING else ValueType.NUMBER
    if isinstance(node, Literal):
        if isinstance(node.value, bool):
            return ValueType.BOOL
        return ValueType.STRING if isinstance(node.value, str) else ValueType.NUMBER
    if isinstance(node, Binary):
        _expect(node.left, ValueType.NUMBER, f"the operands of {node.op!r}", column_types, text)
        _expect(node.right, ValueType.NUMBER, f"the operands of {node.op!r}", column_types, text)
        return ValueType.NUMBER
    if isinstance(node, Negate):
        _expect(node.operand, ValueType.NUMBER, "the operand of unary '-'", column_types, text)
        return ValueType.NUMBER
    if isinstance(node, Not):
        _expect(node.operand, ValueType.BOOL, "the operand of 'not'", column_types, text)
        return ValueType.BOOL
    if isinstance(node, Compare):
        left = _type_of(node.left, column_types, text)
        right = _type_of(node.right, column_types, text)
        if left is not right:
            raise ExpressionError(f"{text!r}: {node.op!r} compares a {left} with a {right}.")
        if left is not ValueType.NUMBER and node.op not in ("==", "!="):
            raise ExpressionError(f"{text!r}: {node.op!r} needs numbers; {left} values can "
                                  "only be compared with == or !=.")
        return ValueType.BOOL
    for operand in node.operands:  # Logical
        _expect(operand, ValueType.BOOL, f"the operands of {node.op!r}", column_types, text)
    return ValueType.BOOL


def _expect(node: Node, expected: ValueType, what: str,
            column_types: Mapping[str, ColumnType], text: str) -> None:
    actual = _type_of(node, column_types, text)
    if actual is not expected:
        raise ExpressionError(f"{text!r}: {what} must be {expected} values, got a {actual}.")
