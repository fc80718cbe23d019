/* rr_queue.h: a replay's per-thread view of the trace (replay/rr_queue.c). */
#ifndef PDVM_RR_QUEUE_H
#define PDVM_RR_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replay/trace.h"

struct rr_session;

/* An event read ahead: an owned copy, its writes' bytes inside it. */
struct rr_qev {
	struct rr_qev *next;
	uint64_t idx;           /* its place in the trace (from 1) */
	struct trace_event ev;
	struct trace_write *wr;
};

/* The write-family calls read from the trace and not yet replayed, in
 * trace order: what the replay writes to its stdout/stderr again comes out
 * in the recording's order (rr_queue.c). */
struct rr_out {
	uint64_t idx;
	bool done;
};

#define RR_MAX_TQ 128   /* threads (and thread 0, the domain's own events) */
struct rr_tq {
	uint32_t tid;
	struct rr_qev *head, *tail;
};

/* Thread tid's next event (0: the exit, pages and end records), reading
 * ahead as needed; NULL at the end or on an error (rq_next says it). */
struct rr_qev *rq_peek(struct rr_session *s, uint32_t tid);
/* Takes it out of the queue: the caller frees it with rq_free. */
struct rr_qev *rq_take(struct rr_session *s, uint32_t tid);
void rq_free(struct rr_qev *q);
/* Takes it into s->ev and s->wr (valid until the next rq_next): 1, 0 at
 * the end, -1 with why. */
int rq_next(struct rr_session *s, uint32_t tid, char *why, size_t n);
void rq_free_all(struct rr_session *s);
/* The write-family event idx is replayed; the first still waiting to be
 * (UINT64_MAX: none). */
void rq_out_done(struct rr_session *s, uint64_t idx);
uint64_t rq_out_first(const struct rr_session *s);

#endif
