"""One sync of one stack: the pipeline path, from a git commit to a converged, recorded stack.

Pipeline position: called by ``service`` in a worker thread, never two at once for a stack.
``poll`` asks the remote for the branch head; a head the engine's revision records already
name (or that planned empty here) is not applied again, so an agent killed mid-apply and
started again picks up from the engine, not from a local file. A new head is checked out,
loaded with the CLI's loader, planned by the stack's ``targets.Target`` (``up --wait
--remove-orphans`` on one engine or on a Swarm), passed through the ``gate``, run by the target
under the project's lock and recorded with ``app.revision_store.record_revision`` (its git
commit, author and message as the record's own fields). A failed apply with ``on_failure:
rollback`` converges back to the previous good revision, exactly as ``up --rollback-on-failure``
does (on a Swarm also after the Swarm rolled an update back by itself: that is a failed sync
too), and the result says ``rolled-back`` with the failing service and why. A plan held by
the gate is saved in the target's saved-plan format; ``approve`` runs exactly that plan, or
refuses it when anything moved (``StalePlan``). Between commits, ``poll`` compares the engine
with the desired state (the files, or the revision a rollback restored) and heals drift when the
stack says so (on a Swarm, the drift its plan sees: ``targets.SwarmTarget.drift_scope``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from typing import Any

from stackup.app.revision_store import failure_reason, record_revision, restore_revision
from stackup.app import revisions as R
from stackup.agent.config import StackConfig
from stackup.agent.gate import decide
from stackup.agent.gitsource import CommitInfo, GitError, Source, checkout, remote_head
from stackup.agent.status import SyncResult, plan_view
from stackup.agent.targets import Target, target_of
from stackup.core.errors import StackupError, StalePlan
from stackup.run.events import Outcome
from stackup.core.model import Project
from stackup.core.plan import Plan

if TYPE_CHECKING:
    from stackup.ports.engine import Engine
    from stackup.app.locking import ProjectLock


class Refused(StackupError):
    """An approval that cannot run (no plan waits, another plan waits, or it is stale)."""


class StaleApproval(Refused):
    """The approved plan's fingerprints moved: nothing ran; a new plan is made."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A plan the gate holds: its saved form (``stackup apply`` reads the same file)."""

    info: CommitInfo
    digest: str
    text: str
    path: str
    reasons: str  # why the gate held it


@dataclass(frozen=True, slots=True)
class Record:
    """A revision record as a poll reads it (``labels``: to decode the model when needed)."""

    number: int
    time: str
    command: str
    outcome: str
    reason: str
    commit: str | None
    rollback_to: int | None
    labels: Mapping[str, str]

    def as_json(self) -> dict[str, object]:
        return {"number": self.number, "time": self.time, "command": self.command,
                "outcome": self.outcome, "reason": self.reason, "commit": self.commit,
                "author": self.labels.get(R.AUTHOR), "message": self.labels.get(R.MESSAGE),
                "rollback_to": self.rollback_to}


class StackSync:
    """The syncs of one stack. Blocking; the caller runs one call at a time per stack."""

    def __init__(self, stack: StackConfig, state_dir: str, environ: Mapping[str, str],
                 on_busy: Callable[[], None] | None = None) -> None:
        self.stack = stack
        self.on_busy = on_busy  # called when a sync starts to change something (``syncing``)
        self.folder = os.path.join(os.path.abspath(state_dir), "stacks", stack.name)
        self.source = Source(stack.repo, stack.branch, os.path.join(self.folder, "repo"),
                             stack.git_token, stack.ssh_key)
        self.project_name = stack.project or stack.name
        self.environ = dict(environ)
        self.pending: Pending | None = None
        self.checked: str | None = None  # a head that planned empty (nothing to record)
        self.broken: tuple[str, SyncResult] | None = None  # a head whose files do not load
        self.tree_at: CommitInfo | None = None  # what the work tree holds now
        self._engine: Engine | None = None
        self._target: Target | None = None

    # --- the engine and its records --------------------------------------------------------

    def engine(self) -> Engine:
        if self._engine is None:
            from stackup.app.wiring import connect

            self._engine = connect(self.environ)
        return self._engine

    def target(self) -> Target:
        """What runs the stack (``target:`` in agent.yaml): plans, saved plans and runs."""
        if self._target is None:
            self._target = target_of(self.stack.target, self.engine())
        return self._target

    def revisions(self) -> list[R.Revision]:
        """The project's revision records, whole (models decoded), oldest first; damaged
        ones left out."""
        found = []
        for labels in self.engine().list_revisions(self.project_name):
            try:
                found.append(R.from_labels(labels))
            except StackupError:
                continue
        return sorted(found, key=lambda r: r.number)

    def records(self) -> list[Record]:
        """The records' small labels only, oldest first: what a poll needs, without decoding
        every model."""
        found = []
        for labels in self.engine().list_revisions(self.project_name):
            number = labels.get(R.NUMBER, "")
            if not number.isdigit():
                continue
            back = labels.get(R.ROLLBACK_TO, "")
            found.append(Record(int(number), labels.get(R.TIME, ""), labels.get(R.COMMAND, ""),
                                labels.get(R.OUTCOME, ""), labels.get(R.REASON, ""),
                                labels.get(R.COMMIT),
                                int(back) if back.isdigit() else None, labels))
        return sorted(found, key=lambda r: r.number)

    def history(self, limit: int = 20) -> list[dict[str, object]]:
        return [r.as_json() for r in self.records()[-limit:]]

    def _locked(self) -> ProjectLock:
        from stackup.app.locking import ProjectLock, lease_from

        return ProjectLock(self.engine().lock_store(), self.project_name, "stackup agent",
                           timeout=300.0, lease=lease_from(self.environ))

    # --- loading a commit ------------------------------------------------------------------

    def checkout(self, commit: str) -> CommitInfo:
        """``commit`` in the stack's work tree (nothing to do when it is there already)."""
        if self.tree_at is None or self.tree_at.commit != commit:
            self.tree_at = None
            self.tree_at = checkout(self.source, commit)
        return self.tree_at

    @property
    def tree(self) -> str:
        return os.path.join(self.source.folder, self.stack.path)

    def load(self) -> tuple[Project, Any]:
        """(the project, the loader's located tree) of the work tree's stack files."""
        from stackup.loader.loader import LoadOptions, load_project

        options = LoadOptions(
            files=tuple(os.path.join(self.tree, f) for f in self.stack.files),
            project_name=self.project_name, project_directory=self.tree,
            env_files=tuple(os.path.join(self.tree, f) for f in self.stack.env_files),
            environ=self.environ, cwd=self.tree)
        loaded = load_project(options)
        return loaded.project, loaded.tree

    def where(self, error: StackupError) -> str:
        """``deploy/compose.yaml:7: summary``: the failure with its place in the repository."""
        location = error.location
        if location is None or not location.file:
            return error.summary
        path = location.file
        if os.path.isabs(path) and path.startswith(self.source.folder + os.sep):
            path = os.path.relpath(path, self.source.folder)
        line = f":{location.line}" if location.line else ""
        key = f" ({location.path})" if location.path else ""
        summary = error.summary.replace(self.source.folder + os.sep, "")
        return f"{path}{line}{key}: {summary}"

    # --- one sync ----------------------------------------------------------------------------

    def poll(self, *, force: bool = False) -> SyncResult:
        """Look at the branch head; sync it when it is new (or ``force``), else check drift."""
        try:
            head = remote_head(self.source)
        except GitError as error:
            return SyncResult("error", "error", reason=_one_line(error))
        history = self.records()
        # the engine says where the agent was: the commit of its last sync or apply record
        # (a heal or a rollback records what it restored, not a new commit)
        attempts = [r for r in history if r.command.startswith(("agent sync", "agent apply"))]
        recorded = bool(attempts) and attempts[-1].commit == head
        if self.pending is not None and self.pending.info.commit == head and not force:
            return self._waiting(self.pending)  # the same plan waits on
        if force or not (recorded or head == self.checked):
            if self.broken is not None and self.broken[0] == head and not force:
                return self.broken[1]
            return self.sync(head)
        if self.broken is not None and self.broken[0] == head:
            return self.broken[1]
        return self.check_drift(head, history)

    def _busy(self) -> None:
        if self.on_busy is not None:
            self.on_busy()

    def sync(self, head: str) -> SyncResult:
        self._busy()
        try:
            info = self.checkout(head)
        except GitError as error:
            return SyncResult("error", "error", commit=head, reason=_one_line(error))
        try:
            project, tree = self.load()
        except StackupError as error:
            result = SyncResult("failed", "failed", info.commit, info.author, info.message,
                                reason=f"the stack file does not load: {self.where(error)}; "
                                       f"nothing was changed")
            self.broken = (head, result)
            return result
        self.broken = None
        self.pending = None
        engine = self.engine()
        target = self.target()
        lock = self._locked()
        with lock:
            try:
                plan = target.plan(project, tree)
            except StackupError as error:
                return SyncResult("failed", "failed", info.commit, info.author, info.message,
                                  reason=f"cannot plan: {self.where(error)}")
            decision = decide(self.stack.approve, plan, project)
            if not decision.apply:
                return self._hold(project, tree, info, decision.reasons)
            if plan.empty:
                record_revision(engine, project, (), plan, Outcome(),
                                command=self._command(info), source=(info.commit, False),
                                author=info.author, message=info.message)
                self.checked = head
                return SyncResult("synced", "synced", info.commit, info.author, info.message,
                                  plan=plan_view(plan))
            outcome = target.run(plan, project, self.stack.wait_timeout)
            return self._finish(project, plan, outcome, info, self._command(info))

    def _command(self, info: CommitInfo, verb: str = "sync") -> str:
        """``agent sync 0123abcd4567``: the commit's author and message are the record's own
        fields (``history`` shows them)."""
        return f"agent {verb} {info.commit[:12]}"

    def _finish(self, project: Project, plan: Plan, outcome: Outcome, info: CommitInfo,
                command: str, plan_digest: str = "") -> SyncResult:
        """Record what ran; on failure roll back when the stack says so."""
        engine = self.engine()
        recorded = record_revision(engine, project, (), plan, outcome, command=command,
                                   source=(info.commit, False), plan_digest=plan_digest,
                                   author=info.author, message=info.message)
        view = plan_view(plan)
        common = (info.commit, info.author, info.message)
        if outcome.ok:
            return SyncResult("synced", "synced", *common, plan=view,
                              revision=recorded.number if recorded else None, applied=True)
        reason = failure_reason(outcome)
        service = outcome.failed[0][0].service_name if outcome.failed else None
        if self.stack.on_failure != "rollback":
            return SyncResult("failed", "failed", *common, reason=reason,
                              failing_service=service, plan=view, applied=True)
        history = self.revisions()
        failed_number = recorded.number if recorded is not None else R.next_number(
            r.number for r in history)
        target = R.previous_good(history, failed_number)
        if target is None:
            return SyncResult("failed", "failed", *common,
                              reason=f"{reason}; no earlier good revision to roll back to",
                              failing_service=service, plan=view, applied=True)
        try:
            back = self._converge_to(target, project, f"rollback to {target.number} (after "
                                                      f"revision {failed_number} failed)")
        except StackupError as error:
            return SyncResult("failed", "failed", *common,
                              reason=f"{reason}; the rollback to revision {target.number} "
                                     f"could not run: {_one_line(error)}",
                              failing_service=service, plan=view, applied=True)
        if not back[1].ok:
            return SyncResult("failed", "failed", *common,
                              reason=f"{reason}; the rollback to revision {target.number} "
                                     f"failed too: {failure_reason(back[1])}",
                              failing_service=service, plan=view, applied=True)
        return SyncResult("rolled-back", "rolled-back", *common,
                          reason=f"{reason}; rolled back to revision {target.number} "
                                 f"(commit {(target.commit or '-')[:12]})",
                          failing_service=service, plan=view,
                          revision=back[0].number if back[0] else None, applied=True)

    def _converge_to(self, target: R.Revision, current: Project | None,
                     command: str) -> tuple[R.Revision | None, Outcome]:
        """``stackup rollback``'s path: the revision's model, planned and run, recorded as the
        desired state."""
        engine = self.engine()
        project = restore_revision(target, current, self.environ)
        plan = self.target().plan(project, None)
        outcome = self.target().run(plan, project, self.stack.wait_timeout)
        recorded = record_revision(engine, project, (), plan, outcome, command=command,
                                   source=(target.commit, target.dirty),
                                   rollback_to=target.number, author=target.author,
                                   message=target.message)
        return recorded, outcome

    # --- the gate's hold and approvals -------------------------------------------------------

    def _hold(self, project: Project, tree: Any, info: CommitInfo,
              reasons: tuple[str, ...]) -> SyncResult:
        plan, text, digest = self.target().save(project, tree)
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, "pending-plan.json")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        self.pending = Pending(info, digest, text, path, "; ".join(reasons))
        return self._waiting(self.pending, plan)

    def _waiting(self, pending: Pending, plan: Plan | None = None) -> SyncResult:
        info = pending.info
        return SyncResult("waiting-approval", "waiting-approval" if plan is not None else None,
                          info.commit, info.author, info.message,
                          reason=f"waiting for an approval ({pending.reasons})",
                          plan=plan_view(plan) if plan is not None else None,
                          pending_digest=pending.digest)

    def approve(self, digest: str | None = None) -> SyncResult:
        """Run exactly the plan that waits (``digest``: the one the approver saw), or refuse."""
        pending = self.pending
        if pending is None:
            raise Refused(f"no plan of {self.stack.name} waits for an approval")
        if digest and digest != pending.digest:
            raise Refused(f"the plan approved ({digest[:19]}…) is not the one waiting now "
                          f"({pending.digest[:19]}…); nothing was changed")
        self._busy()
        info = self.checkout(pending.info.commit)
        project, tree = self.load()
        target = self.target()
        with self._locked():
            # applied already (by an agent killed after the apply): its record has the digest
            newest = self.records()[-1:]
            if newest and newest[0].outcome == "ok" and \
                    newest[0].labels.get(R.PLAN_DIGEST) == pending.digest:
                self.pending = None
                return SyncResult("synced", None, info.commit, info.author, info.message)
            try:
                plan = target.check_saved(pending.text, pending.path, project, tree)
            except StalePlan as error:
                self.pending = None
                raise StaleApproval(f"the approved plan is stale: {error.summary}",
                              detail=error.detail) from None
            self.pending = None
            outcome = target.run(plan, project, self.stack.wait_timeout)
            return self._finish(project, plan, outcome, info, self._command(info, "apply"),
                                plan_digest=pending.digest)

    # --- between commits ---------------------------------------------------------------------

    def check_drift(self, head: str, history: list[Record]) -> SyncResult:
        """Compare the engine with the desired state; heal it when the stack says so."""
        try:
            info = self.checkout(head)
            files, tree = self.load()
        except StackupError as error:
            return SyncResult("failed", None, head, reason=self.where(error))
        newest = history[-1] if history else None
        target = None  # the rollback whose model is the desired state, if the newest is one
        if newest is not None and newest.rollback_to is not None:
            target = R.from_labels(newest.labels)
        desired = restore_revision(target, files, self.environ) if target else files
        state = "rolled-back" if target is not None else "synced"
        reason = ""
        if target is not None:
            failed = next((r for r in reversed(history) if r.outcome != "ok"), None)
            reason = (f"{failed.reason if failed else 'an apply failed'}; rolled back to "
                      f"revision {target.rollback_to}")
        engine = self.engine()
        runner = self.target()
        desired_tree = None if target else tree
        plan = runner.plan(desired, desired_tree)
        common = (info.commit, info.author, info.message)
        if plan.empty:
            if newest is not None and newest.outcome != "ok" and target is None:
                return SyncResult("failed", None, *common, reason=newest.reason)
            return SyncResult(state, None, *common, reason=reason)
        if not self.stack.heal or not decide(self.stack.approve, plan, desired).apply:
            return SyncResult("drifted", "drifted", *common,
                              reason="the engine differs from the desired state: "
                                     + plan_view(plan).summary, plan=plan_view(plan))
        self._busy()
        with self._locked():
            plan = runner.plan(desired, desired_tree)
            outcome = runner.run(plan, desired, self.stack.wait_timeout)
            record_revision(engine, desired, (), plan, outcome,
                            command=self._command(info, "heal"),
                            source=(target.commit, target.dirty) if target else
                            (info.commit, False),
                            rollback_to=target.rollback_to if target else None,
                            author=target.author if target else info.author,
                            message=target.message if target else info.message)
        if not outcome.ok:
            return SyncResult("failed", "failed", *common,
                              reason=f"healing drift failed: {failure_reason(outcome)}",
                              plan=plan_view(plan), applied=True)
        return SyncResult(state, "drift-healed", *common, reason=reason,
                          plan=plan_view(plan), applied=True)


def _one_line(error: StackupError) -> str:
    detail = " ".join(error.detail.split()) if error.detail else ""
    return f"{error.summary}: {detail}" if detail else error.summary
