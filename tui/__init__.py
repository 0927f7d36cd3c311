"""The faces of Graft: the `graft` command line and the Textual app."""
