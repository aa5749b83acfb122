"""The benchmark's methods: a registry, name → ``Method``; a new method is one registered solver.

::

    @register("tv", "TV", prepare=tv_settings)
    def total_variation(inputs: CaseInputs) -> torch.Tensor: ...

A method has a label (summary column, figure panel), a ``Scope`` (the tasks it applies to), a
``prepare`` run once on the client (the settings recorded in config.json and handed to every case,
plus an asset shipped once to every worker: flow weights, a GMM), a ``load`` run on the worker
before the clock starts (the asset → what the solver uses), and ``solve``, the timed part after
the task's initialisation. Which methods a task has is asked of the task when needed
(``task_methods``), never at import.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch

from patchnr.benchmark.cache import cached_flow
from patchnr.errors import PatchNRError
from patchnr.optim.recipes import Recipe
from patchnr.tasks import TVBaseline, Task, bundled_file

if TYPE_CHECKING:
    from patchnr.benchmark.runner import BenchmarkConfig


@dataclass(frozen=True)
class Scope:
    """The tasks a method applies to: ``applies_to(task)``, and the same in words for the help."""

    words: str
    applies_to: Callable[[Task], bool]


EVERY_TASK = Scope("every task", lambda task: True)
BUNDLED_PRIOR_TASKS = Scope("tasks with a bundled prior (not zero-shot)", lambda task: task.prior_trainer is None)


def initialisation_of(name: str) -> Scope:
    """The tasks whose initialisation (``Task.baseline``) is the method ``name``."""
    return Scope("the task's initialisation", lambda task: task.baseline == name)


@dataclass(frozen=True)
class Prepared:
    """A method's client-side preparation: ``settings`` (JSON-ready; recorded in config.json and
    given to every case) and ``asset`` (shipped once to every worker; None if the method has none)."""

    settings: dict
    asset: object = None


@dataclass(frozen=True)
class CaseInputs:
    """What a solver gets for one case: ``observation`` (1×1×h×w, the task's observation space),
    ``init`` (1×1×H×W, the task's initialisation), the method's ``settings``, the case's ``seed``,
    and its ``asset`` as ``Method.load`` made it."""

    task: Task
    observation: torch.Tensor
    init: torch.Tensor
    settings: dict
    seed: int
    asset: object


Prepare = Callable[["BenchmarkConfig", Task, Recipe], Prepared]
Solve = Callable[[CaseInputs], torch.Tensor]


def no_settings(config: BenchmarkConfig, task: Task, recipe: Recipe) -> Prepared:
    """A method with no settings and no asset."""
    return Prepared({})


def shipped_as_is(asset: object) -> object:
    """``Method.load`` of a method whose solver takes the shipped asset itself."""
    return asset


@dataclass(frozen=True)
class Method:
    """One registered method; ``solve`` returns the 1×1×H×W reconstruction (see the module docstring)."""

    name: str
    label: str
    scope: Scope
    solve: Solve
    prepare: Prepare = no_settings
    load: Callable[[object], object] = shipped_as_is


METHODS: dict[str, Method] = {}  # in registration order: the order of summary columns and figure panels


def register(name: str, label: str, scope: Scope = EVERY_TASK, prepare: Prepare = no_settings,
             load: Callable[[object], object] = shipped_as_is) -> Callable[[Solve], Solve]:
    """Decorator: register the solver it decorates as the method ``name`` (see ``Method``)."""

    def decorator(solve: Solve) -> Solve:
        if name in METHODS:
            raise ValueError(f"benchmark method {name!r} is already registered")
        METHODS[name] = Method(name, label, scope, solve, prepare, load)
        return solve

    return decorator


def task_methods(task: Task) -> tuple[str, ...]:
    """The names of the methods that apply to ``task``, in registration order."""
    return tuple(name for name, method in METHODS.items() if method.scope.applies_to(task))


def check_methods(task: Task, methods: list[str]) -> None:
    """Raise ``PatchNRError`` unless ``methods`` is a non-empty list of methods of ``task``."""
    valid = task_methods(task)
    unknown = [method for method in methods if method not in valid]
    if unknown or not methods:
        raise PatchNRError(f"unknown method(s) {', '.join(unknown) or '(none given)'} for --task {task.name} (choose from {', '.join(valid)})")


def methods_help() -> str:
    """The registered methods grouped by scope, e.g. 'bicubic, fbp: the task's initialisation; tv: every task'."""
    groups: dict[str, list[str]] = {}
    for name, method in METHODS.items():
        groups.setdefault(method.scope.words, []).append(name)
    return "; ".join(f"{', '.join(names)}: {words}" for words, names in groups.items())


def file_sha256(path: Path) -> str:
    """The first 16 hex digits of the SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def iteration_override(config: BenchmarkConfig) -> dict:
    """``{'iterations': N}`` for ``--iterations N``, else empty."""
    return {"iterations": config.iterations} if config.iterations else {}


# --------------------------------------------------------------------------------------------
# The methods


@register("fill", "fill", initialisation_of("fill"))
@register("wiener", "Wiener", initialisation_of("wiener"))
@register("fbp", "FBP", initialisation_of("fbp"))
@register("bicubic", "bicubic", initialisation_of("bicubic"))
def initialisation(inputs: CaseInputs) -> torch.Tensor:
    """The task's initialisation itself (bicubic upsampling, FBP, Wiener filter, inpainting fill);
    registered bottom-up: bicubic, fbp, wiener, fill."""
    return inputs.init


def tv_settings(config: BenchmarkConfig, task: Task, recipe: Recipe) -> Prepared:
    """``TVBaseline`` fields: ``config.tv`` or the task's tuned ones, iterations overridden."""
    return Prepared({**asdict(config.tv or task.tv), **iteration_override(config)})


@register("tv", "TV", prepare=tv_settings)
def total_variation(inputs: CaseInputs) -> torch.Tensor:
    """D + λ·TV_ε by L-BFGS from the initialisation (``Task.solve_tv``)."""
    return inputs.task.solve_tv(inputs.observation, TVBaseline(**inputs.settings), inputs.init).image


def epll_settings(config: BenchmarkConfig, task: Task, recipe: Recipe) -> Prepared:
    """The recipe with the EPLL λ, and the GMM (``--epll-gmm`` or the task's bundled one) with its identity."""
    from patchnr.priors.gmm import load_gmm

    path = Path(config.epll_gmm) if config.epll_gmm is not None else bundled_file(task.gmm_file)
    gmm = load_gmm(path)
    lam = config.epll_lam if config.epll_lam is not None else task.epll_lam
    return Prepared({"recipe": asdict(recipe.with_overrides(lam=lam)), "gmm": f"sha256:{file_sha256(path)}"}, gmm)


@register("epll", "EPLL", BUNDLED_PRIOR_TASKS, prepare=epll_settings)
def epll(inputs: CaseInputs) -> torch.Tensor:
    """The GMM patch prior in patchNR's place (``Task.solve_epll``)."""
    recipe = Recipe(**inputs.settings["recipe"])
    return inputs.task.solve_epll(inputs.observation, inputs.asset, recipe, inputs.init, seed=inputs.seed).image


def patchnr_settings(config: BenchmarkConfig, task: Task, recipe: Recipe) -> Prepared:
    """The recipe and the prior's weights (``--weights`` or the task's bundled prior): hash, and the
    flow as a ``cached_flow`` asset."""
    from patchnr.flows.checkpoint import load_flow

    weights = Path(config.weights) if config.weights else bundled_file(task.prior_file)
    flow, _ = load_flow(weights, patch_size=task.patch_size, channels=1)
    digest = file_sha256(weights)
    asset = {"config": flow.config.to_dict(), "state_dict": flow.state_dict(), "sha256": digest}
    return Prepared({"recipe": asdict(recipe), "weights_sha256": digest}, asset)


@register("patchnr", "patchNR", BUNDLED_PRIOR_TASKS, prepare=patchnr_settings, load=cached_flow)
def patchnr(inputs: CaseInputs) -> torch.Tensor:
    """The patchNR prior under the recorded recipe (``Task.solve``)."""
    recipe = Recipe(**inputs.settings["recipe"])
    return inputs.task.solve(inputs.observation, inputs.asset, recipe, seed=inputs.seed, init=inputs.init, progress=False).image
