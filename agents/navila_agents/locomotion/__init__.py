"""Locomotion jobs: rsl_rl training, export, play, evaluation and their shared plumbing."""
