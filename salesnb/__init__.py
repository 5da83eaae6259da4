"""salesnb: a Jupyter workbench for running a sales department on its own data."""

import os

# The studies fit many small statsmodels models; multi-threaded OpenBLAS made each fit ~50x
# slower on a loaded 2-core machine (measured: 2.5 s vs 0.05 s). A user who sets these wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
