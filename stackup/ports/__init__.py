"""What the use cases and the executor need from an engine, as Protocols split by role, and the
plain values that cross them. Adapters (``stackup.adapters``) implement them; the in-memory
fakes (``stackup.testing``) too."""
