"""``python -m skpneumo``: the same as the ``skpneumo`` command."""

import sys

from ._cli import main

sys.exit(main())
