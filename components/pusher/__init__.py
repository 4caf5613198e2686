"""The pusher step: publish a blessed, infra-validated SavedModel to TF Serving's layout.

The light, import-anywhere surface is re-exported here (the settings and the executor
config: no TensorFlow, no KFP; the model-name rule is `model_names`). The heavy parts are
imported by module, so that building a pipeline does not load TensorFlow and running the
step does not load KFP:

    from components.pusher.executor import run              # push (TensorFlow)
    from components.pusher.rollback import rollback         # serve an older version again
    from components.artifacts.push import read_push_record  # what a push did
    from components.pusher.component import pusher          # the KFP component
    from components.pusher.cli import add_rollback_command  # `estpipe rollback`

The files it reads and writes are laid out in `components/artifacts/` (model, blessing,
push, serving).
"""

from components.pusher.config import PusherConfig, PusherSettings

__all__ = ["PusherConfig", "PusherSettings"]
