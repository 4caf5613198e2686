"""User modules: Python files a step imports (a preprocessing_fn, a model_fn), one way.

Two moments: when the pipeline is built, a component reads the module's source (to embed it
in the pipeline) and checks it defines what the step calls, without importing it; when the
step runs, it writes the embedded source back to a file (`write_source`) and imports the file
(a local path or a URI TensorFlow can read).

Example:
    >>> source = read_source("my_model.py", "module_file")
    >>> check_defines(source, "my_model.py", "model_fn",
    ...               "the trainer calls model_fn(features, labels, mode, params).")
    >>> module = import_file("my_model.py", prefix="_trainer_module")
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import sys
import tempfile
from types import ModuleType

__all__ = ["check_defines", "import_file", "read_source", "write_source"]


def read_source(path: str, argument: str) -> str:
    """The text of the local file `path`, read when the pipeline is built.

    Raises:
        FileNotFoundError: If `path` is not a file; the message names `argument`.
    """
    if not isinstance(path, str) or not os.path.isfile(path):
        raise FileNotFoundError(f"`{argument}` ({path!r}) is not a file; it is read when the "
                                "pipeline is built and embedded in it.")
    with open(path) as f:
        return f.read()


def write_source(folder: str, name: str, source: str) -> str | None:
    """Writes a source embedded in the pipeline to `<folder>/<name>`, when the step runs;
    its path, or None for an empty source (none was given).

    Example:
        >>> write_source(workdir, "trainer_module.py", module_source)
        '/tmp/trainer_x1y2/trainer_module.py'
    """
    if not source:
        return None
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(source)
    return path


def check_defines(source: str, path: str, name: str, contract: str) -> None:
    """Checks the module's source parses and defines top-level `name`, without importing it.

    Raises:
        ValueError: If the source is not valid Python or does not define `name`; the
            message ends with `contract` (what the step calls).
    """
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        raise ValueError(f"`module_file` ({path!r}) is not valid Python: {e}") from None
    defined = {node.name for node in tree.body
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    defined |= {target.id for node in tree.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    if name not in defined:
        raise ValueError(f"`module_file` ({path!r}) defines no top-level `{name}`; {contract}")


def import_file(path: str, *, prefix: str) -> ModuleType:
    """Imports the Python file at `path` as a module named `<prefix>_<digest of path>`.

    A URI that is not a local path is copied to a local temporary file first. The module is
    registered in `sys.modules`, so its functions pickle by reference in this process. The
    caller checks the file exists (with its own message) and handles errors the module
    raises while it runs.

    Raises:
        ValueError: If the file is not an importable Python file.
    """
    import tensorflow as tf

    local_path = path
    if not os.path.exists(path):  # A remote URI: import a local copy.
        local_path = os.path.join(tempfile.mkdtemp(prefix=f"{prefix.strip('_')}_"),
                                  os.path.basename(path))
        tf.io.gfile.copy(path, local_path, overwrite=True)
    name = f"{prefix}_{hashlib.sha256(path.encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, local_path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path!r} is not an importable Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
