"""Command-line verbs: each module parses its flags and calls a library function."""
