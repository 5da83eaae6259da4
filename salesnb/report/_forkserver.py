"""Entry point of the warm-kernel fork server: ``python -m salesnb.report._forkserver SOCKET``.

A module of its own so that ``-m`` does not execute ``salesnb.report.kernels`` a second
time as ``__main__`` beside the copy the package imports.
"""

import sys

from salesnb.report.kernels import _fork_server

if __name__ == "__main__":
    _fork_server(sys.argv[1])
