"""Fallback for `prlimit`: set RLIMIT_AS / RLIMIT_FSIZE / RLIMIT_CORE, then exec the command.

    python -m autograder.sandbox.rlimits MEMORY_BYTES FILE_BYTES -- cmd args...
"""

import os
import resource
import sys

if __name__ == "__main__":
    memory, fsize = int(sys.argv[1]), int(sys.argv[2])
    argv = sys.argv[4:]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.execvp(argv[0], argv)
