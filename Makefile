# The Makefile is the user interface: `make help` lists every target.
# Every target depends on `setup`, which creates .venv on first use.

PYTHON_SYS ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.installed
ASSIGNMENT ?=
STUDENT    ?=
WORKERS    ?= 1
SCHEDULER  ?=
SUBMISSIONS ?=
UNSANDBOXED ?=
# Per-submission limits of make autograde (empty: the defaults, see docs/grading.md)
MEMORY_MB  ?=
PROCESSES  ?=
DISK_MB    ?=
OUTPUT_MB  ?=
COURSE     ?=

LIMIT_ARGS = $(if $(MEMORY_MB),--memory-mb $(MEMORY_MB)) $(if $(PROCESSES),--processes $(PROCESSES)) $(if $(DISK_MB),--disk-mb $(DISK_MB)) $(if $(OUTPUT_MB),--output-mb $(OUTPUT_MB))
GRADER_ARGS = $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(STUDENT),--student $(STUDENT)) $(if $(COURSE),--course $(COURSE))

.DEFAULT_GOAL := help
.PHONY: help setup sandbox demo test test-fast data lab release autograde feedback grades submit bench lint clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: ASSIGNMENT=01_knn STUDENT=alice COURSE=grading-dir WORKERS=N SCHEDULER=tcp://host:8786 SUBMISSIONS=dir"
	@echo "  Limits per submission (make autograde): MEMORY_MB=6144 PROCESSES=64 DISK_MB=1024 OUTPUT_MB=8"

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON_SYS) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); set PYTHON_SYS=python3.11" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)
	@echo "Environment ready in $(VENV)/"

setup: $(STAMP) ## Create .venv and install everything (idempotent, quick when done)

sandbox: ## Install bubblewrap for sandboxed autograding (Linux; uses apt-get when root)
	@sh scripts/ensure_sandbox.sh

demo: setup sandbox ## Main job: release the notebooks, grade three simulated students, print grades
	$(PY) -m autograder demo $(if $(WORKERS),--workers $(WORKERS))

test: setup sandbox ## Run the whole test suite (unit tests, notebooks, grading)
	$(PY) -m pytest -q

test-fast: setup ## Run the unit tests only (skips notebook execution and grading)
	$(PY) -m pytest -q -m "not slow"

data: setup ## Download CIFAR-10 into datasets/ (CIFAR10_URL=mirror, CIFAR10_TARBALL=local file)
	$(PY) -m cs231n_lib.download

lab: setup ## Open JupyterLab on assignments/
	$(VENV)/bin/jupyter lab --notebook-dir=assignments $(if $(filter 0,$(shell id -u)),--allow-root)

release: setup ## Generate the student notebooks in assignments/ from grading/source/
	$(PY) -m autograder release $(GRADER_ARGS)

autograde: setup ## Grade collected submissions (WORKERS=N, SCHEDULER=tcp://..., SUBMISSIONS=zips dir, MEMORY_MB= PROCESSES= DISK_MB= OUTPUT_MB=)
	$(PY) -m autograder autograde $(GRADER_ARGS) --workers $(WORKERS) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(SUBMISSIONS),--zips $(SUBMISSIONS)) $(if $(UNSANDBOXED),--unsandboxed) $(LIMIT_ARGS)

feedback: setup ## Write one HTML feedback report per student and assignment
	$(PY) -m autograder feedback $(GRADER_ARGS)

grades: setup ## Export grading/grades.csv (per student and assignment) and grades_by_student.csv
	$(PY) -m autograder grades $(GRADER_ARGS)

submit: setup ## Validate your notebook and zip it for hand-in (ASSIGNMENT=01_knn)
	$(PY) -m autograder submit $(GRADER_ARGS)

bench: setup ## Print the performance benchmarks (conv, pool, kNN, training, grading)
	$(PY) -m bench

lint: setup ## Check the code style with ruff
	$(VENV)/bin/ruff check cs231n_lib autograder tests bench grading/verify

clean: ## Remove generated grading folders and caches (keeps .venv and datasets/)
	rm -rf grading/autograded grading/feedback grading/submitted grading/release grading/gradebook.db demo .pytest_cache
