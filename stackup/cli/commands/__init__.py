"""The commands, one module each: ``stackup NAME`` is ``commands/NAME.py``, listed in
``cli.main.COMMANDS`` and imported only when it runs (or for ``--help``)."""
