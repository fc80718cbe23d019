/* rr_session.c: starts and ends record and replay sessions (the hooks dom_run takes), and summarises a trace for --info. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replay/rr_session.h"
#include "vmm/crew.h"
#include "vmm/status.h"

static struct rr_session *session_new(const char *dir, bool replay)
{
	struct rr_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->replay = replay;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&s->out_cv, &a);
	pthread_condattr_destroy(&a);
	return s;
}

struct rr_session *rr_record_new(const char *dir, char *why, size_t n)
{
	struct rr_session *s = session_new(dir, false);
	if (!s) {
		snprintf(why, n, "out of memory");
		return NULL;
	}
	if (!(s->w = trace_create(dir, why, n))) {
		free(s);
		return NULL;
	}
	return s;
}

struct rr_session *rr_replay_new(const char *dir, char *why, size_t n)
{
	struct rr_session *s = session_new(dir, true);
	if (!s || !(s->wr = calloc(TRACE_MAX_WRITES, sizeof(*s->wr)))) {
		snprintf(why, n, "out of memory");
		free(s);
		return NULL;
	}
	if (!(s->r = trace_open(dir, why, n))) {
		free(s->wr);
		free(s);
		return NULL;
	}
	return s;
}

static int hook_start(struct domain *d, void *arg)
{
	struct rr_session *s = arg;
	int procs = 0;
	for (int i = 0; i < MAX_PROCS; i++)
		procs += d->procs[i] != NULL;
	if (procs != 1) {
		/* An image's domain may have more (a recording from an image). */
		fprintf(stderr, "pdvm %s: the domain has %d processes; the threads of one process are recorded from "
			"an image, not several processes yet\n", s->replay ? "replay" : "record", procs);
		s->failed = true;
		return EXIT_PDVM_ERROR;
	}
	d->rr_ctx = s;
	d->rr = s->replay ? &rr_replay_ops : &rr_record_ops;
	if (d->nthreads > 1) {
		/* An image's threads: each on a view of its own from the start,
		 * in the recording and in its replay alike (none runs yet). */
		int r = 0;
		for (int i = 0; i < MAX_THREADS && !r; i++) {
			struct thread *t = d->threads[i];
			if (t)
				r = d->crew ? crew_thread_new(t) : crew_activate(t);
		}
		if (r) {
			fprintf(stderr, "pdvm %s: the image's %d threads: page-table views: %s\n",
				s->replay ? "replay" : "record", d->nthreads, strerror(-r));
			d->rr = NULL;
			d->rr_ctx = NULL;
			s->failed = true;
			return EXIT_PDVM_ERROR;
		}
	}
	return 0;
}

static void hook_stop(struct domain *d, void *arg)
{
	struct rr_session *s = arg;
	if (s->replay)
		rr_replay_stop(s, d);
	else
		rr_record_stop(s, d);
}

bool rr_replaying(const struct rr_session *s)
{
	return s->replay;
}

int rr_tsc_mode(const struct rr_session *s)
{
	if (!s->replay)
		return RR_TSC_IF_CAN;
	return trace_flags(s->r) & TRACE_F_TSC ? RR_TSC_MUST : RR_TSC_NATIVE;
}

struct domain_hooks rr_hooks(struct rr_session *s)
{
	return (struct domain_hooks){ .start = hook_start, .stop = hook_stop, .arg = s };
}

int rr_session_end(struct rr_session *s, int status)
{
	if (!s)
		return status;
	if (s->failed)
		status = EXIT_PDVM_ERROR;
	if (s->w)
		trace_abort(s->w);   /* the domain never started */
	rq_free_all(s);
	trace_close(s->r);
	free(s->wr);
	for (int i = 0; i < MAX_THREADS; i++) {
		free(s->thr[i].ranges);
		free(s->thr[i].sig_writes);
	}
	free(s->pages);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->out_cv);
	free(s);
	return status;
}

int rr_trace_info(const char *dir, struct rr_info *info, char *why, size_t n)
{
	memset(info, 0, sizeof(*info));
	struct trace_reader *r = trace_open(dir, why, n);
	struct trace_write *wr = calloc(TRACE_MAX_WRITES, sizeof(*wr));
	uint32_t tids[64];
	int k = -1;
	if (!r || !wr) {
		if (!wr)
			snprintf(why, n, "out of memory");
		goto out;
	}
	info->nonzero_pages = trace_flags(r) & TRACE_F_NONZERO_MEM;
	info->tsc_trapped = trace_flags(r) & TRACE_F_TSC;
	struct trace_event ev;
	while ((k = trace_read(r, &ev, wr, why, n)) > 0) {
		info->events++;
		if (ev.kind == EV_SIGNAL)
			info->signals++;
		info->tsc += ev.kind == EV_TSC;
		if (ev.kind == EV_CREW) {
			info->crew_takes += ev.nr == CREW_TAKE && ev.a[0] != CREW_ALL;
			info->crew_moved += ev.nr == CREW_TAKE && ev.a[0] != CREW_ALL && ev.nwrites;
			info->crew_gives += ev.nr == CREW_GIVE || ev.nr == CREW_DROP;
			info->crew_stops += ev.nr == CREW_STOP;
			info->crew_stop_pages += ev.nr == CREW_STOP && ev.nwrites >= 2 ? ev.nwrites - 2 : 0;
			info->crew_holds += ev.nr == CREW_HOLD;
		}
		if (ev.kind == EV_PAGES)
			info->pages = ev.nwrites ? wr[0].len / sizeof(struct rr_page) : 0;
		if (ev.kind == EV_EXIT) {
			info->exit_status = ev.ret;
			info->mem_crc = ev.data_crc;
		}
		if (ev.kind != EV_SYSCALL)
			continue;
		info->syscalls++;
		info->by_nr[ev.nr < 512 ? ev.nr : 511]++;
		info->writes += ev.nwrites;
		for (uint32_t i = 0; i < ev.nwrites; i++)
			info->write_bytes += wr[i].len;
		uint32_t j;
		for (j = 0; j < info->threads && j < 64 && tids[j] != ev.tid; j++)
			;
		if (j == info->threads && j < 64)
			tids[info->threads++] = ev.tid;
	}
	if (k == 0)
		info->file_bytes = trace_reader_bytes(r);
out:
	trace_close(r);
	free(wr);
	return k == 0 ? 0 : -1;
}
