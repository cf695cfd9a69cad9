"""navila-lab Isaac Lab extension: Go2 asset, LiDAR + height map, terrains and MDP terms."""
