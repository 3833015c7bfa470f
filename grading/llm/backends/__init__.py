"""Grading backends, chosen by name (ModelSpec.backend), one loaded instance per spec and process.

Backend modules are imported only when first asked for, so the scripted backend (tests, demos)
never imports torch.
"""

from __future__ import annotations

import importlib
import threading

from grading.llm.backends.base import BackendError, GradingBackend
from grading.llm.types import ModelSpec

# name -> "module:class"
REGISTRY = {
    "transformers": "grading.llm.backends.transformers_local:TransformersBackend",
    "openai": "grading.llm.backends.openai_compat:OpenAICompatBackend",
    "scripted": "grading.llm.backends.scripted:ScriptedBackend",
}

_backends: dict[ModelSpec, GradingBackend] = {}
# Held while a backend loads: two threads asking for the same model must not load it twice.
_lock = threading.Lock()


def get_backend(spec: ModelSpec) -> GradingBackend:
    """The backend for `spec`, created on first use and kept for the life of the process.

    Raises BackendError (permanent) for an unknown backend name, or whatever loading raises.
    A failed load is not cached, so a later call tries again.
    """
    with _lock:
        backend = _backends.get(spec)
        if backend is None:
            backend = _backend_class(spec.backend)(spec)
            _backends[spec] = backend
        return backend


def loaded_specs() -> list[ModelSpec]:
    """The models this process holds now.

    No lock: it is held for as long as a model loads, and the worker's heartbeat must not wait
    that long; copying the dict's keys is safe under the GIL.
    """
    return list(_backends)


def clear_backend_cache() -> None:
    """Forget every loaded backend (tests; the memory is freed once nothing else holds them)."""
    with _lock:
        _backends.clear()


def _backend_class(name: str) -> type[GradingBackend]:
    if name not in REGISTRY:
        raise BackendError(
            f"Unknown grading backend {name!r}; known backends: {', '.join(sorted(REGISTRY))}.",
            permanent=True,
        )
    module_name, class_name = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["BackendError", "GradingBackend", "clear_backend_cache", "get_backend"]
