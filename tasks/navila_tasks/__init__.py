"""navila tasks: importing this package registers every gym task."""
