"""taxi_test_spec.yaml in Python with feature columns: every transform, fill kind and the label."""

import estimator_lib as el
from components.transform.python_spec import (
    expression,
    feature,
    min_max,
    passthrough,
    quantile_buckets,
    vocabulary,
    z_score,
)

fc = el.feature_column

LABEL = "big_tipper"
FILL = {"dropoff_latitude": "mean", "company": "(missing)"}
FEATURES = [
    z_score(fc.numeric_column("trip_miles")),
    min_max("fare", -1, 1, name="fare_scaled"),
    min_max(fc.numeric_column("trip_seconds")),
    quantile_buckets(fc.numeric_column("fare"), num_buckets=4, name="fare_bucket"),
    quantile_buckets("dropoff_latitude", num_buckets=5),
    vocabulary("company", top_k=5, num_oov_buckets=2),
    vocabulary("company", frequency_threshold=20, num_oov_buckets=1, name="company_frequent"),
    vocabulary("payment_type"),
    feature("payment_hash", fc.categorical_column_with_hash_bucket("payment_type", 16)),
    feature("day_x_month", fc.crossed_column(["trip_start_day", "trip_start_month"], 50)),
    feature("fare_bucket_x_payment", fc.crossed_column(["fare_bucket", "payment_type"], 20)),
    fc.categorical_column_with_identity("trip_start_hour", num_buckets=12, default_value=11),
    passthrough("dropoff_latitude", name="dropoff_latitude_filled"),
    passthrough("company", name="company_filled"),
    fc.numeric_column("dropoff_community_area"),
    fc.numeric_column("row_id"),
    expression("big_tipper", "tips > 0.2 * fare"),
    expression("long_cash_trip", "payment_type == 'Cash' and not trip_miles < 5"),
    expression("fare_per_mile", "fare / trip_miles"),
]
