"""``stackup agent``: GitOps for stack files. Follow a git branch, plan, gate, apply, roll back,
report honestly.

Pipeline position: a long-running caller of the use cases in ``stackup.app``, below the CLI
(``cli.commands.agent`` starts it) and above everything else. One sync is the path of ``plan`` +
``up --wait`` (or ``apply FILE`` for an approved plan) + ``rollback``: nothing new decides what
to change. Modules: ``config`` (agent.yaml), ``gitsource`` (the git CLI), ``gate`` (pure),
``sync`` (one sync, blocking, run in a worker thread), ``service`` (the anyio loop: triggers,
one sync per stack at a time), ``web`` (HTTP: API, webhooks, metrics, status page),
``notify``, ``metrics``, ``page``, ``status``.
"""
