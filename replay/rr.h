/* rr.h: record/replay sessions as the command line uses them — a recording writes a trace while a domain runs, a replay runs it again against the trace. */
#ifndef PDVM_REPLAY_RR_H
#define PDVM_REPLAY_RR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/domain.h"

struct rr_session;

/* A recording into DIR (which must exist, without a trace in it). */
struct rr_session *rr_record_new(const char *dir, char *why, size_t n);
/* A replay of the trace in DIR. */
struct rr_session *rr_replay_new(const char *dir, char *why, size_t n);
/* The hooks dom_run takes: they set d->rr at the start and end the trace
 * (a recording) or check its end (a replay) when the domain stops. */
struct domain_hooks rr_hooks(struct rr_session *s);
bool rr_replaying(const struct rr_session *s);
/* spec->rr_tsc for the session: a recording traps rdtsc where it can, a
 * replay where its recording did. */
int rr_tsc_mode(const struct rr_session *s);
/* Frees s after dom_run returned status; returns the status the command
 * ends with: a replay that diverged, or a recording that could not be
 * written, is EXIT_PDVM_ERROR whatever the program did. */
int rr_session_end(struct rr_session *s, int status);

/* What --info prints of a trace: 0, or -1 with why. */
struct rr_info {
	uint64_t events, syscalls, writes, write_bytes, file_bytes;
	uint64_t by_nr[512];
	uint32_t threads;
	int64_t exit_status;
	uint32_t mem_crc;
	uint64_t pages;
	bool nonzero_pages;         /* pages counts only those not all zero (TRACE_F_NONZERO_MEM) */
	uint64_t signals;           /* from outside, taken where the replay gives them again */
	uint64_t tsc;               /* trapped rdtsc/rdtscp reads (TRACE_F_TSC) */
	bool tsc_trapped;
	/* Threads' page-table views (vmm/crew.h): pages taken (faults), of
	 * them taken from another thread (moved), given, and threads stopped
	 * in user code to give. */
	uint64_t crew_takes, crew_moved, crew_gives, crew_stops, crew_stop_pages;
	uint64_t crew_holds;        /* adaptive hold changes (vmm/crew.c) */
};
int rr_trace_info(const char *dir, struct rr_info *info, char *why, size_t n);

/* replay/rr_state.c: shared by both sides. */
/* One page of the memory a recording compares at exit. */
struct rr_page {
	uint64_t gva;
	uint32_t crc;
} __attribute__((packed));
/* crc32 of every present page of the domain's writable mappings, with
 * their addresses (nonzero: of those not all zero): equal memory at exit.
 * With pages, also each page's crc (*pages malloc'ed, *npages of them;
 * NULL on no memory). */
uint32_t rr_memory_crc(struct domain *d, bool nonzero, struct rr_page **pages, size_t *npages);
/* The call ends the domain (exit_group of its first process, or exit of
 * that process's last thread): the exit record stands for it. */
bool rr_last_exit(const struct thread *t, uint64_t nr);
struct rr_call;
/* rr_classify for thread t's call: a signal sent to another thread or
 * process is answered from the trace (its delivery there is logged), not
 * made again. */
void rr_classify_thread(const struct thread *t, uint64_t nr, const uint64_t a[6], struct rr_call *c);
/* Whether fd is the domain's own stdin/stdout/stderr (a replay shows what
 * is written there again). */
bool rr_to_stdio(struct domain *d, uint64_t fd);
/* crc32 of the bytes a write-family call sent (ret of them), or 0. */
uint32_t rr_sent_crc(struct domain *d, uint64_t nr, const uint64_t a[6], long ret);

#endif
