"""stackup: a declarative multi-container orchestrator for Compose stack files."""
