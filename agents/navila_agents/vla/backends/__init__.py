"""Frozen VLA backends behind one interface: local Hugging Face models, an HTTP server, a privileged oracle."""
