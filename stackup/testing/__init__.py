"""In-memory implementations of the ports for fast tests: an engine, a lock store and a revision
store that follow the real engine's rules (checked by the contract tests). Tests import them;
stackup itself never does."""
