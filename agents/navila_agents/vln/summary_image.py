"""One PNG summing up a VLN run: each episode's map with its reference and driven paths, and the metrics."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)
import numpy as np  # noqa: E402
from navila_tasks.vln.episodes import Episode  # noqa: E402
from navila_tasks.vln.layout import SceneLayout  # noqa: E402

from navila_agents.vln.metrics import METRIC_COLUMNS  # noqa: E402
from navila_agents.vln.rollout import EpisodeResult  # noqa: E402
from navila_agents.vln.video import draw_episode  # noqa: E402


def summary_image(
    results: Sequence[EpisodeResult], episodes: Sequence[Episode], layout: SceneLayout, summary: dict, path: Path
) -> None:
    """Write ``path``: one map per episode (outcome, NE, path length in its title) above the run's metrics."""
    by_id = {episode.episode_id: episode for episode in episodes}
    count = len(results)
    figure, axes = plt.subplots(1, count, figsize=(4.2 * count, 5.2), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        episode = by_id[result.record.episode_id]
        draw_episode(ax, layout.scenes[layout.index[episode.scene_id]], episode)
        driven = np.asarray(result.path)
        ax.plot(driven[:, 0], driven[:, 1], "r-", lw=1.5, label="driven")
        ax.plot(*driven[-1], "rx", ms=8)
        outcome = "success" if result.record.success() else f"failure ({result.end_reason})"
        ax.set_title(
            f"episode {episode.episode_id}: {outcome}\nNE {result.record.distance_to_goal:.2f} m, "
            f"path {result.record.path_length:.1f} m of {result.record.shortest_path_length:.1f} m",
            fontsize=9,
        )
        ax.legend(loc="upper right", fontsize=7)
    metrics = summary["metrics"]
    cells = [f"{metrics[key]:.2f}" if isinstance(metrics[key], float) else str(metrics[key]) for key in METRIC_COLUMNS]
    config = summary["config"]
    figure.suptitle(
        "  ".join(f"{key} {value}" for key, value in zip(METRIC_COLUMNS, cells, strict=True))
        + f"\nlow level: {config['low_level']}, VLA: {config['vla']}, {config['num_envs']} envs on {config['device']},"
        f" camera {config['camera']} (NE in m; OS, SR, SPL in %)",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
