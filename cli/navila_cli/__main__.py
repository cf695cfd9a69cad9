"""``python -m navila_cli``: the ``navila`` command."""

import sys

from navila_cli import main

sys.exit(main())
