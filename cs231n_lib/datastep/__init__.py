"""The data step (``make data``): download, verify and install CIFAR-10.

``python -m cs231n_lib.datastep`` (also the ``cs231n-data`` script) fetches the
official python archive into the folder above the dataset (``datasets/`` by default), resuming an interrupted
download with an HTTP Range request, checks its md5, and extracts
``cifar-10-batches-py/`` into a temporary folder that is renamed into place only
once every batch has been read and checked, so a failed run never leaves a half
dataset that loads.

It only ever deletes or replaces what it created: a dataset folder holding
anything but CIFAR-10's own files is refused, never emptied. One run at a time
works on a folder (a lock); a second run waits with a message.

Environment variables:
- ``CIFAR10_URL``: download from a mirror instead of the official server (the
  file must still be the official archive: same size and md5).
- ``CIFAR10_TARBALL``: install from a local ``cifar-10-python.tar.gz`` (a course
  server, a USB key), also a plain ``.tar``, ``.tar.xz`` or ``.tar.bz2``, or an
  extracted ``cifar-10-batches-py`` folder. An archive whose md5 differs from the
  official one is accepted only if it is a structurally valid CIFAR-10 archive,
  and the command says so (and says when it is a subset).
- ``CIFAR10_DIR``: where the dataset goes (default ``<repo>/datasets/cifar-10-batches-py``;
  a relative path is relative to the repository root); the loaders in
  ``cs231n_lib.data`` read the same variable.
- ``CIFAR10_DEADLINE``: seconds the whole run may take (default 7200).
- ``CIFAR10_MIN_SPEED``: slowest acceptable download speed in kB/s, averaged over
  60 s (default 10; 0 turns the check off).

Every failure prints one message saying what happened and what to do, and exits non-zero.

Modules, one job each: ``install`` (the command and the three ways to install),
``download`` (one file over HTTP: resumable, bounded in time and speed), ``archive``
(reading CIFAR-10 out of an archive or folder that may be hostile), ``dataset_folder``
(what may be replaced, the lock, staging, leftovers), ``official`` (what the official
archive is), ``errors`` (the step's error and its messages' pieces). No notebook imports them.
"""
