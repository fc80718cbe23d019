#!/bin/bash
# events.sh: epoll, eventfd and timerfd (issue 5) — their semantics against native Linux, and an epoll set with an eventfd count and an expired oneshot timer carried across snapshot --stop and restore.
# timeout: 240
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
EV=$B/guest/dyn/evtest
need_file "$EV"
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

compare epoll-eventfd-timerfd-semantics -- "$EV"

# Across a snapshot: the output of the run and the restore, together, is native's.
native_bg "$SCRATCH/native" "$EV" snap
: >"$SCRATCH/run.out"
start_run ev "$SCRATCH/run.out" "$SCRATCH/run.err" -- "$EV" snap
pid=$BGPID
wait_lines "$SCRATCH/run.out" 1 "$pid"
snap --stop ev "$SCRATCH/img"
wait_pid "$pid" 30
restore_fg "$SCRATCH/rest.out" "$SCRATCH/rest.err" "$SCRATCH/img"
wait "$NATPID"
if [ "$SRC" = 0 ] && [ "$RRC" = 0 ] && grep -q "^after: 2 ready" "$SCRATCH/native" &&
   concat_is_native "$SCRATCH/native" "$SCRATCH/run.out" "$SCRATCH/rest.out"; then
	pass "epoll-set-eventfd-timerfd-across-restore"
else
	fail "epoll-set-eventfd-timerfd-across-restore" "snapshot $SRC $(head -c 300 "$SERR"); restore $RRC; $(diff_native "$SCRATCH/native" "$SCRATCH/run.out" "$SCRATCH/rest.out") $(tails "$SCRATCH/rest.err")"
fi
finish
