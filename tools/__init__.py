"""Typed capabilities of Graft. Nothing here imports `agent` or `tui`, prompts or prints."""
