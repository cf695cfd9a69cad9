"""The ``navila`` subcommands owned by the robot side: ``deploy`` and ``sim2sim``, each a ``main(argv) -> int``."""
