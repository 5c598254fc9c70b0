"""reconcile: project + observed state + options → Plan. Pure: no I/O, no event loop, no engine.

Pipeline position: ``load`` → ``observe`` → **reconcile** → ``execute``. One module per use case:
``up`` (converge), ``lifecycle`` (start, stop, restart, rm), ``down``, ``images`` (build, pull,
push); ``_select`` holds the selection helpers they share.
"""

from __future__ import annotations

from stackup.reconcile.down import plan_down
from stackup.reconcile.images import plan_build, plan_pull, plan_push
from stackup.reconcile.lifecycle import plan_restart, plan_rm, plan_start, plan_stop
from stackup.reconcile.up import UpOptions, plan_up

__all__ = ["UpOptions", "plan_build", "plan_down", "plan_pull", "plan_push", "plan_restart",
           "plan_rm", "plan_start", "plan_stop", "plan_up"]
