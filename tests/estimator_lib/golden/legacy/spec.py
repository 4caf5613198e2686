"""The golden legacy models' features, columns and sizes, shared by both sides.

`make_golden.py` builds the tf.estimator models from these with `tf.feature_column`
(TensorFlow 2.15); the tests build the same models with `el.feature_column`. Both
modules take the same calls, so one definition serves both: `columns(fc)`.
"""

from __future__ import annotations

import csv
import os

HERE = os.path.dirname(os.path.abspath(__file__))
PREDICTIONS = os.path.join(HERE, "predictions.json")
SERVING_BASE = os.path.join(HERE, "serving")  # <base>/<model>/<version>/, TF Serving's layout
SERVED_MODEL = "wide_deep"

NUMERIC = ("trip_miles", "fare", "trip_seconds")
INTEGER = ("trip_start_hour",)
STRING = ("payment_type", "company")
PAYMENT_TYPES = ["Cash", "Credit Card", "No Charge", "Dispute", "Unknown"]
HOUR_BOUNDARIES = [6.0, 12.0, 18.0]
# Mean and standard deviation of the training rows (rounded; any fixed numbers do).
SCALE = {"trip_miles": (2.9, 5.0), "fare": (12.0, 10.0), "trip_seconds": (700.0, 650.0)}
NUM_TRAIN_ROWS = 2000
NUM_GOLDEN_ROWS = 50
BATCH_SIZE = 32
EVAL_BATCH_SIZE = 25  # evaluate()'s loss is the mean of its batch losses.
HIDDEN_UNITS = [8, 4]
# wide_deep_classifier_v1: the same model by tf.compat.v1.estimator (TF1 optimizers, whose
# slots are named `<variable>/Adagrad`, `<variable>/Ftrl`, `<variable>/Ftrl_1`).
MODELS = ("wide_deep_classifier", "wide_deep_classifier_v1", "dnn_regressor", "linear_regressor",
          "baseline_classifier")
STEPS = {"wide_deep_classifier": 300, "wide_deep_classifier_v1": 200, "dnn_regressor": 300,
         "linear_regressor": 200, "baseline_classifier": 100}


def read_rows(path: str, start: int, count: int) -> list[dict]:
    """`count` taxi trips from row `start` of the CSV, missing values filled in.

    Each row: the float, int and string features plus `tips_label` (tips > 20% of the
    fare, TFX's label) and `fare_label` (the regressors' label: the fare).
    """
    rows = []
    with open(path, newline="") as f:
        for index, record in enumerate(csv.DictReader(f)):
            if index < start:
                continue
            if len(rows) == count:
                break
            row = {k: float(record[k] or 0.0) for k in NUMERIC}
            row.update({k: int(record[k] or 0) for k in INTEGER})
            row.update({k: record[k] or "" for k in STRING})
            tips = float(record["tips"] or 0.0)
            row["tips_label"] = int(tips > 0.2 * row["fare"])
            row["fare_label"] = row["fare"]
            rows.append(row)
    return rows


def feature_columns(fc) -> dict:
    """The columns of each model, from `fc` (tf.feature_column or el.feature_column)."""

    def scaled(key):
        mean, std = SCALE[key]
        return fc.numeric_column(key, normalizer_fn=lambda x: (x - mean) / std)

    payment = fc.categorical_column_with_vocabulary_list(
        "payment_type", PAYMENT_TYPES, num_oov_buckets=1)
    company = fc.categorical_column_with_hash_bucket("company", 20)
    hour = fc.bucketized_column(fc.numeric_column("trip_start_hour"), HOUR_BOUNDARIES)
    # The payment *column*, not the key "payment_type": crossing a raw dense key with a
    # column, tf.estimator hashes the column first; estimator_lib keeps the given order
    # (see test_migrate.py::test_crossed_raw_key_and_column_hash_as_legacy).
    payment_x_hour = fc.crossed_column([payment, hour], 30)
    return {
        "wide_deep_linear": [payment, company, hour, payment_x_hour],
        "wide_deep_dnn": [scaled("trip_miles"), scaled("fare"),
                          fc.embedding_column(company, 4), fc.embedding_column(payment, 3)],
        "dnn_regressor": [scaled("trip_miles"), scaled("trip_seconds"),
                          fc.embedding_column(company, 3), fc.indicator_column(payment)],
        "linear_regressor": [scaled("trip_miles"), scaled("trip_seconds"), payment, company, hour],
    }
