/* record_cli.h: `pdvm record` and `pdvm replay` — the trace directory, its meta.json, and a run of the domain with record/replay's hooks. */
#ifndef PDVM_RECORD_CLI_H
#define PDVM_RECORD_CLI_H

#include <stdint.h>

struct rr_session;

/* What `pdvm run`'s code needs to run a domain for a recording or a replay. */
struct run_rr {
	struct rr_session *s;
	uint8_t at_random[16];
	int first_pid;          /* the recording's first pid, which the replay's must be */
	int cpu;                /* the host CPU the run's vCPU threads are pinned to */
};
/* Whether this process may run on rr->cpu, where the vCPU threads go
 * (spec->vcpu_cpu): the guest's cpuid (leaf 1's APIC id) and rdtscp, which
 * run natively on a PVM host, then name the same CPU in the recording and
 * its replay. 0, or -1 with a message on stderr. */
int rr_pin(const struct run_rr *rr);
/* `pdvm run` with OPTIONS... CONFIG|-- PROGRAM in argv (argv[0] the command's
 * name), under record/replay when rr is given. Returns pdvm's exit status. */
typedef int (*run_fn)(int argc, char **argv, struct run_rr *rr);

int cmd_record(int argc, char **argv, run_fn run);
/* `pdvm restore` of argv, under record/replay when rr is given (restore_cli.c). */
int cmd_restore_rr(int argc, char **argv, struct run_rr *rr);
int cmd_replay(int argc, char **argv, run_fn run);

#endif
