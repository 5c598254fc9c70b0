"""Implementations of the ports: ``docker`` (everything Docker-shaped, one transport: the
Docker SDK) and ``dry_run`` (reads pass, writes are recorded). Only ``app.wiring`` imports them."""
