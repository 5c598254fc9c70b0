"""The use cases, one function per command, for each deploy target (containers on one engine,
or a Swarm: see ``target``), and the records they keep: saved plans, revisions, the lock, drift.
The only place the adapters are wired in is ``wiring``."""
