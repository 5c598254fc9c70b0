"""The pure core: the typed model, the dependency graph, plans and their text, observed state,
config hashes, labels, redaction and errors. Values only: no I/O, no engine, no event loop;
every other package builds on these."""
