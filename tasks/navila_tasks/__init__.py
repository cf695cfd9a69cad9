"""navila tasks: importing this package registers every gym task (registration is data only, so this is cheap)."""

from navila_tasks import go2, vln

TASK_IDS: tuple[str, ...] = (
    *(f"{task}{suffix}" for task in go2.TASKS for suffix in ("", "-Play")),
    *vln.TASKS,
)
"""Every task id this package registers."""

__all__ = ["TASK_IDS"]
