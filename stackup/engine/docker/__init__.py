"""The Docker adapter: the ONLY package that imports ``docker``. See ``engine.docker.engine``."""

from stackup.engine.docker.engine import DockerEngine, ExecStream
from stackup.engine.docker.images import _auth_config

__all__ = ["DockerEngine", "ExecStream", "_auth_config"]
