# Every target provisions its own toolchain: a Node >= 22 on PATH is used as it is, otherwise
# Node 24 is fetched from the npm registry into ~/.cache/matrix-dma-bridge (see scripts/toolchain.sh).
SHELL := /bin/bash
TOOLCHAIN = eval "$$(scripts/toolchain.sh env)"
CONFIG ?= config.yaml

.PHONY: build install test demo bench run proto clean

node_modules/.installed: package.json package-lock.json scripts/toolchain.sh
	@$(TOOLCHAIN) && npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed

build: install
	@$(TOOLCHAIN) && npm run --silent build

test: build
	@scripts/postgres-binaries.sh
	@$(TOOLCHAIN) && npm test

demo: build
	@$(TOOLCHAIN) && npm run --silent demo

bench: build
	@$(TOOLCHAIN) && npm run --silent bench -- $(ARGS)

run: build
	@$(TOOLCHAIN) && node dist/src/cli/main.js start -c $(CONFIG)

proto: install
	@$(TOOLCHAIN) && npm run gen:proto

clean:
	rm -rf dist node_modules
