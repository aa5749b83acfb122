"""A user's own problem as a task: any differentiable operator with a Gaussian or Poisson noise model.

The prior, recipes and baseline settings are those of the bundled task with the same noise model
(Gaussian → ``sr-x4``, Poisson → ``ct-lowdose``): their λ are in units of the noise model's NLL, so
they carry over to another noise level as the same weight against the log-likelihood.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable

from torch import nn

from patchnr.errors import ParameterError
from patchnr.operators.base import Operator, as_operator
from patchnr.physics.measurement import Measurement
from patchnr.physics.noise import GaussianNoise
from patchnr.tasks.base import Task
from patchnr.tasks.registry import get_task

NAME = "custom"


def matching_task(noise: nn.Module) -> Task:
    """The bundled task whose noise model is of the same kind as ``noise``."""
    return get_task("sr-x4" if isinstance(noise, GaussianNoise) else "ct-lowdose")


def load_factory(spec: str) -> Callable[[], object]:
    """The callable ``NAME`` of the Python file in ``spec`` = 'FILE.py:NAME'. This runs the file's code."""
    path_text, separator, name = spec.rpartition(":")
    if not separator or not path_text or not name.isidentifier():
        raise ParameterError("operator", f"expected FILE.py:NAME, got {spec!r}")
    path = Path(path_text)
    if not path.is_file():
        raise ParameterError("operator", f"{path}: no such file")
    module_name = f"patchnr_user_operator_{abs(hash(str(path.resolve())))}"
    try:
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)
    except Exception as error:  # the user's file failed to import: report it in one line
        raise ParameterError("operator", f"{path}: importing it raised {type(error).__name__}: {error}") from None
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ParameterError("operator", f"{path} defines no callable {name!r}")
    return factory


def build_operator(factory: Callable[[], object], image_shape: tuple[int, int] | None = None) -> Operator:
    """Call the factory and wrap what it returns into the operator contract."""
    try:
        made = factory()
    except Exception as error:  # the user's factory failed: report it in one line
        raise ParameterError("operator", f"the factory raised {type(error).__name__}: {error}") from None
    try:
        return as_operator(made, image_shape)
    except TypeError as error:
        raise ParameterError("operator", f"the factory returned no operator ({error})") from None


def check_operator_fits(operator: Operator, observation_shape: tuple[int, int]) -> tuple[int, int]:
    """The image shape for an observation of ``observation_shape``: the operator's own answer or the
    given ``image_shape``; ``ParameterError`` when unknown or when A's output does not match."""
    try:
        image_shape = operator.domain_shape(tuple(observation_shape))
    except ValueError as error:
        raise ParameterError("image_shape", str(error)) from None
    try:
        produced = operator.range_shape(image_shape)
    except Exception as error:  # the user's operator failed on a zero image
        raise ParameterError("operator", f"applying it to a {image_shape[0]}×{image_shape[1]} image raised {type(error).__name__}: {error}") from None
    if tuple(produced) != tuple(observation_shape):
        raise ParameterError("operator", f"its output for a {image_shape[0]}×{image_shape[1]} image has shape {tuple(produced)}, "
                                         f"but the observation has shape {tuple(observation_shape)}")
    return tuple(image_shape)


def custom_task(operator: Operator, noise: nn.Module) -> Task:
    """A task solving y = noise(A x) for the user's operator, with the matching bundled task's prior and recipes."""
    settings = matching_task(noise).settings
    custom = replace(settings, name=NAME, baseline="initialisation", assets=replace(settings.assets, example_file=None))
    return Task(custom, build_measurement=lambda: Measurement(operator, noise), shapes=operator)


__all__ = ["build_operator", "check_operator_fits", "custom_task", "load_factory", "matching_task"]
