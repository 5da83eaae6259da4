"""What the warm-kernel server imports once before forking study kernels.

Starting a kernel and importing pandas / ibis / matplotlib / statsmodels costs seconds of
CPU per study; the fork server (``salesnb.report.kernels``) imports these once.
"""

PRELOAD = (
    # what IPKernelApp.initialize imports in each kernel
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",  # without debugpy (see _fork_server): only the module
    "IPython.core.completerlib",
    "IPython.extensions.storemagic",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "tornado.platform.asyncio",
    "sqlite3",
    "numpy",
    "pandas",
    "pyarrow",
    "duckdb",
    "ibis",
    "ibis.backends.duckdb",
    "scipy.stats",
    # the statsmodels parts the studies use (statsmodels.api would import every model family)
    "statsmodels.stats.proportion",
    "statsmodels.genmod.families",  # the deals study's win model (its likelihood, by hand)
    "statsmodels.stats.power",
    "statsmodels.stats.oneway",
    "statsmodels.stats.contingency_tables",
    "statsmodels.tsa.statespace.sarimax",
    "statsmodels.tsa.forecasting.theta",
    "statsmodels.tsa.exponential_smoothing.ets",
    "statsmodels.tsa.seasonal",
    "matplotlib.pyplot",
    "seaborn",
    "IPython.display",
    "IPython.core.pylabtools",
    # imported before a shell exists, it leaves the kernel set-up to _inline_charts
    "matplotlib_inline.backend_inline",
    "pandas.io.formats.style",  # builds its HTML templates at import (tables shown with .style)
    "statsmodels.formula.api",
    "salesnb.study",
    "salesnb.queries",
    "salesnb.metrics.forecast",
    "salesnb.metrics.clv",
)
# Every module of these packages is preloaded too. salesnb.plots leaves the backend unpicked
# (MPLBACKEND names it); each kernel sets up inline charts itself (_inline_charts).
PRELOAD_PACKAGES = ("salesnb.metrics", "salesnb.queries", "salesnb.plots")
