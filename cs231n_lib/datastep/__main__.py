"""``python -m cs231n_lib.datastep`` (``make data``): install CIFAR-10 per the environment."""

import sys

from cs231n_lib.datastep.install import main

sys.exit(main())
