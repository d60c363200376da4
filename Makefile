# The two commands of the README: `make run` (the main job on the bundled data) and
# `make test`. Both create the virtual environment .venv themselves on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PEERS := $(VENV)/.peers
DOCS := $(VENV)/.docs
OUT ?= out/demo

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[cpu,test]'
	touch $(STAMP)

# The saliency peers of the agreement tests, pinned and without dependency resolution
# (xplique 2.0.2 would downgrade TensorFlow): see benchmarks/requirements-peers.txt.
$(PEERS): $(STAMP) benchmarks/requirements-peers.txt
	$(BIN)/python -m pip install -q --no-deps -r benchmarks/requirements-peers.txt
	touch $(PEERS)

.PHONY: run test lint install docs
install: $(STAMP)

run: $(STAMP)
	$(BIN)/mirnamap fold data/examples/hairpins.fa -o $(OUT)/folds.tsv
	$(BIN)/mirnamap encode $(OUT)/folds.tsv -o $(OUT)/images.npz --png $(OUT)/images
	$(BIN)/mirnamap predict $(OUT)/images.npz -o $(OUT)/predictions.tsv
	$(BIN)/mirnamap explain $(OUT)/images.npz --method gradient_x_input,deconvnet,smoothgrad_guided_backprop \
		--ids human_pos_9,human_pos_16,human_neg_871 --out $(OUT)/explain
	$(BIN)/mirnamap explain $(OUT)/images.npz --method gradient_x_input,deconvnet,smoothgrad_guided_backprop \
		--no-pictures --out $(OUT)/report --html $(OUT)/report.html
	@echo "results in $(OUT)/ (saliency pictures: $(OUT)/explain/*/*.png; interactive report: $(OUT)/report.html)"

test: $(PEERS)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/python -m pip install -q 'ruff~=0.17'
	$(BIN)/ruff check mirnamap tests benchmarks experiments
	$(BIN)/ruff format --check mirnamap tests benchmarks experiments

# The documentation site (docs/, mkdocs.yml) into site/, warnings as errors: broken links,
# missing references or a failing page example stop it. It runs the worked example and
# the tutorial notebook, so it needs the model's extra too.
$(DOCS): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[cpu,docs]'
	touch $(DOCS)

docs: $(DOCS)
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --site-dir site
