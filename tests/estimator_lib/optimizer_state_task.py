"""One process of test_optimizer_state's restart test: train a LinearRegressor with
`optimizer=keras.optimizers.Adagrad(0.1)` and print what was restored and saved (JSON).

    python optimizer_state_task.py MODEL_DIR EXTRA_OPTIMIZERS STEPS

EXTRA_OPTIMIZERS Keras optimizers are made first, as a notebook or a second estimator
would, so this process's Keras auto names (`adagrad_1`, ...) differ from another's.
"""

import json
import sys

import keras
import numpy as np
import tensorflow as tf

import estimator_lib as el
from estimator_lib import feature_columns as fc


class RecordRestored(el.Hook):
    def after_create(self, run_context):
        self.restored = {name: np.asarray(v.numpy()).tolist()
                         for name, v in run_context.variables.items()}


def main(model_dir, extra_optimizers, steps):
    for _ in range(extra_optimizers):
        keras.optimizers.Adagrad(0.5)
    x = np.array([[1.0], [2.0], [3.0], [4.0]], np.float32)
    y = np.array([[0.5], [1.0], [0.0], [2.0]], np.float32)

    def input_fn():
        return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(2).repeat()

    estimator = el.LinearRegressor(feature_columns=[fc.numeric_column("x")],
                                   optimizer=keras.optimizers.Adagrad(0.1), model_dir=model_dir)
    hook = RecordRestored()
    estimator.train(input_fn, steps=steps, hooks=[hook])
    saved = {n: np.asarray(estimator.get_variable_value(n)).tolist()
             for n in estimator.get_variable_names()}
    print(json.dumps({"restored": hook.restored, "saved": saved}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
