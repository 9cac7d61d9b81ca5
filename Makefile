# Two commands do all set-up on a fresh machine:  make book  and  make test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The development photos, when this checkout has them beside it; else the embedded photos.
SHARED := ../shared/datasets/nips17-dev
DATA ?= $(if $(wildcard $(SHARED)/labels.csv),$(SHARED),)
PROFILE ?=

.PHONY: venv book chapters site test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Execute every chapter with papermill (PROFILE=smoke|cpu|gpu; default gpu with CUDA, else cpu), then build the site.
book: chapters site

chapters: $(STAMP)
	$(BIN)/python -m colorlib.book run $(if $(PROFILE),--profile $(PROFILE)) $(if $(DATA),--data $(DATA))

site: $(STAMP)
	$(BIN)/jupyter-book build . -W --builder html --path-output book
	@echo "open book/_build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check colorlib tests notebooks

test: $(STAMP) lint
	$(BIN)/python -m pytest -q -ra

clean:
	rm -rf book/_build book/chapters .pytest_cache
