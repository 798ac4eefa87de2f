"""What the official CIFAR-10 python archive is: its address, name, size, md5 and contents."""

import hashlib

__all__ = ["OFFICIAL_URL", "OFFICIAL_SIZE", "OFFICIAL_MD5", "TARBALL_NAME", "DIRNAME",
           "FULL_COUNTS", "CHUNK", "md5sum"]

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_SIZE = 170_498_071
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"
TARBALL_NAME = "cifar-10-python.tar.gz"
DIRNAME = "cifar-10-batches-py"
# The image counts of the full dataset: fewer means a subset, which `make data` offers to replace.
FULL_COUNTS = {"num_train": 50000, "num_test": 10000}
CHUNK = 1 << 20     # bytes read at a time


def md5sum(path, chunk_size=CHUNK):
    """The md5 hex digest of a file (compared with OFFICIAL_MD5)."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk_size):
            h.update(block)
    return h.hexdigest()
