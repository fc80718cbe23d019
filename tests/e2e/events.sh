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
stop_restore epoll-set-eventfd-timerfd-across-restore 1 / -- "$EV" snap
grep -q "^after: 2 ready" "$SCRATCH/epoll-set-eventfd-timerfd-across-restore/native.out" ||
	WHY="${WHY:+$WHY; }native did not see both events ready"
verdict epoll-set-eventfd-timerfd-across-restore
finish
