"""stackup's version, in the core so that every layer can name it (labels, plan files)."""

__version__ = "0.1.0.dev0"
