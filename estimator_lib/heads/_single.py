"""What every single-task head shares (all heads but MultiHead)."""

from __future__ import annotations

from estimator_lib.heads import _loss, _names
from estimator_lib.heads.base import Head


class SingleHead(Head):
    """A head over one logits tensor and one label tensor.

    Subclasses set `_name` and `_loss_reduction` and implement `_logits` (checks the
    logits), `_labels` (checks and converts the labels) and
    `_unweighted_loss_and_weights`; the loss is then the same template for all.
    """

    @property
    def name(self):
        """See base class."""
        return self._name

    @property
    def loss_reduction(self):
        """See base class."""
        return self._loss_reduction

    def _key(self, key: str) -> str:
        return _names.summary_key(key, self._name)

    def loss(self, labels, logits, features=None, mode=None, regularization_losses=None):
        """See base class."""
        del mode  # Same loss in every mode.
        logits = self._logits(logits)
        labels = self._labels(logits, labels)
        unweighted, weights = self._unweighted_loss_and_weights(logits, labels, features)
        return _loss.weighted_loss(unweighted, weights, self._loss_reduction,
                                    regularization_losses)
