"""reconcile: project + observed state + options → Plan. Pure: no I/O, no event loop, no engine.

Pipeline position: ``load`` → ``observe`` → **reconcile** → ``execute``. One module per use case:
``up`` (converge; its networks and volumes in ``resources``), ``lifecycle`` (start, stop,
restart, rm), ``down``, ``images`` (build, pull, push), ``no_start`` (create). The shapes they
share: ``chains`` (one container's create, start, replacement), ``rollout`` (rolling updates),
``hooks`` (post_start / pre_stop); ``_select`` holds the selection helpers.
"""

from __future__ import annotations

from stackup.reconcile.down import plan_down
from stackup.reconcile.images import plan_build, plan_pull, plan_push
from stackup.reconcile.lifecycle import plan_restart, plan_rm, plan_start, plan_stop
from stackup.reconcile.up import UpOptions, plan_up

__all__ = ["UpOptions", "plan_build", "plan_down", "plan_pull", "plan_push", "plan_restart",
           "plan_rm", "plan_start", "plan_stop", "plan_up"]
