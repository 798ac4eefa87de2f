"""The verification engine: scores come from here, never from the student's kernel.

Notebook authors write `grading/verify/<id>.py` with the spec API: `Check`, `allclose`,
`equal` from `autograder.verify.spec` and `heldout_check` from `autograder.verify.heldout`.
The grader's side: `runner.run_verification` drives a sandboxed `worker` process and
scores its answers with `compare`; answers cross as `plain` values; `rules.Watch` enforces
what exercise code may call; `stubs` makes reload-proof stubs of forbidden names;
`precheck` is the same verification run by `make submit` before hand-in.
"""
