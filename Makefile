# aebridge — setup, build, tests, demo.
#
#   make demo   set up a fresh Debian machine, then run the end-to-end demo
#   make test   set up, then go vet and every test (CI runs this)
#
# Everything the tests need is installed by `make setup`, idempotently.

SHELL        := /bin/bash
PYTHON       := /usr/bin/python3
DEPS         := .deps
ORT_VERSION  := 1.30.0
ORT_LIB      := $(DEPS)/onnxruntime/libonnxruntime.so.1
DATA_DIR     := $(DEPS)/data
APT_PACKAGES := python3-torch python3-onnx python3-numpy libopenblas-dev ca-certificates chromium hey
# The trainer's matrix products go to OpenBLAS (gonum's netlib binding);
# `make GOTAGS= build` builds the pure-Go variant. The onnxgo tag adds the
# onnx-go backend (and gorgonia with it), which the release binary leaves
# out; the tests run it.
GOTAGS       ?= openblas
TESTTAGS     := openblas onnxgo
BIN          := bin/aebridge
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export ONNXRUNTIME_SHARED_LIBRARY_PATH ?= $(abspath $(ORT_LIB))
export AEBRIDGE_DATA ?= $(abspath $(DATA_DIR))
export AEBRIDGE_PYTHON ?= $(PYTHON)

.PHONY: all setup apt ort data build pipeline test demo bench loadtest fuzz proto clean fixtures oneclass

all: build

## setup: apt packages, ONNX Runtime, data sets (idempotent)
setup: apt ort data

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

ort: $(ORT_LIB)

$(ORT_LIB):
	scripts/install-onnxruntime.sh $(ORT_VERSION) $(DEPS)/onnxruntime

data: $(DATA_DIR)/.complete

$(DATA_DIR)/.complete: scripts/fetch-data.sh scripts/npm_digits_to_npy.py
	scripts/fetch-data.sh $(DATA_DIR)

build:
	go build -tags "$(GOTAGS)" -o $(BIN) ./cmd/aebridge

## pipeline: bin/aebridge-pipeline, the Beam pipeline (its own module in
## pipeline/), without cgo as Beam's workers are built
pipeline:
	cd pipeline && CGO_ENABLED=0 go build -o ../bin/aebridge-pipeline ./cmd/aebridge-pipeline

## test: what CI runs — every test with OpenBLAS and onnx-go, again in
## pure Go without onnx-go (as released), the runtime package under the
## race detector, the binary (with onnx-go) on hostile files, and the Beam
## pipeline's module (pipeline/, its own go.mod) on Beam's local runners
test: setup
	go vet ./...
	go vet -tags "$(TESTTAGS)" ./...
	go test -count=1 -timeout 30m -tags "$(TESTTAGS)" ./...
	go test -count=1 -timeout 30m ./...
	go test -count=1 -race ./runtime/
	go build -tags "$(TESTTAGS)" -o $(BIN) ./cmd/aebridge
	scripts/hostile.sh $(BIN)
	cd pipeline && go vet ./...
	cd pipeline && go test -count=1 -timeout 20m ./...

## bench: aebridge against PyTorch on this machine (see scripts/bench.sh)
bench: setup
	go test -run '^$$' -bench . -benchtime 20x -tags openblas ./trainer/ ./internal/openblas/
	go test -run '^$$' -bench . -benchtime 10x ./trainer/
	go test -run '^$$' -bench . -benchtime 2000x ./runtime/
	go test -run '^$$' -bench . -tags "$(TESTTAGS)" ./backend/
	scripts/bench.sh

## loadtest: aebridge serve under hey on loopback, against the runtime called directly (see scripts/loadtest.sh)
loadtest: setup build
	scripts/loadtest.sh $(BIN)

## fuzz: every go fuzz target for FUZZTIME each (default 5m; see scripts/fuzz.sh)
fuzz: setup
	scripts/fuzz.sh

## oneclass: the one-class anomaly benchmark (scripts/oneclass): per
## Fashion-MNIST class, autoencoders trained on that class against PCA, as
## the README's table. ONECLASS_TRAIN samples per class (0: all 6000),
## ONECLASS_TEST test samples (0: all 10000); the defaults took 23 minutes
## on 2 shared cores, ONECLASS_EPOCHS=1 ONECLASS_TRAIN=500 ONECLASS_TEST=2000
## about one.
ONECLASS_EPOCHS ?= 10
ONECLASS_TRAIN  ?= 2000
ONECLASS_TEST   ?= 0
ONECLASS_FLAGS  ?=
oneclass: setup
	go run -tags "$(GOTAGS)" ./scripts/oneclass -epochs $(ONECLASS_EPOCHS) -train $(ONECLASS_TRAIN) -test $(ONECLASS_TEST) $(ONECLASS_FLAGS)

## demo: the main job end to end
demo: setup build
	scripts/demo.sh $(BIN)

## fixtures: remake the PyTorch fixtures in testdata/pytorch (exports, layers, optimizers)
## and the operator fixtures in testdata/ops, the recurrent ones in testdata/rnn and the layout
## ones in testdata/layout (hand-made tf2onnx-style graphs take their references from ONNX Runtime)
fixtures:
	$(PYTHON) testdata/pytorch/make_fixtures.py --out testdata/pytorch
	$(PYTHON) testdata/layout/make_layout_fixtures.py --out testdata/layout
	$(PYTHON) testdata/pytorch/make_layer_fixtures.py --out testdata/pytorch/layers
	$(PYTHON) testdata/pytorch/make_optim_fixture.py > testdata/pytorch/optim.json
	$(PYTHON) testdata/rnn/make_rnn_fixtures.py --out testdata/rnn
	$(PYTHON) testdata/ops/make_op_fixtures.py --out testdata/ops
	go run ./cmd/aebridge run testdata/ops/tf_dense_ae.opset13.onnx --backend ort --input testdata/ops/tf_dense_ae.in0.npy --output testdata/ops/tf_dense_ae.out0.npy

## proto: regenerate internal/onnxpb from Debian's onnx.proto (needs protoc)
proto:
	scripts/gen-onnxpb.sh

clean:
	rm -rf bin
