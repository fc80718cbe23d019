#!/bin/bash
# e2e-inner.sh: runs end-to-end test scripts one after another (inside the nested VM) and records each result.
#
# Usage (from the repo root, normally via tests/run.sh): e2e-inner.sh RESULTS_DIR SCRIPT...
# For each SCRIPT it writes RESULTS_DIR/NAME.log (stdout+stderr) and appends one line
# "NAME RC SECONDS" to RESULTS_DIR/status once the script has ended. The status line is
# written only after the log is complete, so a reader that sees the line may read the log.
# Each script gets a private TMPDIR (removed afterwards), stdin from /dev/null, and its own
# timeout: PDVM_E2E_TIMEOUT (default 300 s) unless its first lines say "# timeout: SECS".
set -u

res=$1
shift
# A second pass over a subset, for the trap backend only (tests/run.sh marks it).
[ -e "$res/backend-only" ] && export PDVM_E2E_BACKEND_ONLY=1
default_tmo=${PDVM_E2E_TIMEOUT:-300}

for t in "$@"; do
	# Bash builtins only where possible: every exec costs tens of ms under TCG.
	name=${t##*/}
	name=${name%.sh}
	tmo=$default_tmo
	n=0
	while IFS= read -r line && [ $((n += 1)) -le 15 ]; do
		if [[ "$line" =~ ^#\ *timeout:\ *([0-9]+) ]]; then tmo=${BASH_REMATCH[1]}; break; fi
	done <"$t"
	tdir=/tmp/e2e.$name.$$
	mkdir -p "$tdir"
	start=$SECONDS
	TMPDIR=$tdir timeout -k 10 "$tmo" bash "$t" >"$res/$name.log" 2>&1 </dev/null
	rc=$?
	end=$SECONDS
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "e2e-inner: $t killed after the ${tmo}s timeout" >>"$res/$name.log"
	fi
	rm -rf "$tdir"
	# The results dir is on the 9p-shared host filesystem, cached in the guest: flush the
	# log before its status line exists, so a host reader that sees the line sees the whole
	# log. The line itself reaches the host by writeback (vm-run's init makes that ~1 s).
	sync "$res/$name.log" 2>/dev/null || sync
	echo "$name $rc $((end - start))" >>"$res/status"
done
exit 0
