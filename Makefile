# Stance classification: every target creates .venv from requirements.lock when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= configs/default.yaml
MODEL ?= models/stance
PORT ?= 5000
SWEEP ?= configs/default.yaml $(sort $(wildcard configs/sweep/*.yaml))
export MLFLOW_DISABLE_TELEMETRY := true
export HF_DATASETS_OFFLINE := 1
export HF_HUB_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1
# HistGradientBoosting's OpenMP threads spin while another process holds a core: measured
# 171 s vs 6 s (20 iterations) on this 2-core machine. One thread is the robust default;
# set OMP_NUM_THREADS in the environment to override.
OMP_NUM_THREADS ?= 1
export OMP_NUM_THREADS
TRACKING := $(or $(MLFLOW_TRACKING_URI),sqlite:///$(CURDIR)/mlflow.db)

.DEFAULT_GOAL := help
ENGINE ?= local
MODEL_URI ?= models:/stance-classifier@champion
# make serve defaults to 5001 (5000 is the tracking server's) unless PORT is given
SERVE_PORT := $(if $(filter command line environment,$(origin PORT)),$(PORT),5001)
.PHONY: help venv venv-spark data train sweep predict evaluate tradeoff ui server serve score test test-slow bench bench-scale bench-fnc1 lock clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

venv: $(VENV)/.installed ## create .venv with the pinned dependencies (automatic for other targets)

$(VENV)/.spark-installed: requirements-spark.lock $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-spark.lock
	@touch $@

venv-spark: $(VENV)/.spark-installed ## add the optional Spark extra (pyspark; needs Java 17) to .venv

data: $(VENV)/.installed ## validate the corpus; print statistics and the quota checks
	$(PY) -m training data --config $(CONFIG) --quotas

train: $(VENV)/.installed ## train, evaluate, log to MLflow, export models/<name>/ (CONFIG=configs/x.yaml)
	$(PY) -m training train --config $(CONFIG)

sweep: $(VENV)/.installed ## train every config in SWEEP as runs of one experiment; print a table
	$(PY) -m training sweep $(SWEEP)

predict: $(VENV)/.installed ## label a pair, or an article: make predict CLAIM="..." SENTENCE="..." | DOCUMENT=file.txt [FORMAT=html OUTPUT=x.html]
	@test -n "$(CLAIM)" -a -n "$(SENTENCE)$(DOCUMENT)" || { echo 'usage: make predict CLAIM="..." SENTENCE="..."  or  make predict CLAIM="..." DOCUMENT=article.txt [FORMAT=table|jsonl|csv|html] [OUTPUT=path]' >&2; exit 2; }
	$(PY) -m training predict --model $(MODEL) --claim "$(CLAIM)" $(if $(DOCUMENT),--document "$(DOCUMENT)" $(if $(FORMAT),--format $(FORMAT)) $(if $(OUTPUT),--output "$(OUTPUT)"),--sentence "$(SENTENCE)")

evaluate: $(VENV)/.installed ## score a model and the cue-word rule on a labelled set: make evaluate INPUT=x.jsonl [MODEL=...] [OUTPUT=dir]
	@test -n "$(INPUT)" || { echo 'usage: make evaluate INPUT=pairs.jsonl [MODEL=models/stance] [OUTPUT=dir]' >&2; exit 2; }
	$(PY) -m training evaluate --model $(MODEL) --input "$(INPUT)" $(if $(OUTPUT),--output "$(OUTPUT)")

tradeoff: $(VENV)/.installed ## retrain with other hard-pair weights / meaning shares; table + reports/tradeoff/*.png
	$(PY) -m training tradeoff --config $(CONFIG)

ui: $(VENV)/.installed ## MLflow UI on http://127.0.0.1:$(PORT) over the same store (PORT=5000)
	@echo "MLflow UI: http://127.0.0.1:$(PORT)/#/experiments?workflowType=machine_learning (Model training mode)"
	$(VENV)/bin/mlflow server --backend-store-uri $(TRACKING) --host 127.0.0.1 --port $(PORT) --workers 1

server: $(VENV)/.installed ## MLflow tracking server on PostgreSQL (.pg/, or MLFLOW_BACKEND_URI) on 127.0.0.1:$(PORT); Ctrl-C stops both
	$(PY) -m training server --port $(PORT) $(if $(PG_DIR),--pg-dir "$(PG_DIR)")

serve: $(VENV)/.installed ## serve a registered model over HTTP on 127.0.0.1:5001 (PORT=, MODEL_URI=models:/stance-classifier@champion)
	MLFLOW_TRACKING_URI=$(TRACKING) $(PY) -m training serve --model-uri "$(MODEL_URI)" --port $(SERVE_PORT)

score: $(VENV)/.installed $(if $(filter spark,$(ENGINE)),$(VENV)/.spark-installed) ## label a file: make score INPUT=x.parquet OUTPUT=y.parquet [ENGINE=local|spark] [MODEL=models/stance] [WORKERS=N]
	@test -n "$(INPUT)" -a -n "$(OUTPUT)" || { echo 'usage: make score INPUT=pairs.parquet|.jsonl|.csv OUTPUT=out.parquet|.jsonl|.csv [ENGINE=local|spark] [MODEL=models/stance] [WORKERS=N] [MASTER=url]' >&2; exit 2; }
	MLFLOW_TRACKING_URI=$(TRACKING) $(PY) -m training score --model "$(MODEL)" --input "$(INPUT)" --output "$(OUTPUT)" --engine $(ENGINE) $(if $(WORKERS),--workers $(WORKERS)) $(if $(MASTER),--master "$(MASTER)")

test: $(VENV)/.installed ## run the test suite (slow benchmark tests excluded)
	$(PY) -m pytest -q

test-slow: $(VENV)/.installed ## run only the slow benchmark-style tests
	$(PY) -m pytest -q -m slow

bench: $(VENV)/.installed ## time make train, cold-start predict and batch throughput
	$(PY) -m training bench --config $(CONFIG) --model $(MODEL)

bench-scale: $(VENV)/.installed $(VENV)/.spark-installed ## scoring 200k / 2M pairs (local, Spark), serving latency, streaming memory
	MLFLOW_TRACKING_URI=$(TRACKING) $(PY) -m training bench-scale --model $(MODEL)

bench-fnc1: $(VENV)/.installed ## FNC-1: train + evaluate (dev, and test if FNC1_TEST_DIR) beside the anchors
	$(PY) -m training bench-fnc1 --config configs/fnc1.yaml $(if $(NOCACHE),--no-cache)

lock: ## re-pin requirements.lock from the current .venv (the Spark extra stays in requirements-spark.lock)
	$(PY) -m pip freeze --exclude-editable | grep -vE '^(pyspark|py4j)==' > requirements.lock

clean: ## remove generated files (models, MLflow store, caches; keeps .venv)
	rm -rf models mlflow.db mlflow.db.lock mlruns .cache .pytest_cache
