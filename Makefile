# Every target provisions its own toolchain: a Node >= 22 on PATH is used as it is, otherwise
# Node 24 is fetched from the npm registry into ~/.cache/matrix-dma-bridge (see scripts/toolchain.sh).
SHELL := /bin/bash
TOOLCHAIN = eval "$$(scripts/toolchain.sh env)"
CONFIG ?= config.yaml
# What `make test-postgres` runs (MDB_TEST_DATABASE=postgres): mocha spec globs, and an optional --grep pattern.
POSTGRES_SPEC ?= 'dist/test/**/*.test.js'
POSTGRES_GREP ?=

.PHONY: build install provision-postgres test test-postgres demo bench run proto clean

node_modules/.installed: package.json package-lock.json scripts/toolchain.sh
	@$(TOOLCHAIN) && npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed

build: install
	@$(TOOLCHAIN) && npm run --silent build

# PostgreSQL's server binaries from Debian's packages (installed once, as root), for the store tests and the
# harness's own; nothing to do with a server of your own in MDB_TEST_POSTGRES_URL.
# A machine that cannot have it (no root) still runs the rest; the PostgreSQL tests then say why they are skipped.
provision-postgres:
	@[ -n "$$MDB_TEST_POSTGRES_URL" ] || scripts/postgres.sh >/dev/null || echo "[postgres] continuing without PostgreSQL" >&2

test: build provision-postgres
	@$(TOOLCHAIN) && npm test

# The suite (or the POSTGRES_SPEC / POSTGRES_GREP part of it) with the store on PostgreSQL.
test-postgres: build provision-postgres
	@$(TOOLCHAIN) && MDB_TEST_DATABASE=postgres npx mocha $(POSTGRES_SPEC) $(if $(POSTGRES_GREP),--grep '$(POSTGRES_GREP)')

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
