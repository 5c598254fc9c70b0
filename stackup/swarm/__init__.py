"""The Swarm backend's pure part: the same model deployed as swarm services.

Pipeline position: beside ``reconcile`` (same layer, pure: no docker, no I/O). ``check`` refuses
what a swarm cannot do; ``spec`` and ``objects`` turn the model into ServiceSpecs and object
specs; ``observed`` is the swarm's snapshot; ``reconcile`` decides the plan; ``diff`` words the
changes. The engine side is ``stackup.adapters.docker.swarm``; the CLI side ``stackup.cli.targets.swarm``.
"""

from stackup.swarm import saved
from stackup.swarm.check import refuse, refusals
from stackup.core.swarm_observed import SwarmObject, SwarmObserved, SwarmService, SwarmTask
from stackup.swarm.down import plan_down
from stackup.swarm.reconcile import SwarmUpOptions, plan_up

__all__ = ["SwarmObject", "SwarmObserved", "SwarmService", "SwarmTask", "SwarmUpOptions",
           "plan_down", "plan_up", "refusals", "refuse", "saved"]
