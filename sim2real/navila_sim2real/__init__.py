"""Robot side: deploy the exported policy on the Go2 through unitree_sdk2py."""
