"""``docker stackup ...``: the docker CLI plugin entry point (the ``docker-stackup`` program).

The docker CLI finds ``docker-stackup`` in its ``cli-plugins`` folder (``stackup docker-plugin
install`` puts a link there), asks it for ``docker-cli-plugin-metadata``, and then runs it as
``docker-stackup stackup ARGS``; this drops the plugin's name and runs the ``stackup`` command
with ARGS, so ``docker stackup up -d`` is ``stackup up -d``.
"""

from __future__ import annotations

import json
import sys

from stackup.core.version import __version__

METADATA = {"SchemaVersion": "0.1.0", "Vendor": "stackup", "Version": __version__,
            "ShortDescription": "Declarative Compose stacks: plan, up, history, rollback"}


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["docker-cli-plugin-metadata"]:
        print(json.dumps(METADATA))
        return
    if args[:1] == ["stackup"]:
        args = args[1:]
    sys.argv = ["stackup", *args]
    from stackup.cli.entry import run

    run()
