"""The VLA command layer: action grammar, executor, frame sampling and frozen VLA backends."""
