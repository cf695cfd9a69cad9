import shutil

import numpy as np
import pytest
from navila_lab.deploy_spec import DEPLOY_FILE, POLICY_ONNX
from navila_sim2real.policy import PolicyError, load_policy_dir
from sim2real_support import LIDAR_SPEC, edited_policy


class TestLoadPolicyDir:
    def test_loads_and_runs(self, policy_dir, blind_policy_dir):
        """Both shipped directories load; each policy maps an obs_dim observation to 12 finite actions."""
        for directory, width in ((policy_dir, 909), (blind_policy_dir, 450)):
            bundle = load_policy_dir(directory)
            action = bundle.policy(np.zeros(bundle.spec.obs_dim, dtype=np.float32))
            assert bundle.spec.obs_dim == width and action.shape == (12,) and np.all(np.isfinite(action))

    @pytest.mark.parametrize("missing", [DEPLOY_FILE, POLICY_ONNX])
    def test_missing_file(self, policy_dir, tmp_path, missing):
        """A missing file is named in the error."""
        target = edited_policy(policy_dir, tmp_path / "policy")
        (target / missing).unlink()
        with pytest.raises(PolicyError, match=f"no {missing}"):
            load_policy_dir(target)

    @pytest.mark.parametrize("damage", ["weights", "actor"])
    def test_unloadable_onnx_is_one_line(self, policy_dir, tmp_path, damage):
        """An ONNX actor without its external weights, or not ONNX at all, is refused in one line, no traceback."""
        target = edited_policy(policy_dir, tmp_path / "policy")
        if damage == "weights":
            (target / f"{POLICY_ONNX}.data").unlink()
        else:
            (target / POLICY_ONNX).write_bytes(b"not an onnx model")
        with pytest.raises(PolicyError, match=f"^{POLICY_ONNX}: onnxruntime cannot load it: ") as caught:
            load_policy_dir(target)
        assert "\n" not in str(caught.value)

    def test_joint_map_mismatch(self, policy_dir, tmp_path):
        """An sdk_joint_order that disagrees with the joint names is refused (never reordered by hand)."""
        order = list(LIDAR_SPEC.sdk_joint_order)
        order[0], order[1] = order[1], order[0]
        with pytest.raises(PolicyError, match="joint map mismatch: SDK slot 0"):
            load_policy_dir(edited_policy(policy_dir, tmp_path / "policy", sdk_joint_order=order))

    def test_foreign_joints(self, policy_dir, tmp_path):
        """Joint names that are not the Go2's are refused."""
        names = ["FL_knee_joint", *LIDAR_SPEC.joint_names[1:]]
        with pytest.raises(PolicyError, match="joint map mismatch"):
            load_policy_dir(edited_policy(policy_dir, tmp_path / "policy", joint_names=names))

    def test_width_mismatch(self, policy_dir, blind_policy_dir, tmp_path):
        """An ONNX actor whose input width differs from deploy.yaml's obs_dim is refused."""
        target = edited_policy(policy_dir, tmp_path / "policy")
        for actor in blind_policy_dir.glob(f"{POLICY_ONNX}*"):
            shutil.copy(actor, target / actor.name)
        with pytest.raises(PolicyError, match="takes 450"):
            load_policy_dir(target)

    def test_old_contract_version(self, policy_dir, tmp_path):
        """A deploy.yaml of another format version is refused in one line that says to re-export."""
        target = edited_policy(policy_dir, tmp_path / "policy", format_version=1)
        with pytest.raises(PolicyError, match="format version 2.*re-export"):
            load_policy_dir(target)
