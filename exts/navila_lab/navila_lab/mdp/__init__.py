"""MDP terms of the navila tasks: Isaac Lab's and the velocity task's terms, plus ours."""

from isaaclab.envs.mdp import *  # noqa: F401,F403
from isaaclab_tasks.core.velocity.mdp import (  # noqa: F401
    feet_air_time,
    feet_slide,
    terrain_levels_vel,
)

from navila_lab.mdp.commands import TurnInPlaceVelocityCommand, TurnInPlaceVelocityCommandCfg  # noqa: F401
from navila_lab.mdp.curriculums import terrain_levels_by_type, terrain_levels_free_path  # noqa: F401
from navila_lab.mdp.observations import governed_velocity_commands, lidar_height_map, lidar_points  # noqa: F401
from navila_lab.mdp.rewards import action_smoothness_l2, joint_power_l1  # noqa: F401
from navila_lab.mdp.safety import (  # noqa: F401
    safe_velocity_command,
    stand_still_at_safe_target_l1,
    track_safe_ang_vel_z_exp,
    track_safe_lin_vel_xy_exp,
    wall_clearance_penalty,
    wall_contact,
)
