"""Isolation of student code: bubblewrap and resource limits.

`limits.Limits` (the one limits object, from the command line to the kernel), `bwrap.Sandbox`
(the bubblewrap command line, per-process rlimits via `prlimit` or `rlimits`),
`watchdog.TreeWatchdog` (the whole process tree's memory, processes and disk), and
`kernel` (the sandboxed Jupyter kernel nbgrader executes notebooks in).
"""
