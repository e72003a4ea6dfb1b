"""Where batch tasks run: ``local`` (a process pool) or ``ray`` (actors on a cluster).

An engine takes tasks (plain dicts) with :meth:`submit`, hands finished ones
back from :meth:`results` as ``(task_id, result)`` pairs (a crashed worker
becomes a transient error result, never an exception), reports frames done
inside running tasks from :meth:`progress`, and stops with :meth:`shutdown`.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Engine", "make_engine"]


class Engine(Protocol):
    name: str
    workers: int

    def submit(self, task_id: str, task: dict[str, Any]) -> None: ...

    def results(self, timeout: float) -> list[tuple[str, dict[str, Any]]]: ...

    def progress(self) -> list[tuple[str, int]]: ...

    @property
    def busy(self) -> int: ...

    def shutdown(self, *, cancel: bool = False) -> None: ...


def make_engine(name: str, *, jobs: int | None, address: str | None = None,
                cpus_per_job: float = 1.0, warm_tables: dict[str, Any] | None = None) -> Engine:
    """Build the engine called ``name`` (``"local"`` or ``"ray"``)."""
    from vidclear.errors import ConfigError

    if name == "local":
        from vidclear.batch.engines.local import LocalEngine

        return LocalEngine(jobs=jobs, warm_tables=warm_tables)
    if name == "ray":
        from vidclear.batch.engines.ray_engine import RayEngine

        return RayEngine(jobs=jobs, address=address, cpus_per_job=cpus_per_job,
                         warm_tables=warm_tables)
    raise ConfigError(f"--engine {name!r} is not allowed: choose local or ray")
