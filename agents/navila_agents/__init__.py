"""rsl_rl runner configs and the VLA command layer."""
