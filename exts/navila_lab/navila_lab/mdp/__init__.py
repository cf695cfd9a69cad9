"""MDP terms of the navila tasks."""
