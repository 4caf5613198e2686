"""Exporters: write a serving SavedModel after an evaluation in `train_and_evaluate`.

An `Exporter` runs after each evaluation of `train_and_evaluate` (in the local loop or
on the evaluator task). Its exports go under `<model_dir>/export/<exporter name>/`, one
directory per version (TF Serving's layout), each written atomically.

- `LatestExporter`: exports after every evaluation; keeps the newest `exports_to_keep`.
- `BestExporter`: exports when an evaluation beats the best one so far by `compare_fn`.
- `FinalExporter`: exports once, after the final evaluation.
"""

from __future__ import annotations

import abc
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

from estimator_lib.early_stopping import read_eval_metrics

logger = logging.getLogger("estimator_lib")

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


class Exporter(abc.ABC):
    """Base class of exporters: a `name` and one `export` method.

    Example:
        >>> class PrintingExporter(Exporter):
        ...     def export(self, estimator, export_path, checkpoint_path, eval_result,
        ...                is_the_final_export):
        ...         print(eval_result["loss"])
        ...         return None
    """

    def __init__(self, name: str):
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"Exporter `name` ({name!r}) must be a non-empty string of letters, digits, "
                "'_', '-' or '.' (it names the export directory)."
            )
        self._name = name

    @property
    def name(self) -> str:
        """The directory name of this exporter's exports under `<model_dir>/export/`."""
        return self._name

    @abc.abstractmethod
    def export(self, estimator, export_path: str, checkpoint_path: str,
               eval_result: Mapping[str, Any], is_the_final_export: bool) -> str | None:
        """Exports (or not) the model at `checkpoint_path`; returns the export dir or None.

        Args:
            estimator: The `el.Estimator` being trained.
            export_path: The base directory for this exporter's versions.
            checkpoint_path: The checkpoint that was just evaluated.
            eval_result: The metrics dict `Estimator.evaluate` returned for it.
            is_the_final_export: True after the evaluation of the final checkpoint.
        """


class _SavedModelExporter(Exporter):
    """Shared by the concrete exporters: export a SavedModel and garbage-collect."""

    def __init__(self, name: str, serving_input_receiver_fn: Callable, *,
                 assets_extra: Mapping[str, str] | None = None, as_text: bool = False,
                 exports_to_keep: int | None = 5):
        super().__init__(name)
        if not callable(serving_input_receiver_fn):
            raise TypeError(
                "`serving_input_receiver_fn` must be callable; received "
                f"{serving_input_receiver_fn!r}."
            )
        if exports_to_keep is not None and (not isinstance(exports_to_keep, int)
                                            or exports_to_keep < 1):
            raise ValueError(
                f"`exports_to_keep` ({exports_to_keep!r}) must be a positive integer or None "
                "(keep all)."
            )
        self._receiver_fn = serving_input_receiver_fn
        self._assets_extra = assets_extra
        self._as_text = as_text
        self._exports_to_keep = exports_to_keep

    def _export(self, estimator, export_path, checkpoint_path) -> str:
        result = estimator.export_saved_model(
            export_path, self._receiver_fn, assets_extra=self._assets_extra,
            as_text=self._as_text, checkpoint_path=checkpoint_path)
        self._garbage_collect(export_path)
        return result

    def _garbage_collect(self, export_path):
        if self._exports_to_keep is None:
            return
        versions = sorted(int(n) for n in tf.io.gfile.listdir(export_path)
                          if n.rstrip("/").isdigit())
        for version in versions[:-self._exports_to_keep]:
            tf.io.gfile.rmtree(os.path.join(export_path, str(version)))
            logger.info("Removed old export %s/%d.", export_path, version)


class LatestExporter(_SavedModelExporter):
    """Exports after every evaluation and keeps the newest `exports_to_keep` versions.

    Args:
        name: Directory name under `<model_dir>/export/`.
        serving_input_receiver_fn: Returns an `el.export.ServingInputReceiver`.
        assets_extra: Extra files to copy into `assets.extra/` (see `export_saved_model`).
        as_text: Write `saved_model.pbtxt`. Default False.
        exports_to_keep: Versions to keep; None keeps all. Default 5.

    Example:
        >>> exporter = LatestExporter("latest", receiver_fn, exports_to_keep=3)
        >>> eval_spec = el.EvalSpec(eval_input_fn, exporters=[exporter])
    """

    def __init__(self, name: str, serving_input_receiver_fn: Callable, assets_extra=None,
                 as_text: bool = False, exports_to_keep: int | None = 5):
        super().__init__(name, serving_input_receiver_fn, assets_extra=assets_extra,
                         as_text=as_text, exports_to_keep=exports_to_keep)

    def export(self, estimator, export_path, checkpoint_path, eval_result,
               is_the_final_export):
        """See base class."""
        return self._export(estimator, export_path, checkpoint_path)


class FinalExporter(_SavedModelExporter):
    """Exports once, after the evaluation of the final checkpoint.

    Example:
        >>> exporter = FinalExporter("final", receiver_fn)
    """

    def __init__(self, name: str, serving_input_receiver_fn: Callable, assets_extra=None,
                 as_text: bool = False):
        super().__init__(name, serving_input_receiver_fn, assets_extra=assets_extra,
                         as_text=as_text, exports_to_keep=None)

    def export(self, estimator, export_path, checkpoint_path, eval_result,
               is_the_final_export):
        """See base class."""
        if not is_the_final_export:
            return None
        return self._export(estimator, export_path, checkpoint_path)


def loss_smaller(best_eval_result: Mapping[str, Any], current_eval_result: Mapping[str, Any]
                 ) -> bool:
    """The default `compare_fn` of `BestExporter`: True when the current loss is smaller."""
    for result, which in ((best_eval_result, "best"), (current_eval_result, "current")):
        if "loss" not in result:
            raise ValueError(
                f"loss_smaller: the {which} eval result has no 'loss' (keys: {sorted(result)}). "
                "Pass a compare_fn for your metric."
            )
    return float(current_eval_result["loss"]) < float(best_eval_result["loss"])


class BestExporter(_SavedModelExporter):
    """Exports when an evaluation is better than every earlier one.

    "Better" is `compare_fn(best_eval_result=..., current_eval_result=...)`; the default
    compares the loss. The best result so far is read back from the evaluation summaries
    in `<model_dir>/<eval_dir_name>` the first time, so a restarted evaluator does not
    export a worse model.

    Args:
        name: Directory name under `<model_dir>/export/`. Default "best_exporter".
        serving_input_receiver_fn: Returns an `el.export.ServingInputReceiver`.
        compare_fn: `fn(best_eval_result, current_eval_result) -> bool`. Default
            `loss_smaller`.
        eval_dir_name: Where evaluate() wrote its summaries, relative to model_dir:
            "eval", or "eval_<EvalSpec.name>". Default "eval".
        assets_extra, as_text: As for `LatestExporter`.
        exports_to_keep: Versions to keep; None keeps all. Default 5.

    Example:
        >>> def auc_higher(best_eval_result, current_eval_result):
        ...     return current_eval_result["auc"] > best_eval_result["auc"]
        >>> exporter = BestExporter("best_auc", receiver_fn, compare_fn=auc_higher)
    """

    def __init__(self, name: str = "best_exporter", serving_input_receiver_fn: Callable = None,
                 compare_fn: Callable[..., bool] = loss_smaller, eval_dir_name: str = "eval",
                 assets_extra=None, as_text: bool = False, exports_to_keep: int | None = 5):
        super().__init__(name, serving_input_receiver_fn, assets_extra=assets_extra,
                         as_text=as_text, exports_to_keep=exports_to_keep)
        if not callable(compare_fn):
            raise TypeError(f"`compare_fn` must be callable; received {compare_fn!r}.")
        self._compare_fn = compare_fn
        self._eval_dir_name = eval_dir_name
        self._best: Mapping[str, Any] | None = None
        self._loaded = False

    @property
    def best_eval_result(self) -> Mapping[str, Any] | None:
        """The best evaluation result seen so far (None before the first)."""
        return self._best

    def export(self, estimator, export_path, checkpoint_path, eval_result,
               is_the_final_export):
        """See base class."""
        if not self._loaded:
            self._best = self._best_from_summaries(estimator, eval_result)
            self._loaded = True
        if self._best is not None and not self._compare_fn(
                best_eval_result=self._best, current_eval_result=eval_result):
            return None
        self._best = dict(eval_result)
        return self._export(estimator, export_path, checkpoint_path)

    def _best_from_summaries(self, estimator, current):
        history = read_eval_metrics(os.path.join(estimator.model_dir, self._eval_dir_name))
        current_step = int(current.get("global_step", -1))
        best = None
        for step in sorted(history):
            if step >= current_step:  # The current evaluation is already in the summaries.
                continue
            result = {**history[step], "global_step": step}
            try:
                if best is None or self._compare_fn(best_eval_result=best,
                                                    current_eval_result=result):
                    best = result
            except (KeyError, ValueError):
                continue  # An older evaluation without the compared metric.
        return best
