"""The benchmark: baselines and patchNR on simulated observations of test images, cases run by Dask."""

from patchnr.benchmark.runner import BenchmarkConfig, run_benchmark

__all__ = ["BenchmarkConfig", "run_benchmark"]
