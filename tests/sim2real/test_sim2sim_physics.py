import mujoco
import numpy as np
import pytest
from navila_sim2real.sim2sim.physics import MujocoGo2


@pytest.fixture(scope="module")
def physics():
    go2 = MujocoGo2()
    mujoco.mj_resetDataKeyframe(go2.model, go2.data, 0)
    return go2


class TestLidar:
    @pytest.mark.parametrize("x", [9.8, 25.0, -60.0])
    def test_floor_seen_far_from_the_origin(self, physics, x):
        """A sweep over flat floor is the same wherever the robot stands (no pruning by distance to the origin)."""
        home = physics.data.qpos.copy()
        at_origin = physics.lidar_points(home)
        moved = home.copy()
        moved[0] = x
        far = physics.lidar_points(moved)
        assert len(at_origin) > 2000 and far.shape == at_origin.shape
        assert np.allclose(far, at_origin, atol=1e-6)

    def test_range_limit(self, physics):
        """Hits beyond the L1's range are not reported: lifted 20 m, the robot sees nothing."""
        lifted = physics.data.qpos.copy()
        lifted[2] = 20.0
        assert len(physics.lidar_points(lifted)) == 0
