"""The transform step's feature spec for the Chicago taxi data, in Python with feature columns.

The same spec as transform_spec.yaml (a test checks both give the same TransformSpec); see
components/transform/python_spec.py for how entries map to transforms. Use it as
`transform: {spec: transform_spec.py}` in pipeline.yaml or `spec_file=".../transform_spec.py"`.
"""

import estimator_lib as el
from components.transform.python_spec import (
    expression,
    feature,
    min_max,
    quantile_buckets,
    vocabulary,
    z_score,
)

fc = el.feature_column

LABEL = "big_tipper"

# A missing raw value becomes its column's fill (default: 0 for numbers, "" for strings).
FILL = {"trip_seconds": 0, "company": ""}

FEATURES = [
    # Dense numbers.
    z_score(fc.numeric_column("trip_miles")),
    z_score(fc.numeric_column("fare")),
    z_score(fc.numeric_column("trip_seconds")),
    min_max(fc.numeric_column("trip_start_timestamp")),

    # Locations in 10 quantile buckets, and the pickup/dropoff cells they cross into.
    *(quantile_buckets(fc.numeric_column(key), num_buckets=10)
      for key in ("pickup_latitude", "pickup_longitude", "dropoff_latitude",
                  "dropoff_longitude")),
    feature("pickup_cell", fc.crossed_column(["pickup_latitude", "pickup_longitude"],
                                             hash_bucket_size=100)),
    feature("dropoff_cell", fc.crossed_column(["dropoff_latitude", "dropoff_longitude"],
                                              hash_bucket_size=100)),

    # Categorical ints.
    fc.categorical_column_with_identity("trip_start_hour", num_buckets=24),
    fc.categorical_column_with_identity("trip_start_day", num_buckets=8),
    fc.categorical_column_with_identity("trip_start_month", num_buckets=13),
    vocabulary("pickup_community_area", num_oov_buckets=1),
    fc.categorical_column_with_hash_bucket("dropoff_community_area", hash_bucket_size=100,
                                           dtype="int64"),

    # Strings.
    vocabulary("payment_type", top_k=1000, num_oov_buckets=10),
    vocabulary("company", top_k=1000, frequency_threshold=2, num_oov_buckets=10),

    # The label: a big tipper tips more than 20% of the fare.
    expression("big_tipper", "tips > 0.2 * fare"),
]
