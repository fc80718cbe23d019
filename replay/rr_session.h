/* rr_session.h: a record or replay session's state, private to replay/ (record.c and replayer.c fill the two halves). */
#ifndef PDVM_RR_SESSION_H
#define PDVM_RR_SESSION_H

#include <pthread.h>

#include "replay/rr.h"
#include "replay/rr_queue.h"
#include "replay/trace.h"
#include "vmm/ksignal.h"
#include "vmm/rr.h"

/* How long a replaying thread waits for another's part of the trace (a
 * give, an earlier write) before it calls the replay diverged. */
#define RR_WAIT_S 20

struct rr_range {
	uint64_t gva;
	size_t len;
};

/* What one thread has under way, by vCPU id: another thread's call may
 * come in the middle of it (a thread waiting for a page lets the domain
 * lock go, vmm/crew.c). */
struct rr_thr {
	/* recording */
	struct rr_range *ranges;    /* guest memory written for its current call */
	int nranges, cap;
	bool overflow;              /* more than TRACE_MAX_WRITES ranges */
	bool sig_open;              /* a delivery is under way: sig_ev collects its writes */
	struct trace_event sig_ev;
	struct ksiginfo sig_info;
	/* replay */
	bool executing;             /* its call runs again: leave() checks its result */
	uint64_t out_idx;           /* the write-family event it replays (0: none) */
	int64_t exec_ret;
	uint8_t *sig_writes;        /* the injected signal's delivery writes, for signal_end */
	size_t sig_writes_len;
};

struct rr_session {
	bool replay;
	char dir[4096];
	pthread_mutex_t lock;
	uint64_t count;             /* calls recorded, or replayed so far */
	bool failed;                /* a recording that could not go on, or a replay that diverged */
	bool exit_seen;             /* the domain's exit call came (exit_crc holds its memory) */
	bool tsc_flagged;           /* recording: the header says rdtsc traps (TRACE_F_TSC) */
	uint32_t exit_crc;
	struct rr_page *pages;      /* the memory at exit, page by page */
	size_t npages;
	/* recording */
	struct trace_writer *w;
	uint64_t ext_thread[MAX_THREADS]; /* pending signals from outside, by vcpu id (thread-directed) */
	/* replay */
	struct trace_reader *r;
	struct trace_event ev;      /* the event of the call being replayed */
	struct trace_write *wr;
	struct trace_event rev;     /* the event the queues read last */
	struct rr_tq tq[RR_MAX_TQ]; /* events read ahead, by thread (rr_queue.c) */
	int ntq;
	struct rr_qev *cur;         /* the one in ev and wr */
	uint64_t nread;             /* events read from the trace */
	struct rr_out *outq;        /* write-family events not yet replayed (rr_queue.h) */
	size_t out_head, out_n, out_cap;
	pthread_cond_t out_cv;      /* with the domain lock: a write was replayed */
	bool eof, qerr;
	char qwhy[300];

	bool injecting;             /* a signal from the trace is being sent */
	struct rr_thr thr[MAX_THREADS];
};

static inline struct rr_thr *rr_thr_of(struct rr_session *s, const struct thread *t)
{
	return &s->thr[t->vcpu.id >= 0 && t->vcpu.id < MAX_THREADS ? t->vcpu.id : 0];
}

extern const struct rr_ops rr_record_ops, rr_replay_ops;

/* The domain stops: a recording writes its end, a replay checks it. */
void rr_record_stop(struct rr_session *s, struct domain *d);
void rr_replay_stop(struct rr_session *s, struct domain *d);

#endif
