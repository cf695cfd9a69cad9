"""``navila`` subcommands owned by the robot side: each module's ``main(argv) -> int``."""
