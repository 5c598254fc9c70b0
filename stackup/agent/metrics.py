"""``GET /metrics``: the agent's Prometheus metrics, with the official client library.

Pipeline position: updated by ``service`` after each sync, rendered by ``web``. One registry
of the agent's own (not the process-global one), so that two agents in one test process do not
collide. A sync that ended ``failed``, ``rolled-back`` or ``error`` counts under that result,
never as ``synced``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from stackup.agent.status import STATES, StackStatus


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.syncs = Counter("stackup_agent_syncs", "Syncs by stack and result (the state "
                             "the stack ended in).", ["stack", "result"], registry=self.registry)
        self.duration = Histogram("stackup_agent_sync_duration_seconds", "How long a sync "
                                  "took.", ["stack"], registry=self.registry,
                                  buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600))
        self.drift = Gauge("stackup_agent_drift", "1 while the engine differs from the "
                           "desired state and the agent does not heal it.", ["stack"],
                           registry=self.registry)
        self.last_success = Gauge("stackup_agent_last_success_timestamp_seconds", "Unix time "
                                  "of the last sync that ended synced.", ["stack"],
                                  registry=self.registry)
        self.commit = Gauge("stackup_agent_commit_info", "The commit the stack's desired state "
                            "comes from (value 1).", ["stack", "commit"], registry=self.registry)
        self.state = Gauge("stackup_agent_state", "1 for the stack's current state.",
                           ["stack", "state"], registry=self.registry)
        self._commits: dict[str, str] = {}

    def observe(self, status: StackStatus, seconds: float, *, counted: bool = True) -> None:
        name = status.name
        if counted:
            self.syncs.labels(name, status.state).inc()
            self.duration.labels(name).observe(seconds)
        self.drift.labels(name).set(1 if status.state == "drifted" else 0)
        if status.last_success is not None:
            self.last_success.labels(name).set(status.last_success)
        for state in STATES:
            self.state.labels(name, state).set(1 if status.state == state else 0)
        if status.commit and self._commits.get(name) != status.commit:
            if name in self._commits:
                self.commit.remove(name, self._commits[name])
            self._commits[name] = status.commit
            self.commit.labels(name, status.commit).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
