"""The deploy contract file: what the exporter writes is what the robot side reads back."""

import yaml
from navila_lab.deploy_spec import DEPLOY_FILE, DeploySpec, ObservationTerm
from navila_sim2real.reference_policy import reference_spec


class TestDeploySpecFile:
    def test_round_trip_keeps_scales_clips_and_action_clip(self, tmp_path):
        """Per-element scales, clip ranges and the action clip survive save → load unchanged."""
        terms = [ObservationTerm("base_ang_vel", 3, [0.25, 0.25, 0.5], (-5.0, 5.0)), ObservationTerm("base_rpy", 3)]
        spec = reference_spec(observations=terms, action_clip=100.0)
        spec.save(tmp_path)
        loaded = DeploySpec.load(tmp_path)
        assert loaded == spec
        assert loaded.observations[0].clip == (-5.0, 5.0) and loaded.observations[1].scale == 1.0

    def test_file_without_action_clip_loads_unclipped(self, tmp_path):
        """A deploy.yaml written before ``action_clip`` existed still loads, without action clipping."""
        reference_spec().save(tmp_path)
        path = tmp_path / DEPLOY_FILE
        data = yaml.safe_load(path.read_text())
        del data["action_clip"]
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        assert DeploySpec.load(tmp_path).action_clip is None
