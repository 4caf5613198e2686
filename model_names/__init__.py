"""What a model may be called: the one rule for a model name, shared by the pusher (which
publishes `<serving_base>/<model_name>/<version>/`), the pipeline config and the server.

It imports nothing else of the project (and no TensorFlow), so every part can use it.

Example:
    >>> from model_names import validate_model_name
    >>> validate_model_name("chicago_taxi")
    'chicago_taxi'
"""

from model_names.rule import is_valid_model_name, model_name_problem, validate_model_name

__all__ = ["is_valid_model_name", "model_name_problem", "validate_model_name"]
