"""The deploy contract: ``deploy.yaml``, written by the exporter next to the policy, read by the robot side.

It holds everything needed to rebuild the policy's input and to actuate its output on another simulator or robot,
without this project's code: frames, joint order and default pose, the actuator model trained with, each observation
term's meaning, scale and clip, the history layout, the LiDAR and its height map, and the start state. Field by field
in ``docs/deploy_contract.md``. A file is validated on load against the dataclasses below (types, then consistency);
every error is one line naming the field.

Plain data only (PyYAML and the torch-only height-map module, no Isaac Lab), so the robot side can load it.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from navila_lab.errors import UserError
from navila_lab.sensors.height_map import FUSIONS, POOLS, HeightMapSpec
from navila_lab.sensors.lidar_pattern import L1PatternSpec

DEPLOY_FILE = "deploy.yaml"
"""The contract."""
POLICY_JIT = "policy.pt"
"""The actor as TorchScript (observation → action), for simulators."""
POLICY_ONNX = "policy.onnx"
"""The actor as ONNX (observation → action), for the robot."""
FORMAT_VERSION = 2
"""Version of the contract's layout; a file of another version is refused."""


class ContractError(UserError, ValueError):
    """An exported policy directory or its ``deploy.yaml`` is unusable; the message is one line."""


@dataclass(frozen=True)
class TermDefinition:
    """What an observation term of the vocabulary means, and the Isaac Lab term function that computes it."""

    function: str
    """Name of the MDP function the env's term must use (``navila_lab.mdp``)."""
    meaning: str
    """The quantity, its unit and frame, as written into ``deploy.yaml``."""


OBSERVATION_TERMS: dict[str, TermDefinition] = {
    "base_ang_vel": TermDefinition(
        "base_ang_vel", "angular velocity of the base body in the base frame (rad/s), i.e. the IMU gyroscope"
    ),
    "base_rpy": TermDefinition(
        "base_rpy",
        "roll, pitch, yaw (rad) of the base in the world frame, ZYX Euler angles (yaw, then pitch, then roll), each "
        "wrapped to (-pi, pi]; yaw is absolute (trained from every heading, so any fixed reference works, e.g. the "
        "IMU's power-on heading)",
    ),
    "projected_gravity": TermDefinition(
        "projected_gravity", "unit gravity direction (0, 0, -1) of the world expressed in the base frame (no yaw)"
    ),
    "velocity_commands": TermDefinition(
        "generated_commands",
        "commanded base velocity (vx m/s, vy m/s, wz rad/s) in the base frame, within command_ranges",
    ),
    "joint_pos": TermDefinition("joint_pos_rel", "joint positions minus default_joint_pos (rad), in joint_names order"),
    "joint_vel": TermDefinition("joint_vel_rel", "joint velocities (rad/s), in joint_names order"),
    "actions": TermDefinition(
        "last_action",
        "the policy's previous output as given to the actuators: raw (before action_scale, after action_clip if "
        "set); zeros before the first step",
    ),
}
"""The observation vocabulary: term name in the env's cfg (and in ``deploy.yaml``) → its definition."""


@dataclass
class ObservationTerm:
    """One slice of a proprioceptive frame, in the order the policy reads them."""

    name: str
    """Term name: a key of :data:`OBSERVATION_TERMS` (the env's observation term name)."""
    dim: int
    """Width of the term in one frame."""
    scale: float | list[float]
    """Multiplier (one, or one per element) applied after clipping (Isaac Lab's order)."""
    clip: tuple[float, float] | None
    """Range the raw quantity is clipped to before scaling, if any."""
    meaning: str
    """What the quantity is (from :data:`OBSERVATION_TERMS`), for readers of the file."""


@dataclass
class HistorySpec:
    """The history part of the actor input."""

    length: int
    """Frames kept."""
    order: Literal["oldest_first"]
    """Frames are concatenated oldest first; the newest (last) one is the current frame, also given alone before."""
    reset: Literal["repeat_first_frame"]
    """When the policy starts, every slot holds the first frame (Isaac Lab's history buffer after a reset)."""


@dataclass
class ActuatorSpec:
    """The actuator model the policy was trained with (per joint, in ``joint_names`` order)."""

    kind: Literal["delayed_pd", "ideal_pd"]
    """PD position control, with a fixed command delay (``delayed_pd``) or none."""
    stiffness: list[float]
    """kp (N·m/rad) of τ = kp·(target − q) − kd·dq."""
    damping: list[float]
    """kd (N·m·s/rad)."""
    effort_limit: list[float]
    """The PD torque is clipped to ±this (N·m)."""
    velocity_limit: list[float]
    """Joint velocity limit (rad/s) of the simulated joints."""
    armature: list[float]
    """Reflected rotor inertia (kg·m²) added to each joint in simulation."""
    pd_dt: float
    """The PD torque is recomputed every this many seconds (the physics step, 200 Hz for 0.005 s)."""
    delay: float
    """Seconds between the policy's action and the PD loop using it (a multiple of ``pd_dt``)."""


@dataclass
class LidarSpec:
    """The LiDAR whose sweeps make the height map."""

    body: str
    """Body the mount pose is relative to."""
    pos: list[float]
    """Sensor origin (m) in the body frame."""
    quat_wxyz: list[float]
    """Sensor orientation in the body frame (w, x, y, z); the height map is binned in this sensor frame."""
    pattern: L1PatternSpec
    """Rays: elevations ``linspace(*elevation_range, channels)`` (deg), azimuths ``-180 + azimuth_step·k`` (deg),
    direction (cos e cos a, cos e sin a, sin e) in the sensor frame, channel-major; one sweep every ``update_period``
    s; hits beyond ``max_distance`` m are misses."""
    hits_robot: bool
    """Whether rays stop on the robot's own bodies (False: they see the world only)."""


@dataclass
class StartState:
    """How training episodes start (the deploy starts the policy from a stand in the default pose)."""

    base_height: float
    """Base height (m) above the ground, upright, joints at ``default_joint_pos``, at rest."""
    base_yaw_range: tuple[float, float]
    """Headings (rad) the episodes start from."""
    joint_pos_scale_range: tuple[float, float]
    """Initial joint positions are ``default_joint_pos`` times a factor drawn from this range."""


@dataclass
class DeploySpec:
    """Everything the robot needs to rebuild the policy's input and interpret its output."""

    format_version: int
    """:data:`FORMAT_VERSION` of the file."""
    task: str
    """Gym id the policy was trained on."""
    step_dt: float
    """Policy period (s)."""
    base_body: str
    """The base body: frame of the angular velocity, orientation, commands and LiDAR mount."""
    joint_names: list[str]
    """Joint names in the policy's order (actions, joint terms and every per-joint list)."""
    sdk_joint_order: list[int]
    """For each SDK motor slot 0..11, the index of that joint in :attr:`joint_names` (built from the names)."""
    default_joint_pos: list[float]
    """Default pose (rad)."""
    action_scale: float
    """Joint position target = default_joint_pos + action_scale · action."""
    action_clip: float | None
    """Actions are clipped to ±this before use (and before being fed back as ``actions``), if set."""
    actuator: ActuatorSpec
    """The actuator model trained with."""
    actor_input: list[Literal["frame", "history", "height_map"]]
    """Parts of the actor's input in order: the current frame, the history, then the flattened height map."""
    observations: list[ObservationTerm]
    """Terms of one frame, in order."""
    history: HistorySpec
    """Layout of the history part."""
    height_map: HeightMapSpec | None
    """The LiDAR height map (row-major, rows along the sensor's x axis), or None for a blind policy."""
    lidar: LidarSpec | None
    """The LiDAR the map is built from, or None for a blind policy."""
    command_ranges: dict[str, tuple[float, float]]
    """Velocity command ranges trained on: ``lin_vel_x``, ``lin_vel_y`` (m/s), ``ang_vel_z`` (rad/s)."""
    start_state: StartState
    """How training episodes start."""

    @property
    def proprio_dim(self) -> int:
        """Width of one proprioceptive frame."""
        return sum(term.dim for term in self.observations)

    @property
    def obs_dim(self) -> int:
        """Width of the full actor observation."""
        height = self.height_map.size if self.height_map is not None else 0
        return self.proprio_dim * (1 + self.history.length) + height

    def to_dict(self) -> dict:
        """Plain data (lists, no tuples) in field order."""
        return _plain(self)

    def save(self, directory: str | Path) -> Path:
        """Write ``deploy.yaml`` into ``directory``."""
        path = Path(directory) / DEPLOY_FILE
        path.write_text(yaml.dump(self.to_dict(), Dumper=_ContractDumper, sort_keys=False, width=120))
        return path

    @classmethod
    def from_dict(cls, data: object, source: str = DEPLOY_FILE) -> DeploySpec:
        """Validate plain data against the schema; raises :class:`ContractError` naming the field."""
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            found = data.get("format_version") if isinstance(data, dict) else None
            raise ContractError(
                f"{source}: not a navila deploy contract of format version {FORMAT_VERSION} (format_version: "
                f"{found}); re-export the policy with 'navila export'"
            )
        spec = _parse(data, DeploySpec, "", source)
        for where, problem in _inconsistencies(spec):
            raise ContractError(f"{source}: field '{where}' {problem}")
        return spec

    @classmethod
    def load(cls, directory: str | Path) -> DeploySpec:
        """Read and validate ``deploy.yaml`` of ``directory``; raises :class:`ContractError` with one line."""
        path = Path(directory) / DEPLOY_FILE
        if not path.is_file():
            raise ContractError(f"no {DEPLOY_FILE} in {directory}: export a policy with 'navila export' first")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            raise ContractError(f"{path}: not YAML ({str(error).splitlines()[0]})") from None
        return cls.from_dict(data, str(path))


@dataclass(frozen=True)
class ExportedPolicy:
    """An exported policy directory: its contract and the actor files it holds."""

    directory: Path
    spec: DeploySpec

    @property
    def onnx(self) -> Path:
        """The ONNX actor."""
        return self.directory / POLICY_ONNX

    @property
    def jit(self) -> Path:
        """The TorchScript actor."""
        return self.directory / POLICY_JIT


def open_exported(directory: str | Path, actor_file: str) -> ExportedPolicy:
    """Check that ``directory`` holds ``deploy.yaml`` and ``actor_file`` and load the contract.

    Args:
        directory: Folder written by ``navila export``.
        actor_file: The actor the caller runs: :data:`POLICY_ONNX` (robot) or :data:`POLICY_JIT` (simulators).

    Raises:
        ContractError: A missing folder or file, or an invalid contract (one line).
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ContractError(f"policy directory {directory} does not exist")
    for name in (DEPLOY_FILE, actor_file):
        if not (folder / name).is_file():
            raise ContractError(f"no {name} in {directory}: export a policy with 'navila export' first")
    return ExportedPolicy(folder, DeploySpec.load(folder))


##
# Writing and validation
##


class _ContractDumper(yaml.SafeDumper):
    """Safe YAML with lists of numbers or names on one line and everything else in block style."""

    def represent_list(self, data: list) -> yaml.Node:
        """Flow style for lists of scalars."""
        flow = all(isinstance(item, int | float | str | None) for item in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_ContractDumper.add_representer(list, _ContractDumper.represent_list)


def _plain(value: object) -> object:
    """Dataclasses as dicts and tuples as lists, recursively."""
    if dataclasses.is_dataclass(value):
        return {item.name: _plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _describe(hint: object) -> str:
    """Plain-words name of a type hint, for error messages."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(arg) for arg in args)
    if origin is list:
        return f"a list of ({_describe(args[0])})"
    if origin is tuple:
        return f"a list of {len(args)} ({_describe(args[0])})"
    if origin is dict:
        return f"a mapping to ({_describe(args[1])})"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", type(None): "null"}
    return names.get(hint, "a mapping")


class _Mismatch(Exception):
    """A value does not have the hinted type (internal: becomes a :class:`ContractError`)."""


def _parse(value: object, hint: object, where: str, source: str) -> object:
    """``value`` converted to ``hint`` (dataclasses from mappings, tuples from lists); raises on any mismatch."""
    try:
        return _convert(value, hint, where, source)
    except _Mismatch:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ContractError(f"{source}: field '{where}' must be {_describe(hint)}, got {shown}") from None


def _convert(value: object, hint: object, where: str, source: str) -> object:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise _Mismatch
        hints, fields = typing.get_type_hints(hint), dataclasses.fields(hint)
        names = [item.name for item in fields]
        unknown = [key for key in value if key not in names]
        if unknown:
            raise ContractError(f"{source}: unknown field '{_join(where, unknown[0])}'")
        missing = [item.name for item in fields if item.name not in value and not item.metadata.get("optional")]
        if missing:
            raise ContractError(f"{source}: missing field '{_join(where, missing[0])}'")
        given = [name for name in names if name in value]  # an absent optional field keeps its default
        return hint(**{name: _parse(value[name], hints[name], _join(where, name), source) for name in given})
    if origin in (types.UnionType, typing.Union):
        for arm in args:
            try:
                return _convert(value, arm, where, source)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is Literal:
        if value not in args:
            raise _Mismatch
        return value
    if origin in (list, tuple):
        if not isinstance(value, list) or (origin is tuple and len(value) != len(args)):
            raise _Mismatch
        items = args if origin is tuple else args * len(value)
        converted = [
            _parse(item, arm, f"{where}[{i}]", source) for i, (item, arm) in enumerate(zip(value, items, strict=True))
        ]
        return tuple(converted) if origin is tuple else converted
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise _Mismatch
        return {key: _parse(item, args[1], _join(where, key), source) for key, item in value.items()}
    if hint is type(None):
        if value is not None:
            raise _Mismatch
        return None
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _Mismatch
        return float(value)
    if hint in (int, str, bool) and isinstance(value, hint) and (hint is bool or not isinstance(value, bool)):
        return value
    raise _Mismatch


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _inconsistencies(spec: DeploySpec) -> typing.Iterator[tuple[str, str]]:
    """(field, problem) for each value that contradicts another or is out of range."""
    count = len(spec.joint_names)
    if sorted(spec.sdk_joint_order) != list(range(count)):
        yield "sdk_joint_order", f"is not a permutation of the {count} joints"
    per_joint = {"default_joint_pos": spec.default_joint_pos}
    per_joint |= {f"actuator.{name}": getattr(spec.actuator, name) for name in _PER_JOINT_ACTUATOR_FIELDS}
    for name, values in per_joint.items():
        if len(values) != count:
            yield name, f"has {len(values)} values for {count} joints"
    for name in ("step_dt", "action_scale", "actuator.pd_dt"):
        if _value(spec, name) <= 0:
            yield name, f"must be positive, got {_value(spec, name)}"
    if spec.actuator.delay < 0 or not _is_multiple(spec.actuator.delay, spec.actuator.pd_dt):
        yield "actuator.delay", f"must be a non-negative multiple of actuator.pd_dt ({spec.actuator.pd_dt})"
    if spec.action_clip is not None and spec.action_clip <= 0:
        yield "action_clip", f"must be positive or null, got {spec.action_clip}"
    for i, term in enumerate(spec.observations):
        if term.name not in OBSERVATION_TERMS:
            known = ", ".join(OBSERVATION_TERMS)
            yield f"observations[{i}].name", f"is '{term.name}', not a term of the vocabulary ({known})"
        if term.dim < 1:
            yield f"observations[{i}].dim", f"must be positive, got {term.dim}"
        if isinstance(term.scale, list) and len(term.scale) != term.dim:
            yield f"observations[{i}].scale", f"has {len(term.scale)} values for dim {term.dim}"
        if term.clip is not None and not term.clip[0] < term.clip[1]:
            yield f"observations[{i}].clip", f"must be increasing, got {list(term.clip)}"
    if spec.history.length < 0:
        yield "history.length", f"must not be negative, got {spec.history.length}"
    expected = ["frame", "history"] + (["height_map"] if spec.height_map is not None else [])
    if spec.actor_input != expected:
        yield "actor_input", f"must be {expected} for this contract, got {spec.actor_input}"
    if (spec.height_map is None) != (spec.lidar is None):
        yield "lidar", "and height_map must be given together (a LiDAR policy) or both be null (a blind one)"
    if spec.height_map is not None:
        yield from _map_inconsistencies(spec.height_map)
    if spec.lidar is not None:
        if len(spec.lidar.pos) != 3:
            yield "lidar.pos", f"must hold 3 values, got {len(spec.lidar.pos)}"
        if len(spec.lidar.quat_wxyz) != 4 or abs(math.hypot(*spec.lidar.quat_wxyz) - 1.0) > 1e-3:
            yield "lidar.quat_wxyz", f"must be a unit quaternion (w, x, y, z), got {spec.lidar.quat_wxyz}"
    for name, bounds in spec.command_ranges.items():
        if name not in ("lin_vel_x", "lin_vel_y", "ang_vel_z") or bounds[0] > bounds[1]:
            yield f"command_ranges.{name}", "must be lin_vel_x, lin_vel_y or ang_vel_z with lower <= upper"


_PER_JOINT_ACTUATOR_FIELDS = ("stiffness", "damping", "effort_limit", "velocity_limit", "armature")


def _map_inconsistencies(spec: HeightMapSpec) -> typing.Iterator[tuple[str, str]]:
    for name in ("x_range", "y_range", "z_clip"):
        if not getattr(spec, name)[0] < getattr(spec, name)[1]:
            yield f"height_map.{name}", f"must be increasing, got {list(getattr(spec, name))}"
    if spec.resolution <= 0:
        yield "height_map.resolution", f"must be positive, got {spec.resolution}"
    if spec.pool_size < 1 or spec.pool_size % 2 == 0:
        yield "height_map.pool_size", f"must be a positive odd number, got {spec.pool_size}"
    if spec.num_sweeps < 1:
        yield "height_map.num_sweeps", f"must be positive, got {spec.num_sweeps}"
    if spec.fusion not in FUSIONS:
        yield "height_map.fusion", f"must be one of {', '.join(FUSIONS)}, got {spec.fusion!r}"
    if spec.pool not in POOLS:
        yield "height_map.pool", f"must be one of {', '.join(POOLS)}, got {spec.pool!r}"


def _value(spec: DeploySpec, dotted: str) -> float:
    value: object = spec
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _is_multiple(value: float, step: float) -> bool:
    return abs(value / step - round(value / step)) < 1e-6
