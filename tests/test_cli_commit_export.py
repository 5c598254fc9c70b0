"""``commit`` and ``export`` without an engine: the image reference split as the docker CLI
splits it, a tar refused on a terminal, and both sorted for --dry-run (commit makes an image, so
it is recorded; export only reads)."""

from __future__ import annotations

import pytest

from stackup.adapters.dry_run import READS, WRITES
from stackup.cli.commands.commit import split_reference


@pytest.mark.parametrize(("reference", "expected"), [
    (None, (None, None)), ("app", ("app", None)), ("app:1", ("app", "1")),
    ("localhost:5000/team/app", ("localhost:5000/team/app", None)),
    ("localhost:5000/team/app:2", ("localhost:5000/team/app", "2"))])
def test_repository_and_tag(reference: str | None,
                            expected: tuple[str | None, str | None]) -> None:
    assert split_reference(reference) == expected


def test_commit_is_a_write_and_export_a_read() -> None:
    assert "commit_container" in WRITES and "export_container" in READS


def test_export_refuses_to_write_a_tar_to_a_terminal() -> None:
    import os
    import pty
    import subprocess

    from tests.integration.helpers import STACKUP

    leader, follower = pty.openpty()
    try:
        done = subprocess.run([STACKUP, "-p", "nothing-here", "export", "web"], stdout=follower,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 64
    assert "refusing to write a tar archive to a terminal: use -o FILE" in done.stderr
