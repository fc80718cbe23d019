#!/bin/bash
# hostile.sh: 100,000 random syscalls with hostile arguments (fixed seed) inside pdvm: the VMM must survive and every result must be a Linux errno or success.
# timeout: 420
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/hostile"

CALLS=${HOSTILE_CALLS:-100000}
SEED=${HOSTILE_SEED:-20240601}
# shellcheck disable=SC2034 # used by run_pdvm in lib.bash
PDVM_TIMEOUT=${PDVM_TIMEOUT_HOSTILE:-400}

run_pdvm -- "$GUEST/hostile" "$CALLS" "$SEED"
summary=$(grep '^hostile: done' "$OUT")
if [ "$RC" = 0 ] && [ -n "$summary" ] && [[ "$summary" == *" invalid=0 "* ]] && [[ "$summary" == *" alive=1 "* ]]; then
	pass "hostile-$CALLS-calls"
	echo "# $summary"
	grep '^hostile: errno histogram' "$OUT" | sed 's/^/# /'
else
	fail "hostile-$CALLS-calls" "$(grep -m5 'not an errno' "$OUT")
$(last_output)
(rerun with HOSTILE_TRACE=1 in the domain's env to see each call: pdvm run --env HOSTILE_TRACE=1 -- $GUEST/hostile $CALLS $SEED)"
fi

# The VMM is still healthy afterwards: a normal program runs.
run_pdvm -- /bin/busybox echo still alive
if [ "$RC" = 0 ] && [ "$(cat "$OUT")" = "still alive" ]; then pass "pdvm-works-afterwards"; else fail "pdvm-works-afterwards" "$(last_output)"; fi

finish
