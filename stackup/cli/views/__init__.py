"""What the CLI shows: the progress display, tables and formatting, log lines, config views."""
