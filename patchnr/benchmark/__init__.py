"""The benchmark: baselines and patchNR on simulated observations of test images, cases run by Dask.

``runner`` (configuration, checks, Dask, resume), ``methods`` (the method registry), ``cases`` (one
case on a worker), ``cache`` (a worker's task and flow), ``records`` (config.json, cases.csv),
``report`` (summaries and figures). Importing it builds no task.
"""

from patchnr.benchmark.methods import METHODS, Method, register, task_methods
from patchnr.benchmark.runner import BenchmarkConfig, run_benchmark

__all__ = ["METHODS", "BenchmarkConfig", "Method", "register", "run_benchmark", "task_methods"]
