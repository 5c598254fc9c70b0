"""The stack's source: a git branch, read with the ``git`` command.

Pipeline position: before the loader. ``remote_head`` asks the remote for the branch head
(``git ls-remote``: one round trip, nothing downloaded), so a poll costs little; ``checkout``
fetches and checks out a commit into the stack's own work tree (one fixed folder per stack, so
relative paths in the stack file resolve to the same place at every commit). Blocking: the
agent calls these from a worker thread. Credentials come from the configuration's environment
variables: a token through ``GIT_ASKPASS`` (a small script that prints an environment variable,
so the token is never on a command line or in a file), an ssh key through ``GIT_SSH_COMMAND``.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from stackup.core.errors import StackupError

TIMEOUT = 120.0  # seconds one git command may take


class GitError(StackupError):
    """git could not read the source (unreachable remote, unknown branch, bad credentials)."""

    transient = True


@dataclass(frozen=True, slots=True)
class CommitInfo:
    commit: str
    author: str  # "Name <email>"
    message: str  # the subject line


@dataclass(frozen=True, slots=True)
class Source:
    repo: str
    branch: str
    folder: str  # the stack's work tree (created on first use)
    token: str | None = None
    ssh_key: str | None = None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        if self.token:
            env.update(GIT_ASKPASS=self._askpass(), STACKUP_AGENT_GIT_TOKEN=self.token)
        if self.ssh_key:
            env["GIT_SSH_COMMAND"] = (f"ssh -i {self._key_file()} -o IdentitiesOnly=yes "
                                      f"-o StrictHostKeyChecking=accept-new -o BatchMode=yes")
        return env

    def _private(self, name: str, text: str, mode: int) -> str:
        folder = os.path.dirname(os.path.abspath(self.folder))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(path, mode)
        return path

    def _askpass(self) -> str:
        # the script holds no secret: it prints the variable git's environment carries
        return self._private("askpass.sh", '#!/bin/sh\nprintf "%s\\n" '
                             '"$STACKUP_AGENT_GIT_TOKEN"\n', 0o700)

    def _key_file(self) -> str:
        key = self.ssh_key or ""
        return self._private("ssh_key", key if key.endswith("\n") else key + "\n", 0o600)


def _masked(text: str) -> str:
    """A URL's user:password part never reaches a message."""
    return re.sub(r"://[^/@\s]+@", "://***@", text)


def _git(source: Source, *args: str, cwd: str | None = None) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=TIMEOUT, env=source.environment(),
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} of {_masked(source.repo)} took longer than "
                       f"{TIMEOUT:g} s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        detail = _masked("\n".join(lines[-4:]))
        raise GitError(f"git {args[0]} of {_masked(source.repo)} failed", detail=detail)
    return done.stdout


def remote_head(source: Source) -> str:
    """The commit the remote's branch points at now."""
    out = _git(source, "ls-remote", "--heads", "--", source.repo,
               f"refs/heads/{source.branch}")
    for line in out.splitlines():
        commit, _, ref = line.partition("\t")
        if ref.strip() == f"refs/heads/{source.branch}":
            return commit.strip()
    raise GitError(f"{_masked(source.repo)} has no branch {source.branch}")


def checkout(source: Source, commit: str) -> CommitInfo:
    """Fetch the branch (when ``commit`` is not here yet) and check ``commit`` out into the
    stack's work tree (tracked files as the commit has them; untracked ones, such as data a
    container wrote into a bind mount, kept); what was checked out, with its author and
    message."""
    folder = source.folder
    if not os.path.isdir(os.path.join(folder, ".git")):
        os.makedirs(folder, exist_ok=True)
        _git(source, "init", "-q", folder)
        _git(source, "remote", "add", "origin", source.repo, cwd=folder)
    else:
        _git(source, "remote", "set-url", "origin", source.repo, cwd=folder)
    if not has_commit(source, commit):
        _git(source, "fetch", "-q", "--no-tags", "origin",
             f"+refs/heads/{source.branch}:refs/remotes/origin/{source.branch}", cwd=folder)
        if not has_commit(source, commit):
            raise GitError(f"commit {commit[:12]} is not on {source.branch} of "
                           f"{_masked(source.repo)} any more")
    # no `git clean`: files git does not track are what containers wrote into bind mounts
    # under the work tree (``./data:/data``), and they are kept
    _git(source, "checkout", "-q", "-f", "--detach", commit, cwd=folder)
    return commit_info(source, commit)


def has_commit(source: Source, commit: str) -> bool:
    try:
        _git(source, "cat-file", "-e", f"{commit}^{{commit}}", cwd=source.folder)
    except GitError:
        return False
    return True


def commit_info(source: Source, commit: str) -> CommitInfo:
    out = _git(source, "log", "-1", "--format=%H%x00%an <%ae>%x00%s", commit,
               cwd=source.folder)
    full, author, message = (out.strip().split("\x00") + ["", ""])[:3]
    return CommitInfo(full, author, message)
