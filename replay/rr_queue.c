/* rr_queue.c: a replay reads the trace thread by thread — events read ahead for other threads wait in their own queues until those threads ask. */
#include <stdlib.h>
#include <string.h>

#include "replay/rr_calls.h"
#include "replay/rr_queue.h"
#include "replay/rr_session.h"

void rq_free(struct rr_qev *q)
{
	free(q);
}

/* An owned copy of the event just read (its writes point into the copy). */
static struct rr_qev *copy_event(const struct trace_event *ev, const struct trace_write *wr)
{
	size_t bytes = 0;
	for (uint32_t i = 0; i < ev->nwrites; i++)
		bytes += wr[i].len;
	struct rr_qev *q = malloc(sizeof(*q) + ev->nwrites * sizeof(struct trace_write) + bytes);
	if (!q)
		return NULL;
	q->next = NULL;
	q->ev = *ev;
	q->wr = (struct trace_write *)(q + 1);
	uint8_t *data = (uint8_t *)(q->wr + ev->nwrites);
	for (uint32_t i = 0; i < ev->nwrites; i++) {
		q->wr[i] = wr[i];
		memcpy(data, wr[i].data, wr[i].len);
		q->wr[i].data = data;
		data += wr[i].len;
	}
	return q;
}

static struct rr_tq *queue(struct rr_session *s, uint32_t tid, bool add)
{
	for (int i = 0; i < s->ntq; i++)
		if (s->tq[i].tid == tid)
			return &s->tq[i];
	if (!add)
		return NULL;
	/* An empty queue holds nothing of its thread's: it can be another
	 * thread's (a shell's children come and go). */
	for (int i = 0; i < s->ntq; i++)
		if (!s->tq[i].head) {
			s->tq[i].tid = tid;
			return &s->tq[i];
		}
	if (s->ntq == RR_MAX_TQ)
		return NULL;
	s->tq[s->ntq] = (struct rr_tq){ .tid = tid };
	return &s->tq[s->ntq++];
}

/* A write-family call (rr_calls.c's table says which). */
static bool is_write(const struct trace_event *ev)
{
	struct rr_call c;
	if (ev->kind != EV_SYSCALL)
		return false;
	rr_classify(ev->nr, ev->a, &c);
	return c.cls == RR_WRITE;
}

static int out_add(struct rr_session *s, uint64_t idx)
{
	if (s->out_head && s->out_head == s->out_n)
		s->out_head = s->out_n = 0;
	if (s->out_n == s->out_cap) {
		if (s->out_head) {
			memmove(s->outq, s->outq + s->out_head, (s->out_n - s->out_head) * sizeof(*s->outq));
			s->out_n -= s->out_head;
			s->out_head = 0;
		}
		if (s->out_n == s->out_cap) {
			size_t cap = s->out_cap ? 2 * s->out_cap : 64;
			struct rr_out *q = realloc(s->outq, cap * sizeof(*q));
			if (!q)
				return -1;
			s->outq = q;
			s->out_cap = cap;
		}
	}
	s->outq[s->out_n++] = (struct rr_out){ idx, false };
	return 0;
}

void rq_out_done(struct rr_session *s, uint64_t idx)
{
	for (size_t i = s->out_head; i < s->out_n && s->outq[i].idx <= idx; i++)
		if (s->outq[i].idx == idx)
			s->outq[i].done = true;
	while (s->out_head < s->out_n && s->outq[s->out_head].done)
		s->out_head++;
}

uint64_t rq_out_first(const struct rr_session *s)
{
	return s->out_head < s->out_n ? s->outq[s->out_head].idx : UINT64_MAX;
}

/* The events that are no thread's (exit, pages, end) queue as thread 0. */
static uint32_t tid_of(const struct trace_event *ev)
{
	return ev->kind == EV_SYSCALL || ev->kind == EV_SIGNAL || ev->kind == EV_CREW || ev->kind == EV_TSC ? ev->tid : 0;
}

struct rr_qev *rq_peek(struct rr_session *s, uint32_t tid)
{
	struct rr_tq *q = queue(s, tid, false);
	while ((!q || !q->head) && !s->eof && !s->qerr) {
		int k = trace_read(s->r, &s->rev, s->wr, s->qwhy, sizeof(s->qwhy));
		if (k <= 0) {
			s->eof = k == 0;
			s->qerr = k < 0;
			break;
		}
		struct rr_qev *e = copy_event(&s->rev, s->wr);
		struct rr_tq *into = queue(s, tid_of(&s->rev), true);
		if (!e || !into || (is_write(&s->rev) && out_add(s, s->nread + 1))) {
			snprintf(s->qwhy, sizeof(s->qwhy), "%s",
				 e && !into ? "more threads at once than a replay follows" : "out of memory");
			rq_free(e);
			s->qerr = true;
			break;
		}
		e->idx = ++s->nread;
		if (into->tail)
			into->tail->next = e;
		else
			into->head = e;
		into->tail = e;
		if (s->rev.kind == EV_END)
			s->eof = true;
		q = queue(s, tid, false);
	}
	return q ? q->head : NULL;
}

struct rr_qev *rq_take(struct rr_session *s, uint32_t tid)
{
	struct rr_qev *e = rq_peek(s, tid);
	if (!e)
		return NULL;
	struct rr_tq *q = queue(s, tid, false);
	q->head = e->next;
	if (!q->head)
		q->tail = NULL;
	e->next = NULL;
	return e;
}

int rq_next(struct rr_session *s, uint32_t tid, char *why, size_t n)
{
	struct rr_qev *e = rq_take(s, tid);
	if (!e) {
		if (s->qerr) {
			snprintf(why, n, "%s", s->qwhy);
			return -1;
		}
		return 0;
	}
	rq_free(s->cur);
	s->cur = e;
	s->ev = e->ev;
	for (uint32_t i = 0; i < e->ev.nwrites; i++)
		s->wr[i] = e->wr[i];
	return 1;
}

void rq_free_all(struct rr_session *s)
{
	for (int i = 0; i < s->ntq; i++) {
		for (struct rr_qev *e = s->tq[i].head, *n; e; e = n) {
			n = e->next;
			rq_free(e);
		}
	}
	s->ntq = 0;
	rq_free(s->cur);
	s->cur = NULL;
	free(s->outq);
	s->outq = NULL;
	s->out_n = s->out_head = s->out_cap = 0;
}
