"""The taxi example client, over gRPC and REST, against the served taxi model."""

from serving import taxi_client


def test_grpc_and_rest_agree(server):
    examples = taxi_client.taxi_examples(3)
    assert set(examples[0]) >= {"fare", "trip_miles", "company", "payment_type"}
    over_grpc = taxi_client.classify_grpc(server.grpc_address, "taxi", examples)
    over_rest = taxi_client.classify_rest(server.rest_url, "taxi", examples)
    assert len(over_grpc) == len(over_rest) == 3
    for a, b in zip(over_grpc, over_rest, strict=True):
        assert [label for label, _ in a] == [label for label, _ in b] == ["0", "1"]
        assert abs(a[1][1] - b[1][1]) < 1e-5


def test_main_prints_predictions(server, capsys):
    assert taxi_client.main(["--server", server.grpc_address, "--model-name", "taxi",
                             "--num-examples", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "big tipper? scores {'0':" in lines[0]
