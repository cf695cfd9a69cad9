"""Videos of chosen VLN episodes: camera, top-down map (reference and driven paths), live LiDAR height map."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
from navila_tasks.vln.scene_files import MeshScene  # noqa: E402
from navila_tasks.vln.scenes import BoxKind, Scene  # noqa: E402

from navila_agents.vln.rollout import EpisodeResult  # noqa: E402

HEIGHT_MAP_RANGE = (0.0, 0.5)
"""Colour scale of the height map panel (m): the map's clip range."""
HeightMapSource = Callable[[Sequence[int]], "np.ndarray | None"]
"""Returns the current height maps (M, rows, cols) of some envs, or None when the task has none."""


@dataclass
class _Clip:
    """An open video: its figure, the artists updated per frame, and the writer."""

    figure: plt.Figure
    camera_axes: plt.Axes
    driven: matplotlib.lines.Line2D
    robot: matplotlib.lines.Line2D
    writer: Any
    """imageio mp4 writer (:func:`navila_lab.video.mp4_writer`)."""
    map_axes: plt.Axes | None = None
    images: dict[str, matplotlib.image.AxesImage] = field(default_factory=dict)
    xy: list[np.ndarray] = field(default_factory=list)
    background: Any = None
    """The figure without its changing artists, drawn once (later frames only redraw what changes)."""


def _draw_boxes(axes: plt.Axes, scene: Scene) -> None:
    """A procedural scene's boxes but the floor, glass in translucent cyan."""
    for box in scene.boxes:
        if box.kind == BoxKind.FLOOR:
            continue
        x0, y0, x1, y1 = box.footprint
        color = np.asarray(box.rgba[:3]) / 255.0
        alpha = 0.5 if box.kind == BoxKind.GLASS else 1.0
        edge = "c" if box.kind == BoxKind.GLASS else "none"
        axes.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=color, alpha=alpha, edgecolor=edge))


def draw_scene(axes: plt.Axes, scene: Scene | MeshScene) -> None:
    """Top-down footprints of a scene's obstacles (glass in translucent cyan), floor left out.

    A procedural scene's boxes are drawn as they are; a scene from a file as its blocked cells.
    """
    x_min, y_min, x_max, y_max = scene.bounds
    if isinstance(scene, MeshScene):
        image = np.zeros((*scene.blocked().shape, 4))
        image[scene.blocked(include_glass=False)] = (0.55, 0.55, 0.55, 1.0)
        image[scene.blocked(glass_only=True)] = (0.0, 0.8, 0.9, 0.6)
        axes.imshow(image, origin="lower", extent=(x_min, x_max, y_min, y_max), interpolation="nearest")
    else:
        _draw_boxes(axes, scene)
    axes.set(xlim=(x_min - 0.5, x_max + 0.5), ylim=(y_min - 0.5, y_max + 0.5), aspect="equal", xlabel="x (m)")


def draw_episode(axes: plt.Axes, scene: Scene, episode: Episode) -> None:
    """The scene, the episode's reference path and start, and its goal's success radius."""
    draw_scene(axes, scene)
    reference = np.asarray(episode.reference_path)[:, :2]
    axes.plot(reference[:, 0], reference[:, 1], "k--", lw=1, label="reference")
    goal = episode.goals[0]
    axes.add_patch(Circle(goal.position[:2], goal.radius, fill=False, ls=":", color="g", label="success radius"))
    axes.plot(*reference[0], "ko", ms=4)


class EpisodeVideos:
    """Writes ``episode_<id>.mp4`` for chosen episodes (an :class:`~navila_agents.vln.rollout.EpisodeRecorder`)."""

    def __init__(
        self,
        out_dir: str | Path,
        episode_indices: Iterable[int],
        layout: SceneLayout,
        height_maps: HeightMapSource | None = None,
        fps: int = 10,
    ) -> None:
        """Record the episodes at these positions of the episode list into ``out_dir``.

        Args:
            out_dir: Folder of the videos.
            episode_indices: Positions in the episode list of the episodes to record.
            layout: Where the episodes' scenes are.
            height_maps: Source of the envs' LiDAR height maps (a third panel); none without it.
            fps: Frames per second of the videos.
        """
        self.out_dir = Path(out_dir)
        self.indices = set(episode_indices)
        self.layout = layout
        self.height_maps = height_maps
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
        panels = 3 if self.height_maps is not None else 2
        figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 5.4), width_ratios=[1, 1, 0.8][:panels])
        camera_axes, map_axes = axes[0], axes[1]
        camera_axes.set_axis_off()
        camera_axes.set_title("camera (glass is invisible to it)", fontsize=9)
        draw_episode(map_axes, self.layout.scenes[self.layout.index[episode.scene_id]], episode)
        map_axes.set_title("top-down map", fontsize=9)
        (driven,) = map_axes.plot([], [], "r-", lw=1.5, label="driven", animated=True)
        (robot,) = map_axes.plot([], [], "r-", lw=3, animated=True)
        map_axes.legend(loc="upper right", fontsize=7)
        figure.suptitle(f"episode {episode.episode_id}: {episode.instruction_text}", fontsize=9, wrap=True)
        path = self.out_dir / f"episode_{episode.episode_id}.mp4"
        clip = _Clip(figure, camera_axes, driven, robot, mp4_writer(path, self.fps))
        if panels == 3:
            clip.map_axes = axes[2]
            clip.map_axes.set_title("LiDAR height map (policy input)", fontsize=9)
            clip.map_axes.set(xlabel="column (LiDAR y)", ylabel="row (LiDAR x)")
        self._clips[env_id] = clip
        self.written.append(path)

    def add(self, env_id: int, frame: np.ndarray, pose: np.ndarray) -> None:
        """Append a frame: the camera image and the base pose (x, y, yaw) in the scene frame."""
        clip = self._clips[env_id]
        self._show(clip, "camera", clip.camera_axes, frame)
        if clip.map_axes is not None:
            height_map = self.height_maps([env_id])
            if height_map is not None:
                self._show(clip, "height_map", clip.map_axes, height_map[0], vmin=HEIGHT_MAP_RANGE[0], cmap="viridis")
        clip.xy.append(pose[:2])
        path = np.asarray(clip.xy)
        clip.driven.set_data(path[:, 0], path[:, 1])
        heading = pose[:2] + 0.4 * np.array([np.cos(pose[2]), np.sin(pose[2])])
        clip.robot.set_data([pose[0], heading[0]], [pose[1], heading[1]])
        self._write(clip, redraw=clip.background is None)

    @staticmethod
    def _show(clip: _Clip, name: str, axes: plt.Axes, image: np.ndarray, **style: Any) -> None:
        if name in clip.images:
            clip.images[name].set_data(image)
        elif "cmap" in style:
            clip.images[name] = axes.imshow(image, vmax=HEIGHT_MAP_RANGE[1], origin="lower", animated=True, **style)
            clip.figure.colorbar(clip.images[name], ax=axes, shrink=0.6, label="height (m)")
        else:
            clip.images[name] = axes.imshow(image, animated=True)

    def end(self, env_id: int, result: EpisodeResult) -> None:
        """Write a last frame stating the outcome and close the video."""
        clip = self._clips.pop(env_id)
        record = result.record
        outcome = "success" if record.success() else "failure"
        clip.camera_axes.set_title(
            f"{outcome}: {result.end_reason}, NE {record.distance_to_goal:.2f} m, path {record.path_length:.1f} m",
            fontsize=9,
        )
        self._write(clip, redraw=True)
        clip.writer.close()
        plt.close(clip.figure)

    @staticmethod
    def _write(clip: _Clip, redraw: bool) -> None:
        """Append the figure to the video; redraw the still parts only when they changed."""
        canvas = clip.figure.canvas
        if redraw:
            canvas.draw()
            clip.background = canvas.copy_from_bbox(clip.figure.bbox)
        else:
            canvas.restore_region(clip.background)
        for artist in (*clip.images.values(), clip.driven, clip.robot):
            artist.axes.draw_artist(artist)
        clip.writer.append_data(np.asarray(canvas.buffer_rgba())[..., :3])
