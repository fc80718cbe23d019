/* rr_crew.c: record/replay of threads' page-table views — a recording logs each take, give and stop (vmm/crew.h); a replay makes each thread's view go through the same at the same positions. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/rr_crew.h"
#include "replay/rr_session.h"
#include "vmm/crew.h"
#include "vmm/status.h"
#include "vmm/syscall.h"

static const char *kind_name(uint32_t k)
{
	return k == CREW_TAKE ? "take" : k == CREW_GIVE ? "give" : k == CREW_STOP ? "stop" : k == CREW_HOLD ? "hold" :
	       k == CREW_DROP ? "drop" : "?";
}

bool rr_crew_tracing(void)
{
	static int on = -1;
	if (on < 0)
		on = getenv("PDVM_CREW_TRACE") != NULL;
	return on;
}

static void show(const char *side, const struct thread *t, const struct crew_ev *e)
{
	if (rr_crew_tracing())
		fprintf(stderr, "[%d] %s %s pos %" PRIu64 " page %#" PRIx64 " flags %u id %" PRIu64 " waits %u pages %u rip %#llx\n",
			t->tid, side, kind_name(e->kind), e->pos, e->vpn == CREW_ALL ? e->vpn : e->vpn << 12, e->flags,
			e->id, e->nwaits, e->kind == CREW_DROP ? (unsigned)e->len : e->npages, (unsigned long long)t->regs.rip);
}

void rr_rec_crew_log(struct thread *t, const struct crew_ev *e)
{
	show("rec", t, e);
	struct rr_session *s = t->dom->rr_ctx;
	static struct trace_write w[TRACE_MAX_WRITES];
	struct trace_event ev = { .kind = EV_CREW, .tid = (uint32_t)t->tid, .nr = e->kind };
	ev.a[0] = e->vpn;
	ev.a[1] = e->flags;
	ev.a[2] = e->id;
	ev.a[3] = e->pos;
	ev.a[4] = e->len;
	pthread_mutex_lock(&s->lock);
	if (s->failed) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	uint32_t n = 0;
	if (e->kind == CREW_TAKE && e->nwaits)
		w[n++] = (struct trace_write){ 0, e->nwaits * 8, (const uint8_t *)e->waits };
	if (e->kind == CREW_STOP) {
		w[n++] = (struct trace_write){ 0, sizeof(*e->regs), (const uint8_t *)e->regs };
		w[n++] = (struct trace_write){ 1, e->xsave_len, e->xsave };
		for (uint32_t i = 0; i < e->npages && n < TRACE_MAX_WRITES; i++) {
			size_t avail;
			const uint8_t *p = mm_user_page_in(t->proc->mm, e->pages[i], false, &avail);
			if (p && avail >= PAGE_SIZE)
				w[n++] = (struct trace_write){ e->pages[i], PAGE_SIZE, p };
		}
		if (e->npages + 2 > TRACE_MAX_WRITES) {
			fprintf(stderr, "pdvm record: thread %d holds %u pages for writing, more than a stop can log (%d); "
				"the recording stops here\n", t->tid, e->npages, TRACE_MAX_WRITES - 2);
			s->failed = true;
			pthread_mutex_unlock(&s->lock);
			dom_exit_group(t->dom, EXIT_PDVM_ERROR);
			return;
		}
	}
	ev.nwrites = n;
	int r = trace_put(s->w, &ev, w);
	if (r) {
		fprintf(stderr, "pdvm record: writing the trace: %s\n", strerror(-r));
		s->failed = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (r)
		dom_exit_group(t->dom, EXIT_PDVM_ERROR);
}

static void crew_diverge(struct rr_session *s, struct thread *t, const char *what)
{
	if (!s->failed)
		fprintf(stderr, "pdvm replay: divergence in thread %d (its event %" PRIu64 "): %s\n", t->tid, t->rr_pos,
			what);
	s->failed = true;
	dom_exit_group(t->dom, EXIT_PDVM_ERROR);
}

bool rr_crew_due(struct rr_session *s, struct thread *t, uint64_t ahead, bool run, uint64_t until)
{
	for (;;) {
		if (s->failed)
			return false;
		struct rr_qev *q = rq_peek(s, (uint32_t)t->tid);
		if (!q || q->ev.kind != EV_CREW)
			return true;
		uint64_t pos = q->ev.a[3];
		if (q->ev.nr == CREW_STOP ? !(run && !(t->rr_pos & 1) && pos == t->rr_pos + 2) : pos > t->rr_pos + ahead)
			return true;
		q = rq_take(s, (uint32_t)t->tid);
		struct crew_ev e = { .kind = q->ev.nr, .pos = pos, .vpn = q->ev.a[0], .flags = (uint32_t)q->ev.a[1],
				     .id = q->ev.a[2], .len = q->ev.a[4] };
		uint64_t *pages = NULL;
		const uint8_t *data = NULL;
		if (e.kind == CREW_TAKE && q->ev.nwrites) {
			e.waits = (const uint64_t *)q->wr[0].data;
			e.nwaits = q->wr[0].len / 8;
		}
		if (e.kind == CREW_STOP && q->ev.nwrites >= 2 && q->wr[0].len == sizeof(struct kvm_regs)) {
			e.regs = (const struct kvm_regs *)q->wr[0].data;
			e.xsave = q->wr[1].data;
			e.xsave_len = q->wr[1].len;
			e.npages = q->ev.nwrites - 2;
			pages = malloc((e.npages + 1) * sizeof(*pages));
			for (uint32_t i = 0; pages && i < e.npages; i++)
				pages[i] = q->wr[2 + i].gva;
			e.pages = pages;
			data = e.npages ? q->wr[2].data : NULL;
		}
		show("rep", t, &e);
		int r = e.kind == CREW_STOP && !pages ? -ENOMEM : crew_apply(t, &e, data);
		free(pages);
		if (r) {
			char what[200];
			snprintf(what, sizeof(what), "the recording's %s of page %#" PRIx64 " cannot be replayed: %s",
				 kind_name(e.kind), e.vpn << 12,
				 r == -ETIMEDOUT ? "the give it waits for never came" : strerror(-r));
			rq_free(q);
			crew_diverge(s, t, what);
			return false;
		}
		rq_free(q);
		if (until && e.kind == CREW_TAKE && e.vpn == until)
			return true;    /* the fault's own take: the access goes on */
	}
}

void rr_next_what(const struct rr_qev *q, char *b, size_t n)
{
	if (!q)
		snprintf(b, n, "nothing");
	else if (q->ev.kind == EV_CREW)
		snprintf(b, n, "%s", kind_name(q->ev.nr));
	else if (q->ev.kind == EV_SYSCALL)
		snprintf(b, n, "%s", syscall_name((int)q->ev.nr));
	else if (q->ev.kind == EV_TSC)
		snprintf(b, n, "%s at its event %" PRIu64, q->ev.nr ? "rdtscp" : "rdtsc", q->ev.a[3]);
	else
		snprintf(b, n, "a signal");
}

bool rr_rep_crew_sync(struct thread *t, uint64_t vpn, bool write)
{
	struct rr_session *s = t->dom->rr_ctx;
	if (!rr_crew_due(s, t, 0, vpn == 0, vpn))
		return false;
	if (vpn && !crew_holds(t, vpn, write)) {
		char what[200];
		struct rr_qev *q = rq_peek(s, (uint32_t)t->tid);
		char next[100];
		rr_next_what(q, next, sizeof(next));
		snprintf(what, sizeof(what), "a page fault the recording did not have (%s at %#" PRIx64 "; next recorded: %s)",
			 write ? "write" : "read", vpn << 12, next);
		crew_diverge(s, t, what);
		return false;
	}
	return true;
}
