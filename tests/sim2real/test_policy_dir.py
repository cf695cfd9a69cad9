import shutil

import numpy as np
import pytest
from navila_sim2real.policy import PolicyError, load_policy_dir
from navila_sim2real.reference_policy import SIM_JOINT_NAMES, export_random_mlp
from navila_sim2real.reference_policy import reference_spec as make_spec


def copy_policy(policy_dir, tmp_path, **spec_overrides):
    target = tmp_path / "policy"
    shutil.copytree(policy_dir, target)
    if spec_overrides:
        make_spec(**spec_overrides).save(target)
    return target


class TestLoadPolicyDir:
    def test_loads_and_runs(self, policy_dir):
        """A valid directory loads; the policy maps an obs_dim observation to 12 finite actions."""
        bundle = load_policy_dir(policy_dir)
        action = bundle.policy(np.zeros(bundle.spec.obs_dim, dtype=np.float32))
        assert action.shape == (12,) and np.all(np.isfinite(action))

    @pytest.mark.parametrize("missing", ["deploy.yaml", "policy.onnx"])
    def test_missing_file(self, policy_dir, tmp_path, missing):
        """A missing file is named in the error."""
        target = copy_policy(policy_dir, tmp_path)
        (target / missing).unlink()
        with pytest.raises(PolicyError, match=f"no {missing}"):
            load_policy_dir(target)

    def test_joint_map_mismatch(self, policy_dir, tmp_path):
        """An sdk_joint_order that disagrees with the joint names is refused (never reordered by hand)."""
        order = make_spec().sdk_joint_order
        order[0], order[1] = order[1], order[0]
        with pytest.raises(PolicyError, match="joint map mismatch: SDK slot 0"):
            load_policy_dir(copy_policy(policy_dir, tmp_path, sdk_joint_order=order))

    def test_foreign_joints(self, policy_dir, tmp_path):
        """Joint names that are not the Go2's are refused."""
        names = ["FL_knee_joint", *SIM_JOINT_NAMES[1:]]
        with pytest.raises(PolicyError, match="joint map mismatch"):
            load_policy_dir(copy_policy(policy_dir, tmp_path, joint_names=names))

    def test_width_mismatch(self, policy_dir, tmp_path):
        """An ONNX input width different from deploy.yaml's obs_dim is refused."""
        target = copy_policy(policy_dir, tmp_path)
        export_random_mlp(str(target / "policy.onnx"), 450)
        with pytest.raises(PolicyError, match="takes 450"):
            load_policy_dir(target)
