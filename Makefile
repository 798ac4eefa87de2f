# The Makefile is the user interface: `make help` lists every target.
# Every target depends on `setup`, which creates .venv on first use.

PYTHON_SYS ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.installed
ASSIGNMENT ?=
STUDENT    ?=
NPROC      := $(shell nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
WORKERS    ?= $(NPROC)
FORCE      ?=
SCHEDULER  ?=
SUBMISSIONS ?=
UNSANDBOXED ?=
SCORES_ONLY ?=
FEEDBACK_ONLY ?=
# Per-submission limits of make autograde (empty: the defaults, see docs/grading.md)
MEMORY_MB  ?=
PROCESSES  ?=
DISK_MB    ?=
OUTPUT_MB  ?=
BLAS_THREADS ?=
COURSE     ?=
# `make lab LANG=zh`: the Chinese edition (work/zh/). LANG is also the locale variable: the edition is
# read from it (zh, zh_CN, zh_CN.UTF-8, ...), and the recipes get the C.UTF-8 locale instead when LANG
# was given on the command line or names a locale this machine does not have.
EDITION    := $(if $(filter zh%,$(LANG)),zh,en)
LANG_GIVEN := $(filter command line,$(origin LANG))
ifneq ($(LANG_GIVEN)$(shell LANG='$(LANG)' LC_ALL= locale 2>&1 >/dev/null),)
override LANG := C.UTF-8
export LANG
endif

LIMIT_ARGS = $(if $(MEMORY_MB),--memory-mb $(MEMORY_MB)) $(if $(PROCESSES),--processes $(PROCESSES)) $(if $(DISK_MB),--disk-mb $(DISK_MB)) $(if $(OUTPUT_MB),--output-mb $(OUTPUT_MB)) $(if $(BLAS_THREADS),--blas-threads $(BLAS_THREADS))
GRADER_ARGS = $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(STUDENT),--student $(STUDENT)) $(if $(COURSE),--course $(COURSE))

.DEFAULT_GOAL := help
.PHONY: help setup sandbox chromium fonts demo test test-fast data lab formgrader release autograde feedback grades submit bench lint messages clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: ASSIGNMENT=01_knn STUDENT=alice COURSE=grading-dir WORKERS=N (default: $(NPROC), the cores) SCHEDULER=tcp://host:8786 SUBMISSIONS=dir FORCE=1"
	@echo "  Students: LANG=zh (make lab, make submit) for the Chinese edition, 中文版: make lab LANG=zh"
	@echo "  Limits per submission (make autograde): MEMORY_MB=6144 PROCESSES=64 DISK_MB=1024 OUTPUT_MB=8 BLAS_THREADS=1"

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON_SYS) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); set PYTHON_SYS=python3.11" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	@echo "Installing the course's Python packages into $(VENV)/ (a few minutes the first time; log in $(VENV)/install.log)"
	@{ $(PY) -m pip install -q -q --upgrade pip && $(PY) -m pip install -q -q -r requirements.txt; } > $(VENV)/install.log 2>&1 \
		|| { tail -n 25 $(VENV)/install.log; echo "make setup failed: the whole log is $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)
	@echo "Environment ready in $(VENV)/"

setup: $(STAMP) ## Create .venv and install everything (idempotent, quick when done)

sandbox: ## Install bubblewrap for sandboxed autograding (Linux; uses apt-get when root)
	@sh scripts/ensure_sandbox.sh

chromium: ## Install Debian's chromium for the browser tests (uses apt-get when root)
	@sh scripts/ensure_chromium.sh

fonts: ## Install a font with Chinese characters (Debian's fonts-noto-cjk) for the Chinese browser tests
	@sh scripts/ensure_cjk_fonts.sh

demo: setup sandbox ## Main job: release into demo/, grade three simulated students per notebook, print grades (about 7 min on 2 cores)
	$(PY) -m autograder demo --workers $(WORKERS) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(COURSE),--course $(COURSE))

test: setup sandbox chromium fonts ## Run the whole test suite (unit tests, notebooks, grading, browser)
	$(PY) -m pytest -q

test-fast: setup ## Run the unit tests only (skips notebook execution and grading)
	$(PY) -m pytest -q -m "not slow"

data: setup ## Download CIFAR-10 into datasets/ (CIFAR10_DIR=folder CIFAR10_URL=mirror CIFAR10_TARBALL=file CIFAR10_DEADLINE=s CIFAR10_MIN_SPEED=kB/s)
	$(PY) -m cs231n_lib.datastep

lab: setup ## Students: JupyterLab on work/, your own copies of assignments/ (never overwritten; LANG=zh: work/zh/, 中文版)
	@$(PY) -m autograder workspace --lang $(EDITION)
	CS231N_LAB_LANG=$(EDITION) JUPYTER_CONFIG_DIR=$(CURDIR)/jupyter/student $(VENV)/bin/jupyter lab --notebook-dir=work $(if $(filter zh,$(EDITION)),--ServerApp.default_url=/lab/tree/zh) $(if $(filter 0,$(shell id -u)),--allow-root)

formgrader: setup ## Instructors: JupyterLab on grading/ with nbgrader's formgrader (grade written answers; venv on PATH for nbgrader's alembic)
	cd grading && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" JUPYTER_CONFIG_DIR=$(CURDIR)/jupyter/instructor $(CURDIR)/$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

release: setup ## Generate the student notebooks in assignments/ from grading/source/ (keeps edited ones; FORCE=1 replaces them after a backup)
	$(PY) -m autograder release $(GRADER_ARGS) $(if $(FORCE),--force)

autograde: setup ## Score collected submissions, then run their notebooks for feedback (WORKERS=N SCHEDULER=tcp://... SUBMISSIONS=zips FORCE=1 SCORES_ONLY=1 FEEDBACK_ONLY=1 MEMORY_MB= PROCESSES= DISK_MB= OUTPUT_MB=)
	$(PY) -m autograder autograde $(GRADER_ARGS) --workers $(WORKERS) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(SUBMISSIONS),--zips $(SUBMISSIONS)) $(if $(UNSANDBOXED),--unsandboxed) $(if $(FORCE),--force) $(if $(SCORES_ONLY),--scores-only) $(if $(FEEDBACK_ONLY),--feedback-only) $(LIMIT_ARGS)

feedback: setup ## Write one HTML feedback report per student and assignment
	$(PY) -m autograder feedback $(GRADER_ARGS)

grades: setup ## Export grading/grades.csv (per student and assignment) and grades_by_student.csv
	$(PY) -m autograder grades $(GRADER_ARGS)

submit: setup ## Validate your notebook work/<id>.ipynb (or work/zh/<id>.ipynb) and zip it for hand-in (ASSIGNMENT=01_knn)
	$(PY) -m autograder submit $(GRADER_ARGS) $(if $(LANG_GIVEN),--lang $(EDITION))

bench: setup ## Print the performance benchmarks (conv and pool vs PyTorch, kNN, training, grading, notebook Run All times)
	$(PY) -m bench

messages: setup ## Authors: refresh the message catalogues (*/locale/zh_CN/LC_MESSAGES/*.po) from the code and the notebooks' checks (pybabel)
	@mkdir -p build
	@for domain in cs231n_lib autograder; do \
		$(VENV)/bin/pybabel -q extract -F i18n/babel.cfg -k _n:1,2 --no-location --sort-output --no-wrap --omit-header -o build/$$domain.pot $$domain && \
		$(VENV)/bin/pybabel -q update -i build/$$domain.pot -d $$domain/locale -D $$domain -l zh_CN --no-fuzzy-matching --ignore-obsolete --no-wrap || exit 1; \
	done
	@$(VENV)/bin/pybabel -q extract -F i18n/babel-notebooks.cfg --no-location --sort-output --no-wrap --omit-header -o build/notebooks.pot grading/source
	@$(VENV)/bin/pybabel -q update -i build/notebooks.pot -d cs231n_lib/locale -D notebooks -l zh_CN --no-fuzzy-matching --ignore-obsolete --no-wrap
	@echo "Catalogues updated: translate each new msgid (msgstr empty) in cs231n_lib/locale/zh_CN/LC_MESSAGES/cs231n_lib.po, autograder/locale/zh_CN/LC_MESSAGES/autograder.po and, for the notebooks' checks (names, hints), cs231n_lib/locale/zh_CN/LC_MESSAGES/notebooks.po"

lint: setup ## Check the code style with ruff
	$(VENV)/bin/ruff check cs231n_lib autograder tests bench grading/verify

clean: ## Remove generated grading folders, test artifacts and caches (keeps .venv, datasets/ and work/)
	rm -rf grading/autograded grading/feedback grading/submitted grading/release grading/gradebook.db demo test-artifacts .pytest_cache
