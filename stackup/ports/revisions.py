"""The revision store's names: where a project's revision records live on an engine.

Pipeline position: ``app.revisions`` encodes records into labels under ``PREFIX``; the stores
(``adapters.docker.revisions`` in volumes, ``testing.fake_revisions`` in memory) keep them under
:func:`volume_name` and find a project's by the ``PROJECT`` label. The methods themselves are on
the ``Engine`` port (``create_revision``, ``list_revisions``, ``remove_revisions``).
"""

PREFIX = "io.stackup.revision"
PROJECT = f"{PREFIX}.project"  # the project name: the filter that lists a project's history


def volume_name(project_name: str, number: int) -> str:
    """The engine name of revision ``number``. Project names have no dots and the project's own
    volumes are ``<project>_<key>``, so this cannot be one of them."""
    return f"stackup-revision.{project_name}.{number}"
