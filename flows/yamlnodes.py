"""What ruamel's round-trip nodes know that a plain YAML load forgets: where each key, value and
item is in the file, and what it was written as.

Every problem points a coordinator at a line and column, so the builder asks these for the place
of everything it checks; a node without a position (one built in code) falls back to its parent's.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .model import Pos, Scalar


def key_pos(node: CommentedMap, key: object) -> Pos:
    try:
        line, col = node.lc.key(key)
        return Pos(line + 1, col + 1)
    except (KeyError, TypeError, AttributeError):
        return node_pos(node)


def value_pos(node: CommentedMap, key: object) -> Pos:
    try:
        line, col = node.lc.value(key)
        return Pos(line + 1, col + 1)
    except (KeyError, TypeError, AttributeError):
        return key_pos(node, key)


def item_pos(node: CommentedSeq | list[Any], index: int) -> Pos:
    if not isinstance(node, CommentedSeq):  # a plain list knows no positions
        return node_pos(node)
    try:
        line, col = node.lc.item(index)
        return Pos(line + 1, col + 1)
    except (KeyError, TypeError, AttributeError):
        return node_pos(node)


def node_pos(node: object) -> Pos:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return Pos(lc.line + 1, lc.col + 1)
    return Pos(1, 1)


def reformatted_number(value: object) -> bool:
    """True for numbers YAML reads differently from how they look (01 -> 1, 13_15 -> 1315, 0o17)."""
    return isinstance(value, int) and not isinstance(value, bool) and type(value) is not int


def plain(value: object) -> object:
    """ruamel's round-trip scalars and containers as plain Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return plain_scalar(value)


def plain_scalar(value: object) -> Scalar:
    """One of ruamel's round-trip scalars as a plain one (anything else becomes its text)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)
