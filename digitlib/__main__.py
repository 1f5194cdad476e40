"""Run the ``digitlib`` command line as ``python -m digitlib``."""

import sys

from .cli import main

sys.exit(main())
