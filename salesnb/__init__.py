"""salesnb: a Jupyter workbench for running a sales department on its own data."""
__version__ = "0.1.0"
