"""Production manifests: TF Serving Deployment + Service (+ ConfigMap), KServe, models.config."""

import pytest
import yaml

from serving import BatchingOptions, ModelConfig, VersionPolicy, parse_model_config
from serving.deploy import ServingDeployment, kubernetes_name, main, validate_kubernetes

TAXI = ModelConfig("chicago_taxi", "gs://bucket/serving/chicago_taxi")


def _by_kind(manifests):
    return {m["kind"]: m for m in manifests}


def test_single_model_uses_flags():
    deployment = ServingDeployment(models=[TAXI], replicas=2)
    manifests = _by_kind(deployment.kubernetes_manifests())
    assert set(manifests) == {"Deployment", "Service"}
    for manifest in manifests.values():
        validate_kubernetes(manifest)
    spec = manifests["Deployment"]["spec"]
    container = spec["template"]["spec"]["containers"][0]
    assert container["image"].startswith("tensorflow/serving:")
    assert "--model_name=chicago_taxi" in container["args"]
    assert "--model_base_path=gs://bucket/serving/chicago_taxi" in container["args"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/models/chicago_taxi"
    assert spec["replicas"] == 2 and spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
    service = manifests["Service"]
    assert service["metadata"]["name"] == "chicago-taxi"
    assert {p["port"] for p in service["spec"]["ports"]} == {8500, 8501}
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]


def test_several_models_policies_and_batching_use_a_config_map():
    models = [ModelConfig("taxi", "/models/taxi", version_policy=VersionPolicy.latest(2),
                          version_labels={"stable": 3}),
              ModelConfig("toy", "/models/toy")]
    deployment = ServingDeployment(models=models, volume_claim="serving-base",
                                   batching=BatchingOptions(max_batch_size=64))
    manifests = _by_kind(yaml.safe_load_all(deployment.to_yaml()))
    for manifest in manifests.values():
        validate_kubernetes(manifest)
    data = manifests["ConfigMap"]["data"]
    assert parse_model_config(data["models.config"]) == models
    assert "max_batch_size { value: 64 }" in data["batching_parameters.txt"]
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    assert "--model_config_file=/config/models.config" in pod["containers"][0]["args"]
    assert "--enable_batching=true" in pod["containers"][0]["args"]
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
              if "persistentVolumeClaim" in v]
    assert claims == ["serving-base"]


def test_kserve_inference_services():
    deployment = ServingDeployment(
        models=[TAXI, ModelConfig("toy", "/models/toy")], volume_claim="pvc1", namespace="ml")
    taxi, toy = deployment.inference_services()
    assert taxi["apiVersion"] == "serving.kserve.io/v1beta1"
    assert taxi["kind"] == "InferenceService" and taxi["metadata"]["namespace"] == "ml"
    model = taxi["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "tensorflow"}
    assert model["storageUri"] == "gs://bucket/serving/chicago_taxi"
    assert toy["spec"]["predictor"]["model"]["storageUri"] == "pvc://pvc1/toy"


def test_validation_catches_misspelled_fields():
    manifest = ServingDeployment(models=[TAXI]).deployment()
    manifest["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(ValueError, match=r"containers\[0\].imagePullPolcy"):
        validate_kubernetes(manifest)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"models": [ModelConfig("t", "/local/t")]}, ValueError, "local base path"),
    ({"models": [TAXI], "namespace": "Bad_NS"}, ValueError, "DNS-1123"),
    ({"models": []}, TypeError, "non-empty list"),
    ({"models": [TAXI, TAXI]}, ValueError, "configured twice"),
])
def test_invalid_deployments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ServingDeployment(**kwargs)


def test_kubernetes_name():
    assert kubernetes_name("Chicago_Taxi.v2") == "chicago-taxi-v2"


def test_main_writes_the_files(tmp_path, capsys):
    assert main(["--model-name", "taxi", "--model-base-path", "gs://b/serving/taxi",
                 "--out", str(tmp_path), "--num-versions", "2"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kserve.yaml", "models.config",
                                                          "tf-serving.yaml"]
    kinds = [d["kind"] for d in yaml.safe_load_all((tmp_path / "tf-serving.yaml").read_text())]
    assert kinds == ["ConfigMap", "Deployment", "Service"]
    assert parse_model_config((tmp_path / "models.config").read_text())[0].version_policy == \
        VersionPolicy.latest(2)
