"""Gives model_fn the same variables on every trace, under stable names.

tf.function traces a Python function more than once, and the Estimator traces model_fn
once per mode and per loop function. model_fn creates its variables inline (Keras layers,
metrics, optimizers), so each trace would create new ones. `VariableStore` intercepts
creation with `tf.variable_creator_scope`: the first trace creates the variables and
records them in creation order; later traces get the recorded variables back, in the same
order. Each variable also gets a stable name (its Keras path, e.g. `dense_1/kernel`)
which keys it in checkpoints, so a TRAIN checkpoint restores into an EVAL model that
creates a different set (metrics, no optimizer slots).

A Keras optimizer's variables are named by their role in the model, never by the
optimizer's Keras name (`adagrad`, `adagrad_1`, ... from a process-wide counter, which
depends on what the process made before): `<optimizer>/<variable>/<slot>` for a slot,
e.g. `optimizer/dense/kernel/accumulator`, and `<optimizer>/iteration` for its counter.
`<optimizer>` is the role the model gives it (`optimizer_role`), else `optimizer`,
`optimizer_1`, ... in the order model_fn uses them.
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading

import keras
import tensorflow as tf
from tensorflow.python.ops import resource_variable_ops

try:  # Keras 3 internals: its auto-naming counters and name-scope path.
    from keras.src.backend.common import global_state as _keras_state
    from keras.src.backend.common.name_scope import current_path as _keras_path
except ImportError:  # pragma: no cover - a Keras without these falls back to TF names.
    _keras_state = None
    _keras_path = None


@contextlib.contextmanager
def fresh_keras_names():
    """Restarts Keras's layer-name counters for the duration of one model_fn call.

    Keras names layers `dense`, `dense_1`, ... from a process-wide counter. The legacy
    Estimator built each model in a fresh graph, so names restarted for every model;
    this does the same, so variable names do not depend on what ran before.
    """
    if _keras_state is None:
        yield
        return
    saved = _keras_state.get_global_attribute("object_name_uids")
    _keras_state.set_global_attribute("object_name_uids", collections.defaultdict(int))
    try:
        yield
    finally:
        _keras_state.set_global_attribute("object_name_uids", saved)


_ACTIVE = threading.local()


def active_store() -> VariableStore | None:
    """The store of the model_fn call being traced on this thread, if any."""
    stack = getattr(_ACTIVE, "stack", None)
    return stack[-1] if stack else None


def track_resource(resource) -> None:
    """Registers a resource (a lookup table, an asset) the model uses.

    Feature columns create their lookup tables once, outside tf.function, and call this
    while model_fn is traced; the exporter saves every tracked resource with the model,
    as a SavedModel requires for each resource a serving function captures.
    """
    store = active_store()
    if store is not None and all(r is not resource for r in store.resources):
        store.resources.append(resource)


@contextlib.contextmanager
def optimizer_role(role: str):
    """Names the variables of Keras optimizers created or built inside `role/...`.

    For a model with several optimizers (wide & deep: `linear_optimizer`,
    `dnn_optimizer`), so each one's checkpoint names say which part it trains.
    """
    saved = getattr(_ROLE, "role", None)
    _ROLE.role = role
    try:
        yield
    finally:
        _ROLE.role = saved


_ROLE = threading.local()


def _optimizer_in_scope():
    """The Keras optimizer whose name scope is open (it is creating a variable), or None."""
    if _keras_state is None:
        return None
    for entry in reversed(_keras_state.get_global_attribute("name_scope_stack") or ()):
        caller = getattr(entry, "caller", None)
        if isinstance(caller, keras.optimizers.Optimizer):
            return caller
    return None


def reference_key(variable) -> str:
    """How a Keras optimizer prefixes the slots it makes for `variable` (its
    `add_variable_from_reference`): the variable's path, or its name, with `_` for `/`."""
    if hasattr(variable, "path"):
        return variable.path.replace("/", "_")
    return str(variable.name).replace("/", "_").replace(":", "_")


def _clean(name: str) -> str:
    name = re.sub(r":\d+$", "", name or "Variable")
    return name.strip("/") or "Variable"


class _TraceState(threading.local):
    """Per-thread position in the recorded variables."""

    def __init__(self):
        self.cursor = 0
        self.phase = "model"
        self.optimizer_slots = 0
        self.optimizers = []  # The Keras optimizers this trace created variables for.


class NotLiftable(Exception):
    """A variable's initial value is computed in the trace and cannot be taken out of it."""


def _liftable(kwargs: dict) -> dict:
    """Creator arguments whose initial value can be computed outside the trace."""
    initial = kwargs.get("initial_value")
    if callable(initial) or not tf.is_tensor(initial) or tf.executing_eagerly():
        return kwargs
    value = tf.get_static_value(initial)
    if value is None:
        raise NotLiftable(f"variable {kwargs.get('name')!r}")
    return {**kwargs, "initial_value": value}


class VariableStore:
    """Records the variables of the first trace and hands them back on later traces.

    Use `scope(phase)` around each call of model_fn (phase "model") and around the
    optimizer step (phase "optimizer"): the cursor restarts at the start of each trace.

    Example:
        >>> store = VariableStore()
        >>> with store.scope():
        ...     v = tf.Variable(1.0, name="w")
        >>> with store.scope():
        ...     tf.Variable(2.0, name="w") is v
        True
    """

    def __init__(self):
        self.variables: list[tf.Variable] = []
        self.names: list[str] = []
        self._used_names: set[str] = set()
        # Where this thread's trace is: MirroredStrategy runs model_fn once per replica,
        # in one thread each, interleaved at its merge points (e.g. apply_gradients), and
        # every replica must be handed the same variables in the same order.
        self._local = _TraceState()
        self._initial_values = None
        self.resources: list = []
        self.frozen = False
        self.lift = False
        self._roles: dict[int, str] = {}  # id(optimizer) -> role, for the first trace.
        self._role_owners: list = []  # Keeps those ids from being reused.

    @contextlib.contextmanager
    def recording_initial_values(self):
        """Puts every variable created inside back to its initial value on exit.

        For models built by running model_fn eagerly once: the side effects of that run
        (metric updates, batch-norm statistics) are undone.
        """
        self._initial_values = {}
        try:
            yield
            for index, value in self._initial_values.items():
                self.variables[index].assign(value)
        finally:
            self._initial_values = None

    @contextlib.contextmanager
    def lifting(self):
        """Variables created while tracing inside are created eagerly, outside the trace.

        For models built by tracing their loop once (no strategy): the variables exist, with
        their initializers' values, as soon as the trace ends, and tf.function never sees
        them created, so it traces once instead of twice.
        """
        self.lift = True
        try:
            yield
        finally:
            self.lift = False

    @contextlib.contextmanager
    def scope(self, phase: str = "model", restart: bool = True):
        """Intercepts variable creation; `restart` rewinds the cursor (a new trace)."""
        if restart:
            self._local.cursor = 0
            self._local.optimizer_slots = 0
            self._local.optimizers = []
        previous = self._local.phase
        self._local.phase = phase
        stack = getattr(_ACTIVE, "stack", None)
        if stack is None:
            stack = _ACTIVE.stack = []
        stack.append(self)
        try:
            with tf.variable_creator_scope(self._creator):
                yield self
        finally:
            stack.pop()
            self._local.phase = previous

    def _creator(self, next_creator, **kwargs):
        optimizer = _optimizer_in_scope()
        if optimizer is not None and all(o is not optimizer for o in self._local.optimizers):
            self._local.optimizers.append(optimizer)
        if self._local.cursor < len(self.variables):
            variable = self.variables[self._local.cursor]
            self._local.cursor += 1
            return variable
        if self.frozen:
            raise RuntimeError(
                f"model_fn created a new variable {kwargs.get('name')!r} that it did not create "
                "on its first call. model_fn must create the same variables every time it is "
                "called in a mode (create them unconditionally, not inside tf.cond or loops)."
            )
        name = self._stable_name(kwargs.get("name"), optimizer)
        if self.lift and not tf.executing_eagerly():
            # The end of the creator chain, called directly: the chain holds
            # tf.function's own creator, which would lift the variable itself and then
            # trace the function a second time.
            kwargs = _liftable(kwargs)
            with tf.init_scope():
                variable = resource_variable_ops.default_variable_creator_v2(None, **kwargs)
        else:
            variable = next_creator(**kwargs)
        if self._initial_values is not None and tf.executing_eagerly():
            self._initial_values[len(self.variables)] = tf.identity(variable.read_value())
        self.variables.append(variable)
        self.names.append(name)
        self._local.cursor += 1
        return variable

    def _stable_name(self, raw_name, optimizer=None) -> str:
        base = _clean(raw_name if isinstance(raw_name, str) else None)
        path = _keras_path() if _keras_path is not None else ""
        if optimizer is not None:
            name = self._optimizer_variable_name(optimizer, base.rsplit("/", 1)[-1])
        elif self._local.phase == "optimizer":
            # Optimizer slots are named after TF graph names, which are not stable
            # across traces; key them by position, which is (trainable variable order).
            prefix = path or "optimizer"
            name = f"{prefix}/slot_{self._local.optimizer_slots}"
            self._local.optimizer_slots += 1
        elif path:
            name = f"{path}/{base.rsplit('/', 1)[-1]}"
        else:
            scope = tf.get_current_name_scope()
            name = f"{scope}/{base}" if scope else base
        unique, suffix = name, 1
        while unique in self._used_names:
            unique = f"{name}_{suffix}"
            suffix += 1
        self._used_names.add(unique)
        return unique

    def _optimizer_variable_name(self, optimizer, base: str) -> str:
        """`<role>/<variable>/<slot>` for a slot, `<role>/<base>` for the optimizer's own."""
        role = self._roles.get(id(optimizer))
        if role is None:
            role = getattr(_ROLE, "role", None)
            if role is None:
                ordinal = sum(1 for r in self._roles.values() if re.fullmatch(r"optimizer(_\d+)?", r))
                role = "optimizer" if ordinal == 0 else f"optimizer_{ordinal}"
            self._roles[id(optimizer)] = role
            self._role_owners.append(optimizer)
        # A slot's Keras name is `<reference_key(variable)>_<slot>`: find the variable.
        best = None
        for variable in getattr(optimizer, "_trainable_variables", ()):
            key = reference_key(variable)
            if base.startswith(key + "_") and (best is None or len(key) > len(best[0])):
                best = (key, variable)
        if best is not None:
            variable_name = self.name_of(best[1])
            if variable_name is not None:
                return f"{role}/{variable_name}/{base[len(best[0]) + 1:]}"
        return f"{role}/{base}"

    def trace_optimizers(self) -> list:
        """The Keras optimizers that created (or were handed back) variables in this
        thread's current trace."""
        return list(self._local.optimizers)

    def named(self) -> dict[str, tf.Variable]:
        """Name to variable, in creation order."""
        return dict(zip(self.names, self.variables, strict=True))

    def name_of(self, variable) -> str | None:
        """The stable name of a recorded variable (accepts Keras variables too)."""
        target = getattr(variable, "value", variable) if not isinstance(variable, tf.Variable) else variable
        for name, known in zip(self.names, self.variables, strict=True):
            if known is target:
                return name
        return None

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        return [v for v in self.variables if v.trainable]
