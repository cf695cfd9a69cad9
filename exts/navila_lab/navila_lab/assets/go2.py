"""Isaac Lab articulation config of the Unitree Go2, spawned from the project's own USD (no cloud assets).

The actuators follow the NaVILA reference: PD with Kp 40, Kd 1.0, a fixed 20 ms command delay, the real per-type
torque limits and a 30 rad/s velocity limit.
"""

from __future__ import annotations

import isaaclab.sim as sim_utils
from isaaclab.actuators import DelayedPDActuatorCfg
from isaaclab.assets.articulation import ArticulationCfg
from isaaclab_newton.sim.schemas import NewtonArticulationCfg
from isaaclab_physx.sim.schemas import PhysxArticulationCfg, PhysxRigidBodyCfg

from .go2_constants import DEFAULT_JOINT_POS, JOINT_TYPES, TORQUE_LIMITS
from .go2_description import MOTOR_ARMATURE, STANDING_HEIGHT
from .go2_usd import go2_usd_path

PHYSICS_DT = 0.005
"""Physics step (s) of the reference training setup; the actuator delay is counted in these steps."""

ACTUATOR_DELAY = 0.020
"""Fixed command delay (s) of the reference actuator model."""

ACTUATOR_DELAY_STEPS = round(ACTUATOR_DELAY / PHYSICS_DT)
"""Command delay in physics steps (4)."""

GO2_ACTUATOR_CFG = DelayedPDActuatorCfg(
    joint_names_expr=[f".*_{kind}_joint" for kind in JOINT_TYPES],
    actuator_effort_limit={f".*_{kind}_joint": TORQUE_LIMITS[kind] for kind in JOINT_TYPES},
    actuator_velocity_limit=30.0,  # the reference's value (the URDF says 30.1)
    stiffness=40.0,
    damping=1.0,
    armature=MOTOR_ARMATURE,
    friction=0.0,
    min_delay=ACTUATOR_DELAY_STEPS,
    max_delay=ACTUATOR_DELAY_STEPS,
)
"""Delayed PD motors of all 12 joints (reference gains and delay, real torque limits)."""

GO2_CFG = ArticulationCfg(
    spawn=sim_utils.UsdFileCfg(
        usd_path=go2_usd_path(),
        activate_contact_sensors=True,
        rigid_props=PhysxRigidBodyCfg(
            disable_gravity=False,
            retain_accelerations=False,
            linear_damping=0.0,
            angular_damping=0.0,
            max_linear_velocity=1000.0,
            max_angular_velocity=1000.0,
            max_depenetration_velocity=1.0,
        ),
        articulation_props=[
            PhysxArticulationCfg(
                enabled_self_collisions=False, solver_position_iteration_count=4, solver_velocity_iteration_count=0
            ),
            NewtonArticulationCfg(self_collision_enabled=False),
        ],
    ),
    init_state=ArticulationCfg.InitialStateCfg(
        pos=(0.0, 0.0, STANDING_HEIGHT),
        joint_pos=DEFAULT_JOINT_POS,
        joint_vel={".*": 0.0},
    ),
    soft_joint_pos_limit_factor=0.9,
    actuators={"legs": GO2_ACTUATOR_CFG},
)
"""Unitree Go2 from ``go2_usd_path()``, standing in the default pose, with delayed PD actuators."""
