"""Widgets and docks of the main window; each shows snapshots and asks the session for changes."""
