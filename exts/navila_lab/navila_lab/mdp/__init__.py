"""MDP terms of the navila tasks: Isaac Lab's and the velocity task's terms, plus ours."""

from isaaclab.envs.mdp import *  # noqa: F401,F403
from isaaclab_tasks.core.velocity.mdp import (  # noqa: F401
    feet_air_time,
    feet_slide,
    terrain_levels_vel,
)

from navila_lab.mdp.commands import TurnInPlaceVelocityCommand, TurnInPlaceVelocityCommandCfg  # noqa: F401
from navila_lab.mdp.observations import base_rpy, lidar_height_map, lidar_points  # noqa: F401
from navila_lab.mdp.rewards import (  # noqa: F401
    action_smoothness_l2,
    joint_power_l1,
    stand_still_joint_deviation_l1,
)
