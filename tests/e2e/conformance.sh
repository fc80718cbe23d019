#!/bin/bash
# conformance.sh: the quick set of Go standard library test binaries (os, os/exec, os/signal, syscall), natively and in a domain, compared per test (tests/conformance/run.sh; `make conformance` runs them all).
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
if ! command -v go >/dev/null; then
	echo "FAIL: no go toolchain (tools/deps.sh installs golang-go)"
	exit 1
fi
# One line per package: PASS: go/PKG or FAIL: go/PKG (with why); the table follows.
TMPDIR=$SCRATCH tests/conformance/run.sh --set quick --e2e
