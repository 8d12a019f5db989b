"""External and local providers behind small interfaces (see :mod:`actorvid.providers.base`).

Build them with :func:`build_providers`; the factory is imported lazily so that importing a
light submodule (``providers.base``) never pulls in requests or ffmpeg.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Providers", "build_providers"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from actorvid.providers import factory

        return getattr(factory, name)
    raise AttributeError(name)
