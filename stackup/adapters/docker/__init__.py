"""The Docker adapter: the ONLY package that imports ``docker``. See ``adapters.docker.engine``."""

from stackup.adapters.docker.engine import DockerEngine, ExecStream
from stackup.adapters.docker.images import _auth_config

__all__ = ["DockerEngine", "ExecStream", "_auth_config"]
