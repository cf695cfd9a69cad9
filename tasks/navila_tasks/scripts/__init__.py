"""The ``navila`` subcommands of the locomotion side: train, play, export, bench."""
