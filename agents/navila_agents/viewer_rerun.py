"""A rerun visualizer whose ``.rrd`` recording holds the whole run (imported only for ``--viz rerun``).

Newton's rerun viewer opens the recording file first and then its live web viewer, which replaces the file as the
stream's sink: the file keeps little more than the layout. This one streams to both once the viewer is up and logs the
model again, so that ``rerun FILE`` replays the scene and the robots' motion.
"""

from __future__ import annotations

import rerun as rr
from isaaclab.scene_data import SceneDataProvider
from isaaclab.utils import configclass
from isaaclab_visualizers.rerun import RerunVisualizerCfg
from isaaclab_visualizers.rerun.rerun_visualizer import RerunVisualizer


class RecordingRerunVisualizer(RerunVisualizer):
    """Isaac Lab's rerun visualizer, recording everything to ``cfg.record_to_rrd`` as well as serving it live."""

    def initialize(self, scene_data_provider: SceneDataProvider) -> None:
        """Start the viewer, then stream to the file and the live server both, and log the model again."""
        super().initialize(scene_data_provider)
        live = getattr(self._viewer, "_grpc_server_uri", None)
        rr.set_sinks(rr.FileSink(self.cfg.record_to_rrd), *([rr.GrpcSink(live)] if live else []))
        self._viewer.set_model(self.backend.model)


@configclass
class RecordingRerunVisualizerCfg(RerunVisualizerCfg):
    """:class:`RerunVisualizerCfg` of a :class:`RecordingRerunVisualizer`; set ``record_to_rrd``."""

    class_type: type = RecordingRerunVisualizer
