# Warp Panel — local bring-up. `make run` / `make test` work on a fresh Debian 12
# machine: scripts/stack.sh starts a project-local Postgres and NATS JetStream
# (installing them through apt-get / pip if needed) and writes .stack/env.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

STACK := bash scripts/stack.sh
ENV   := .stack/env

.PHONY: help up run test stop status build bench clean-stack

help:
	@echo "make run          start the stack, build and run 'warp all' (Ctrl-C stops it)"
	@echo "make test         start the stack and run the workspace tests"
	@echo "make bench        start the stack and run warp-bench (docs/BENCH.md)"
	@echo "make build        cargo build --workspace"
	@echo "make up|stop|status   start / stop / show the local Postgres + NATS stack"
	@echo "make clean-stack  stop the stack and delete .stack (all local data)"

up:
	$(STACK) up

# The release binary is built first: stack.sh uses it to write the NATS users' seeds and config.
run:
	cargo build --release -p warp
	WARP_BIN=target/release/warp $(STACK) up
	. $(ENV) && exec target/release/warp all

test: up
	. $(ENV) && if cargo nextest --version >/dev/null 2>&1; then \
		cargo nextest run --workspace --no-fail-fast; \
	else \
		cargo test --workspace; \
	fi

bench: up
	. $(ENV) && cargo build --release -p warp -p warp-bench && target/release/warp-bench

build:
	cargo build --workspace

stop:
	$(STACK) down

status:
	$(STACK) status

clean-stack: stop
	rm -rf .stack
