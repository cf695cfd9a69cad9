"""Videos of chosen VLN episodes: the robot's camera next to a top-down map with the reference and driven paths."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)
from matplotlib.patches import Circle, Rectangle  # noqa: E402
from navila_lab.video import mp4_writer  # noqa: E402
from navila_tasks.vln.episodes import Episode  # noqa: E402
from navila_tasks.vln.layout import SceneLayout  # noqa: E402
from navila_tasks.vln.scenes import BoxKind, Scene  # noqa: E402

from navila_agents.vln.rollout import EpisodeResult  # noqa: E402


@dataclass
class _Clip:
    """An open video: its figure, the artists updated per frame, and the writer."""

    figure: plt.Figure
    camera: matplotlib.image.AxesImage | None
    camera_axes: plt.Axes
    driven: matplotlib.lines.Line2D
    robot: matplotlib.lines.Line2D
    writer: Any
    """imageio mp4 writer (:func:`navila_lab.video.mp4_writer`)."""
    xy: list[np.ndarray]


def draw_scene(axes: plt.Axes, scene: Scene) -> None:
    """Top-down footprints of a scene's boxes (glass in translucent cyan), floor left out."""
    for box in scene.boxes:
        if box.kind == BoxKind.FLOOR:
            continue
        x0, y0, x1, y1 = box.footprint
        color = np.asarray(box.rgba[:3]) / 255.0
        alpha = 0.5 if box.kind == BoxKind.GLASS else 1.0
        edge = "c" if box.kind == BoxKind.GLASS else "none"
        axes.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=color, alpha=alpha, edgecolor=edge))
    x_min, y_min, x_max, y_max = scene.bounds
    axes.set(xlim=(x_min - 0.5, x_max + 0.5), ylim=(y_min - 0.5, y_max + 0.5), aspect="equal", xlabel="x (m)")


class EpisodeVideos:
    """Writes ``episode_<id>.mp4`` for chosen episodes (an :class:`~navila_agents.vln.rollout.EpisodeRecorder`)."""

    def __init__(self, out_dir: str | Path, episode_indices: Iterable[int], layout: SceneLayout, fps: int = 10) -> None:
        """Record the episodes at these positions of the episode list into ``out_dir``."""
        self.out_dir = Path(out_dir)
        self.indices = set(episode_indices)
        self.layout = layout
        self.fps = fps
        self._clips: dict[int, _Clip] = {}
        self.written: list[Path] = []
        """Videos written so far."""

    def wants(self, episode_index: int) -> bool:
        """Whether this episode is recorded."""
        return episode_index in self.indices

    def begin(self, env_id: int, episode: Episode) -> None:
        """Open a video with the map of the episode's scene, its reference path, start and goal region."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        figure, (camera_axes, map_axes) = plt.subplots(1, 2, figsize=(10, 5.4))
        camera_axes.set_axis_off()
        camera_axes.set_title("camera", fontsize=9)
        draw_scene(map_axes, self.layout.scenes[self.layout.index[episode.scene_id]])
        reference = np.asarray(episode.reference_path)[:, :2]
        map_axes.plot(reference[:, 0], reference[:, 1], "k--", lw=1, label="reference")
        goal = episode.goals[0]
        map_axes.add_patch(
            Circle(goal.position[:2], goal.radius, fill=False, ls=":", color="g", label="success radius")
        )
        map_axes.plot(*reference[0], "ko", ms=4)
        (driven,) = map_axes.plot([], [], "r-", lw=1.5, label="driven")
        (robot,) = map_axes.plot([], [], "r-", lw=3)
        map_axes.legend(loc="upper right", fontsize=7)
        figure.suptitle(f"episode {episode.episode_id}: {episode.instruction_text}", fontsize=9, wrap=True)
        path = self.out_dir / f"episode_{episode.episode_id}.mp4"
        writer = mp4_writer(path, self.fps)
        self._clips[env_id] = _Clip(figure, None, camera_axes, driven, robot, writer, [])
        self.written.append(path)

    def add(self, env_id: int, frame: np.ndarray, pose: np.ndarray) -> None:
        """Append a frame: the camera image and the base pose (x, y, yaw) in the scene frame."""
        clip = self._clips[env_id]
        if clip.camera is None:
            clip.camera = clip.camera_axes.imshow(frame)
        else:
            clip.camera.set_data(frame)
        clip.xy.append(pose[:2])
        path = np.asarray(clip.xy)
        clip.driven.set_data(path[:, 0], path[:, 1])
        heading = pose[:2] + 0.4 * np.array([np.cos(pose[2]), np.sin(pose[2])])
        clip.robot.set_data([pose[0], heading[0]], [pose[1], heading[1]])
        self._write(clip)

    def end(self, env_id: int, result: EpisodeResult) -> None:
        """Write a last frame stating the outcome and close the video."""
        clip = self._clips.pop(env_id)
        record = result.record
        outcome = "success" if record.success() else "failure"
        clip.camera_axes.set_title(
            f"{outcome}: {result.end_reason}, NE {record.distance_to_goal:.2f} m, path {record.path_length:.1f} m",
            fontsize=9,
        )
        self._write(clip)
        clip.writer.close()
        plt.close(clip.figure)

    @staticmethod
    def _write(clip: _Clip) -> None:
        clip.figure.canvas.draw()
        clip.writer.append_data(np.asarray(clip.figure.canvas.buffer_rgba())[..., :3])
