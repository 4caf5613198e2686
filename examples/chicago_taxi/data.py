"""The Chicago taxi data shipped with the project: loading, the label, a fixed split.

The label is TFX's: a trip is a big tipper when tips > 20% of the fare. The split is a
hash of the row's position (80% train, 20% eval), so it is the same on every run.
"""

from __future__ import annotations

import os
import zlib

import numpy as np
import pandas as pd

DATA_PATH = os.path.join(os.path.dirname(__file__), "data", "data.csv")
LABEL_KEY = "big_tipper"
NUMERIC_KEYS = ("trip_miles", "fare", "trip_seconds", "pickup_latitude", "pickup_longitude",
                "dropoff_latitude", "dropoff_longitude")
CATEGORICAL_INT_KEYS = ("trip_start_hour", "trip_start_day", "trip_start_month",
                        "pickup_community_area", "dropoff_community_area")
STRING_KEYS = ("payment_type", "company")


def load(path: str = DATA_PATH) -> pd.DataFrame:
    """Reads the CSV, fills missing values, and adds the label column.

    Example:
        >>> frame = load()
        >>> frame[LABEL_KEY].mean()  # share of big tippers
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"Taxi data not found at {path!r}.")
    frame = pd.read_csv(path)
    missing = [k for k in NUMERIC_KEYS + CATEGORICAL_INT_KEYS + STRING_KEYS + ("tips",)
               if k not in frame.columns]
    if missing:
        raise ValueError(f"{path!r} lacks the columns {missing}.")
    out = pd.DataFrame()
    for key in NUMERIC_KEYS:
        out[key] = frame[key].astype("float64").fillna(frame[key].median()).astype("float32")
    for key in CATEGORICAL_INT_KEYS:
        out[key] = frame[key].fillna(0).astype("int64")
    for key in STRING_KEYS:
        out[key] = frame[key].fillna("").astype(str)
    out[LABEL_KEY] = (frame["tips"] > 0.2 * frame["fare"]).astype("float32")
    return out


def split(frame: pd.DataFrame, eval_fraction: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A deterministic train/eval split by a hash of the row number."""
    buckets = np.array([zlib.crc32(str(i).encode()) % 100 for i in range(len(frame))])
    is_eval = buckets < int(eval_fraction * 100)
    return frame[~is_eval].reset_index(drop=True), frame[is_eval].reset_index(drop=True)
