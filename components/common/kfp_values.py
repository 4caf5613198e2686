"""Values as KFP hands them to a component, made exact again.

KFP passes dict and list parameters as protobuf Structs, and artifact metadata the same way:
every number in them is a double, so `[64, 32]` arrives as `[64.0, 32.0]` and a span `3` as
`3.0`. Components call `whole_numbers` on such values before using them.

Example:
    >>> whole_numbers({"dnn_hidden_units": [64.0, 32.0], "learning_rate": 0.05})
    {'dnn_hidden_units': [64, 32], 'learning_rate': 0.05}
"""

__all__ = ["whole_numbers"]


def whole_numbers(value):
    """`value` with every whole float (in lists and dicts too) made an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    return value
