"""``navila`` subcommands owned by the agents package: each module's ``main(argv) -> int``."""
