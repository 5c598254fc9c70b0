"""Running a plan: ``execute`` walks a plan's graph with anyio, one backend call per operation,
and reports ``events``. It decides nothing; the plan already says everything."""
