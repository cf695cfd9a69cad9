"""``navila`` subcommands owned by the tasks package: each module's ``main(argv) -> int``."""
