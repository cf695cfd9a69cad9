"""Errors of the robot side whose message is one line meant for the user."""


class RobotError(RuntimeError):
    """The robot (or the simulated one) cannot be driven: wrong interface, missing dependency, another commander."""
