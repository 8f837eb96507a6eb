"""`python3 -m bench`: the side-by-side benchmark harness."""

import sys

from .cli import main

sys.exit(main())
