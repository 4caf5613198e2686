"""The gRPC ModelService: GetModelStatus and HandleReloadConfigRequest.

GetModelStatus reports each version's state (START, LOADING, AVAILABLE, UNLOADING, END)
with the error of a failed load; HandleReloadConfigRequest replaces the served models with
a new ModelServerConfig, as `tensorflow_model_server` does.
"""

from __future__ import annotations

import grpc
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
)

from serving import errors, model_config
from serving.manager import ModelManager, VersionState
from serving.prediction_service import handle_errors

_STATE = get_model_status_pb2.ModelVersionStatus.State


def status_proto(version_status) -> get_model_status_pb2.ModelVersionStatus:
    """A manager VersionStatus as TF Serving's ModelVersionStatus."""
    proto = get_model_status_pb2.ModelVersionStatus(
        version=version_status.version, state=_STATE.Value(version_status.state.value))
    if version_status.error:
        proto.status.error_code = grpc.StatusCode.UNKNOWN.value[0]
        proto.status.error_message = version_status.error
    return proto


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    """TF Serving's ModelService over a ModelManager.

    Args:
        manager: The ModelManager that holds the served models.

    Example:
        >>> model_service_pb2_grpc.add_ModelServiceServicer_to_server(
        ...     ModelService(manager), server)
    """

    def __init__(self, manager: ModelManager):
        self._manager = manager

    @handle_errors
    def GetModelStatus(self, request: get_model_status_pb2.GetModelStatusRequest,
                       context) -> get_model_status_pb2.GetModelStatusResponse:
        """See base class."""
        spec = request.model_spec
        if not spec.name:
            raise errors.invalid_argument("Missing ModelSpec: set model_spec.name.")
        which = spec.WhichOneof("version_choice")
        statuses = self._manager.model_status(
            spec.name, spec.version.value if which == "version" else None,
            spec.version_label if which == "version_label" else None)
        response = get_model_status_pb2.GetModelStatusResponse()
        response.model_version_status.extend(status_proto(s) for s in statuses)
        return response

    @handle_errors
    def HandleReloadConfigRequest(self, request: model_management_pb2.ReloadConfigRequest,
                                  context) -> model_management_pb2.ReloadConfigResponse:
        """See base class."""
        try:
            configs = model_config.from_server_config(request.config)
        except (TypeError, ValueError) as exc:
            raise errors.invalid_argument(f"Invalid ModelServerConfig: {exc}") from exc
        self._manager.reload(configs)
        failed = [f"{name} version {s.version}: {s.error}"
                  for name in self._manager.configs
                  for s in _statuses(self._manager, name)
                  if s.state is VersionState.END and s.error]
        response = model_management_pb2.ReloadConfigResponse()
        if failed:
            response.status.error_code = grpc.StatusCode.UNKNOWN.value[0]
            response.status.error_message = "; ".join(failed)
        return response


def _statuses(manager: ModelManager, name: str):
    try:
        return manager.model_status(name)
    except errors.ServingError:
        return []
