import pytest
from navila_lab.deploy_spec import POLICY_ONNX
from navila_lab.errors import UserError
from navila_sim2real.commands.deploy import main
from sim2real_support import LIDAR_SPEC, edited_policy


def refused(*args: str) -> str:
    """The one-line error 'navila deploy ARGS' stops with."""
    with pytest.raises(UserError) as error:
        main(list(args))
    assert "\n" not in str(error.value)
    return str(error.value)


class TestDeployCli:
    def test_wrong_interface(self, policy_dir):
        """An interface this machine does not have is one line naming the ones it has."""
        message = refused("--iface", "nosuch0", "--policy", str(policy_dir))
        assert "no network interface 'nosuch0'" in message and "lo" in message

    def test_missing_policy_file(self, policy_dir, tmp_path):
        """A policy directory without policy.onnx is one line saying so."""
        target = edited_policy(policy_dir, tmp_path / "policy")
        (target / POLICY_ONNX).unlink()
        assert "no policy.onnx" in refused("--iface", "lo", "--policy", str(target))

    def test_joint_map_mismatch(self, policy_dir, tmp_path):
        """A deploy.yaml whose SDK order disagrees with its joint names is refused in one line."""
        order = list(LIDAR_SPEC.sdk_joint_order)
        order[3], order[4] = order[4], order[3]
        target = edited_policy(policy_dir, tmp_path / "policy", sdk_joint_order=order)
        assert "joint map mismatch" in refused("--iface", "lo", "--policy", str(target))

    def test_dry_run_prints_commands_without_connecting(self, capsys, policy_dir, monkeypatch, sdk):
        """--dry-run goes PASSIVE → STAND → POLICY offline and prints safe commands for all 12 motors."""
        from navila_sim2real import robot

        monkeypatch.setattr(robot.Go2Robot, "connect", lambda self: pytest.fail("dry run connected"))
        assert main(["--iface", "lo", "--policy", str(policy_dir), "--dry-run"]) == 0
        out = capsys.readouterr().out
        header = next(line for line in out.splitlines() if line.startswith("motor"))
        assert header.split()[1:] == ["PASSIVE", "STAND", "POLICY", "POLICY", "POLICY"]
        rows = [line for line in out.splitlines() if line.split()[0].endswith("_joint")]
        assert [row.split()[0] for row in rows][:3] == ["FR_hip_joint", "FR_thigh_joint", "FR_calf_joint"]
        assert len(rows) == 12 and all(float(row.split()[8]) == 40.0 for row in rows)
