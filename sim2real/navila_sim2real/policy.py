"""The exported policy directory: ``policy.onnx`` + ``deploy.yaml``, loaded and checked against the Go2 SDK."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime
from navila_lab.assets.go2_constants import SDK_JOINT_NAMES, sim_to_sdk_indices
from navila_lab.deploy_spec import POLICY_ONNX, ContractError, DeploySpec, open_exported

from navila_sim2real.observation import check_terms


class PolicyError(ValueError):
    """The policy directory cannot drive the robot; the message is one line."""


def check_joint_map(spec: DeploySpec) -> None:
    """Raise :class:`PolicyError` unless the spec's joints are the Go2's and ``sdk_joint_order`` follows the names."""
    if sorted(spec.joint_names) != sorted(SDK_JOINT_NAMES):
        extra = sorted(set(spec.joint_names) ^ set(SDK_JOINT_NAMES))
        raise PolicyError(f"joint map mismatch: deploy.yaml joints differ from the Go2's ({', '.join(extra)})")
    expected = sim_to_sdk_indices(spec.joint_names)
    for slot, (have, want) in enumerate(zip(spec.sdk_joint_order, expected, strict=True)):
        if have != want:
            raise PolicyError(
                f"joint map mismatch: SDK slot {slot} ({SDK_JOINT_NAMES[slot]}) maps to policy joint {have} "
                f"'{spec.joint_names[have]}' in deploy.yaml, expected {want}"
            )


class OnnxPolicy:
    """An ONNX actor: observation (obs_dim,) → action (12,), run with onnxruntime on the CPU."""

    def __init__(self, path: Path, obs_dim: int, num_actions: int) -> None:
        """Load ``path`` and check its input and output widths."""
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's errors (Fail, InvalidProtobuf, ...) share no base class but this
            reason = (str(error).strip() or type(error).__name__).splitlines()[0]
            raise PolicyError(f"{path.name}: onnxruntime cannot load it: {reason}") from None
        (inputs,), (outputs,) = self._session.get_inputs(), self._session.get_outputs()
        if inputs.shape[-1] != obs_dim or outputs.shape[-1] != num_actions:
            raise PolicyError(
                f"{path.name}: takes {inputs.shape[-1]} → gives {outputs.shape[-1]}, "
                f"deploy.yaml says {obs_dim} → {num_actions}"
            )
        self._input = inputs.name

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Run the policy on one observation."""
        return self._session.run(None, {self._input: obs.reshape(1, -1).astype(np.float32)})[0][0]


@dataclass(frozen=True)
class PolicyBundle:
    """A loaded, checked policy directory."""

    spec: DeploySpec
    policy: OnnxPolicy
    directory: Path


def load_policy_dir(directory: str | Path) -> PolicyBundle:
    """Load ``deploy.yaml`` and ``policy.onnx`` from ``directory``; raises :class:`PolicyError` with one line."""
    try:
        exported = open_exported(directory, POLICY_ONNX)
        check_terms(exported.spec)
    except (ContractError, ValueError) as error:
        raise PolicyError(str(error)) from None
    check_joint_map(exported.spec)
    policy = OnnxPolicy(exported.onnx, exported.spec.obs_dim, len(exported.spec.joint_names))
    return PolicyBundle(spec=exported.spec, policy=policy, directory=exported.directory)
