"""Terrains with obstacles and glass."""
