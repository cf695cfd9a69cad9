"""Go2 description, constants and generated assets."""
