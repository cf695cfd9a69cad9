"""Sim2sim: a MuJoCo Go2 that speaks the robot's DDS topics, so ``navila deploy`` runs unchanged against it."""
