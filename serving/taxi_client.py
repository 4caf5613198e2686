"""A Chicago taxi client, like TFX's chicago_taxi client: CSV rows in, tips predictions out.

It reads trips from the taxi CSV, turns each into a tf.Example with the raw features (the
exported model parses and transforms them itself, so there is no training/serving skew),
and asks the server to Classify them (gRPC, or REST with --rest).

    python -m serving.taxi_client --server 127.0.0.1:8500 --model-name taxi --num-examples 3
    python -m serving.taxi_client --rest http://127.0.0.1:8501 --model-name taxi
    python -m serving.taxi_client --model-name chicago_taxi \
        --schema examples/chicago_taxi/testdata/schema.pbtxt      # a pipeline-pushed model
"""

from __future__ import annotations

import argparse
import json
import urllib.request

from serving.client import ServingClient
from serving.csv_examples import csv_examples


def taxi_examples(num_examples: int = 3, path: str | None = None,
                  schema: str | None = None) -> list[dict]:
    """The first `num_examples` trips as feature dicts for tf.Examples (raw features).

    Args:
        num_examples: How many trips.
        path: The taxi CSV (default: the project's copy).
        schema: A tensorflow_metadata schema (`schema.pbtxt`) whose types the features
            take, as the pipeline's ingest step typed them (e.g. `trip_seconds` INT): pass the
            ingest schema for a model the pipeline pushed. Missing values are left out, as
            ingest leaves them. Default None: the types `examples.chicago_taxi` gives them.

    Example:
        >>> taxi_examples(1)[0]["company"]
    """
    from examples.chicago_taxi import data

    frame = data.load(path or data.DATA_PATH).iloc[:num_examples]
    if schema is not None:
        return csv_examples(path or data.DATA_PATH, schema, num_examples=num_examples)
    examples = []
    for _, row in frame.iterrows():
        features = {k: float(row[k]) for k in data.NUMERIC_KEYS}
        features.update({k: int(row[k]) for k in data.CATEGORICAL_INT_KEYS})
        features.update({k: str(row[k]) for k in data.STRING_KEYS})
        examples.append(features)
    return examples


def classify_grpc(target: str, model_name: str, examples: list[dict],
                  timeout_s: float = 10.0) -> list[list[tuple[str, float]]]:
    """Classify over gRPC; returns [(label, score), ...] per example."""
    with ServingClient(target, timeout_s=timeout_s) as client:
        return client.classify(model_name, examples)


def classify_rest(url: str, model_name: str, examples: list[dict],
                  timeout_s: float = 10.0) -> list[list[tuple[str, float]]]:
    """Classify over REST (`POST /v1/models/<name>:classify`)."""
    body = json.dumps({"examples": examples}).encode()
    request = urllib.request.Request(f"{url.rstrip('/')}/v1/models/{model_name}:classify",
                                     data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        result = json.loads(response.read())["result"]
    return [[(label, score) for label, score in item] for item in result]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving.taxi_client",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="127.0.0.1:8500", help="gRPC host:port")
    parser.add_argument("--rest", default=None, help="use REST at this URL instead of gRPC")
    parser.add_argument("--model-name", default="taxi")
    parser.add_argument("--num-examples", type=int, default=3)
    parser.add_argument("--data", default=None, help="taxi CSV (default: the project's copy)")
    parser.add_argument("--schema", default=None,
                        help="type the features by this schema.pbtxt (for a pipeline-pushed "
                             "model: the ingest step's schema)")
    args = parser.parse_args(argv)
    examples = taxi_examples(args.num_examples, args.data, args.schema)
    if args.rest:
        results = classify_rest(args.rest, args.model_name, examples)
    else:
        results = classify_grpc(args.server, args.model_name, examples)
    for features, classes in zip(examples, results, strict=True):
        scores = {label: round(score, 4) for label, score in classes}
        print(f"trip of {features.get('trip_miles', 0):.1f} miles, fare "
              f"${features.get('fare', 0):.2f}, {features.get('payment_type')}: big tipper? "
              f"scores {scores}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
