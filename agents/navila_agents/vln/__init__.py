"""Vision-language navigation: procedural scenes, episodes and metrics."""
