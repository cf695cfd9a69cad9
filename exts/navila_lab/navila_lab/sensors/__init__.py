"""LiDAR pattern, sensor and the shared height-map function."""
