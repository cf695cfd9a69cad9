"""Command-line entry points of the agents package."""
