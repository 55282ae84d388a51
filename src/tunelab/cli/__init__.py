"""The ``tunelab`` command line: thin commands over the library functions."""
