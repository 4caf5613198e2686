"""ModelManager: versions follow the disk (policies, unloads, failures), and a new version
swaps in under load without one failed request."""

import os
import shutil
import threading
import time

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from serving import (
    ModelConfig,
    ModelManager,
    ModelServer,
    ServerOptions,
    ServingError,
    VersionPolicy,
    VersionState,
    list_versions,
)
from tests.serving.helpers import Stubs

X = np.array([[1, 2, 3]], np.float32)


def publish(toy_base, base, version, source=1):
    """Publishes a toy version atomically, as the pusher does (copy, then rename)."""
    temp = base / f".tmp-{version}"
    shutil.copytree(toy_base / str(source), temp)
    os.rename(temp, base / str(version))


def _y(servable):
    return servable.run("single", {"x": X})["y"][0, 0]


def test_list_versions_ignores_what_is_not_a_version(tmp_path, toy_base):
    base = tmp_path / "toy"
    publish(toy_base, base, 3)
    (base / "7").mkdir()  # Not complete: no saved_model.pb yet.
    (base / "latest").mkdir()
    (base / ".tmp-9").mkdir()
    (base / "12").write_text("a file")
    shutil.copytree(toy_base / "1", base / "٣")  # Not ASCII digits.
    assert list_versions(str(base)) == {3: str(base / "3")}
    assert list_versions(str(tmp_path / "missing")) == {}


@pytest.mark.parametrize("policy, served", [
    (VersionPolicy.latest(), [30]),
    (VersionPolicy.latest(2), [20, 30]),
    (VersionPolicy.all(), [10, 20, 30]),
    (VersionPolicy.specific(10, 99), [10]),
])
def test_version_policies(tmp_path, toy_base, policy, served):
    base = tmp_path / "toy"
    for version in (10, 20, 30):
        publish(toy_base, base, version)
    manager = ModelManager([ModelConfig("toy", str(base), version_policy=policy)])
    manager.poll()
    try:
        assert manager.available_versions() == {"toy": served}
        assert manager.resolve("toy").version == served[-1]
    finally:
        manager.stop()


def test_new_versions_load_and_removed_ones_unload(tmp_path, toy_base):
    base = tmp_path / "toy"
    publish(toy_base, base, 1, source=1)
    manager = ModelManager([ModelConfig("toy", str(base), version_policy=VersionPolicy.latest(2))])
    try:
        manager.poll()
        old = manager.resolve("toy", 1)
        publish(toy_base, base, 2, source=2)
        publish(toy_base, base, 3, source=2)
        manager.poll()
        assert manager.available_versions() == {"toy": [2, 3]}  # 1 fell out of latest-2.
        assert [(s.version, s.state) for s in manager.model_status("toy")] == [
            (3, VersionState.AVAILABLE), (2, VersionState.AVAILABLE), (1, VersionState.END)]
        assert _y(old) == 6.0  # A request holding version 1 still finishes on it.
        shutil.rmtree(base / "3")  # Rolled back: version 3 removed from disk.
        manager.poll()
        assert manager.available_versions() == {"toy": [1, 2]}
        with pytest.raises(ServingError, match=r"Specific\(toy, 3\)") as raised:
            manager.resolve("toy", 3)
        assert raised.value.code is grpc.StatusCode.NOT_FOUND
        shutil.rmtree(base)
        manager.poll()  # Nothing on disk: nothing served.
        assert manager.available_versions() == {"toy": []}
        with pytest.raises(ServingError, match=r"Latest\(toy\)"):
            manager.resolve("toy")
    finally:
        manager.stop()


def test_a_broken_version_keeps_the_old_one_serving(tmp_path, toy_base, caplog):
    base = tmp_path / "toy"
    publish(toy_base, base, 1)
    manager = ModelManager([ModelConfig("toy", str(base))])
    try:
        manager.poll()
        broken = base / "2"
        broken.mkdir()
        (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
        with caplog.at_level("ERROR", logger="serving"):
            manager.poll()
            manager.poll()  # Not retried while the directory is unchanged.
        assert caplog.text.count("version 2 from") == 1
        assert manager.resolve("toy").version == 1  # Availability preserved.
        status = {s.version: s for s in manager.model_status("toy")}
        assert status[2].state is VersionState.END and status[2].error
        shutil.rmtree(broken)
        publish(toy_base, base, 2, source=2)  # Fixed: loads, and then 1 goes.
        manager.poll()
        assert manager.available_versions() == {"toy": [2]} and _y(manager.resolve("toy")) == 12.0
    finally:
        manager.stop()


def copy_in_place(source, target, files):
    """Copies some files of a SavedModel into `target` in place, as `cp -r` would: the
    version directory is visible (with saved_model.pb) before the copy is complete."""
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target / name)


def test_a_version_copied_in_place_is_served_once_complete(tmp_path, toy_base, caplog):
    """Issue 17: saved_model.pb first, variables later; the failed load is not final."""
    base = tmp_path / "toy"
    publish(toy_base, base, 1)
    source, target = toy_base / "2", base / "2"
    manager = ModelManager([ModelConfig("toy", str(base))])  # Retry interval: 60 s.
    try:
        manager.poll()
        with caplog.at_level("INFO", logger="serving"):
            copy_in_place(source, target, ["saved_model.pb", "fingerprint.pb"])
            manager.poll()
            manager.poll()  # Unchanged, and the retry is not due: no second attempt.
            assert caplog.text.count("version 2 from") == 1
            status = {s.version: s for s in manager.model_status("toy")}
            assert status[2].state is VersionState.END and "variables" in status[2].error
            copy_in_place(source, target, ["variables/variables.index"])  # Still incomplete.
            manager.poll()
            assert caplog.text.count("version 2 from") == 2
            assert manager.resolve("toy").version == 1  # Availability preserved throughout.
            copy_in_place(source, target, ["variables/variables.data-00000-of-00001"])
            manager.poll()
        assert caplog.text.count("changed since its load failed") == 2
        assert manager.available_versions() == {"toy": [2]}
        assert _y(manager.resolve("toy")) == 12.0
        assert [(s.version, s.state) for s in manager.model_status("toy")] == [
            (2, VersionState.AVAILABLE), (1, VersionState.END)]
    finally:
        manager.stop()


def test_failed_loads_are_retried_like_tf_serving(tmp_path, toy_base, caplog):
    """Unchanged files: retried every interval, max_num_load_retries times, then left."""
    base = tmp_path / "toy"
    publish(toy_base, base, 1)
    manager = ModelManager([ModelConfig("toy", str(base))], max_num_load_retries=2,
                           load_retry_interval_s=0.5)
    try:
        manager.poll()
        broken = base / "2"
        broken.mkdir()
        (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
        with caplog.at_level("INFO", logger="serving"):
            manager.poll()
            manager.poll()  # Too soon for a retry.
            assert caplog.text.count("version 2 from") == 1
            assert "retrying in 0.5 s, 2 retries left" in caplog.text
            for _ in range(3):  # Two retries are due, then none is left.
                time.sleep(0.6)
                manager.poll()
        assert caplog.text.count("version 2 from") == 3  # The load and 2 retries.
        assert "(retry 2 of 2)" in caplog.text
        assert "no retries left; it loads again when its files change" in caplog.text
        assert manager.resolve("toy").version == 1
    finally:
        manager.stop()
    with pytest.raises(ValueError, match="max_num_load_retries"):
        ModelManager([], max_num_load_retries=-1)
    with pytest.raises(ValueError, match="load_retry_interval_s"):
        ModelManager([], load_retry_interval_s=-1.0)


def test_server_serves_a_version_copied_in_place(tmp_path, toy_base):
    """End to end on loopback: polling every 50 ms while a copy trickles in."""
    base = tmp_path / "toy"
    publish(toy_base, base, 1)
    options = ServerOptions(port=0, rest_port=None, file_system_poll_wait_seconds=0.05)
    with ModelServer([ModelConfig("toy", str(base))], options=options) as server:
        source, target = toy_base / "2", base / "2"
        for files in (["saved_model.pb", "fingerprint.pb"], ["variables/variables.index"],
                      ["variables/variables.data-00000-of-00001"]):
            copy_in_place(source, target, files)
            time.sleep(0.3)  # Several polls see the incomplete copy.
        server.manager.wait_until_available("toy", 2, timeout_s=30)
        stubs = Stubs(server.grpc_address)
        try:
            request = predict_pb2.PredictRequest()
            request.model_spec.name, request.model_spec.signature_name = "toy", "single"
            request.inputs["x"].CopyFrom(tf.make_tensor_proto(X))
            response = stubs.prediction.Predict(request, timeout=10)
        finally:
            stubs.close()
        assert response.model_spec.version.value == 2
        assert tf.make_ndarray(response.outputs["y"]).tolist() == [[12.0]]


def test_reload_changes_models(tmp_path, toy_base):
    manager = ModelManager([ModelConfig("a", str(toy_base))])
    try:
        manager.poll()
        manager.reload([ModelConfig("b", str(toy_base), version_policy=VersionPolicy.all())])
        assert manager.available_versions() == {"b": [1, 2]}
        with pytest.raises(ServingError, match="'a' is not served"):
            manager.resolve("a")
    finally:
        manager.stop()


def test_hot_swap_under_load_fails_no_request(tmp_path, toy_base):
    """A new version is pushed while 8 concurrent clients query: zero failures, then it answers."""
    base = tmp_path / "toy"
    publish(toy_base, base, 1, source=1)
    options = ServerOptions(port=0, rest_port=None, file_system_poll_wait_seconds=0.05)
    with ModelServer([ModelConfig("toy", str(base))], options=options) as server:
        stop, failures, lock = threading.Event(), [], threading.Lock()
        answers = [[] for _ in range(8)]  # (version, y) per client, in order.

        def query(index):
            stubs = Stubs(server.grpc_address)
            request = predict_pb2.PredictRequest()
            request.model_spec.name, request.model_spec.signature_name = "toy", "single"
            request.inputs["x"].CopyFrom(tf.make_tensor_proto(X))
            try:
                for _ in range(3000):  # Bounded, whatever happens.
                    if stop.is_set():
                        break
                    try:
                        response = stubs.prediction.Predict(request, timeout=10)
                    except grpc.RpcError as error:
                        with lock:
                            failures.append(f"{error.code()}: {error.details()}")
                        continue
                    answers[index].append((response.model_spec.version.value,
                                           float(tf.make_ndarray(response.outputs["y"])[0, 0])))
            finally:
                stubs.close()

        threads = [threading.Thread(target=query, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 30
            while sum(map(len, answers)) < 40 and time.monotonic() < deadline:
                time.sleep(0.02)
            publish(toy_base, base, 2, source=2)
            while server.manager.available_versions()["toy"] != [2]:
                assert time.monotonic() < deadline, "version 2 did not replace version 1"
                time.sleep(0.02)
            swapped_at = [len(a) for a in answers]
            while min(len(a) - s for a, s in zip(answers, swapped_at, strict=True)) < 5:
                assert time.monotonic() < deadline, "clients stopped answering"
                time.sleep(0.02)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        assert failures == []
        seen = {version for a in answers for version, _ in a}
        assert seen == {1, 2}
        for client_answers in answers:
            assert all(y == 6.0 * version for version, y in client_answers)  # Never mixed up.
            assert client_answers[-1][0] == 2  # The new version answers after the swap.
            versions = [version for version, _ in client_answers]
            assert versions == sorted(versions)  # No going back to 1 once 2 answered.
