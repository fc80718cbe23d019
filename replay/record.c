/* record.c: the recording half of record/replay — each call's result and the guest memory written for it go to the trace. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <x86intrin.h>

#include "replay/rr_calls.h"
#include "replay/rr_crew.h"
#include "replay/rr_session.h"
#include "vmm/mm.h"
#include "vmm/process.h"
#include "vmm/status.h"
#include "vmm/syscall.h"
#include "vmm/uaccess.h"

static struct rr_session *sess(struct thread *t)
{
	return t->dom->rr_ctx;
}

static void fail(struct rr_session *s, struct domain *d, const char *fmt, const char *a, const char *b)
{
	if (!s->failed) {
		fprintf(stderr, "pdvm record: ");
		fprintf(stderr, fmt, a, b);
		fputc('\n', stderr);
	}
	s->failed = true;
	dom_exit_group(d, EXIT_PDVM_ERROR);
}

static int live_procs(const struct domain *d)
{
	int n = 0;
	for (int i = 0; i < MAX_PROCS; i++)
		n += d->procs[i] && d->procs[i]->nthreads > 0;
	return n;
}

static bool shares_writable(const struct mm *mm)
{
	for (int i = 0; mm && i < mm->nvmas; i++)
		if ((mm->vmas[i].flags & MAP_SHARED) && ((mm->vmas[i].prot & PROT_WRITE) || (mm->vmas[i].flags & VMA_MAYWRITE)))
			return true;
	return false;
}

/* Memory two runners could share without the trace seeing it: page-table
 * views (vmm/crew.c) serialise the threads of ONE address space; several
 * processes are recorded only while each has its memory to itself. */
static const char *unseen_sharing(struct thread *t, uint64_t nr, const uint64_t a[6])
{
	struct domain *d = t->dom;
	bool new_proc = nr == SYS_fork || nr == SYS_vfork || (nr == SYS_clone && !(a[0] & CLONE_THREAD));
	if (new_proc && d->crew)
		return "a child process of a process with threads";
	if (new_proc && nr == SYS_clone && (a[0] & CLONE_VM) && !(a[0] & CLONE_VFORK))
		return "a child process sharing its parent's memory while both run (CLONE_VM without CLONE_VFORK)";
	if (new_proc && shares_writable(t->proc->mm))
		return "a child process sharing writable MAP_SHARED memory with its parent";
	if (nr == SYS_clone && (a[0] & CLONE_THREAD) && live_procs(d) > 1)
		return "threads in a domain of several processes";
	if (nr == SYS_mmap && (a[3] & MAP_SHARED) && (a[2] & PROT_WRITE) && live_procs(d) > 1)
		return "writable MAP_SHARED memory while several processes run";
	return NULL;
}

static bool rec_enter(struct thread *t, uint64_t nr, const uint64_t a[6], long *ret)
{
	struct rr_session *s = sess(t);
	struct rr_call c;
	rr_classify_thread(t, nr, a, &c);
	const char *shared = unseen_sharing(t, nr, a);
	if (shared) {
		c.cls = RR_REFUSE;
		c.why = shared;
	}
	struct rr_thr *th = rr_thr_of(s, t);
	pthread_mutex_lock(&s->lock);
	th->nranges = 0;
	th->overflow = false;
	if (c.cls == RR_REFUSE) {
		fail(s, t->dom, "%s: %s cannot be recorded yet; the recording stops here", syscall_name((int)nr), c.why);
		pthread_mutex_unlock(&s->lock);
		*ret = -ENOSYS;
		return true;
	}
	if (c.cls == RR_EINVAL || c.cls == RR_ENOSYS) {
		pthread_mutex_unlock(&s->lock);
		*ret = c.cls == RR_EINVAL ? -EINVAL : -ENOSYS;
		return true;
	}
	if (rr_last_exit(t, nr) && !s->exit_seen) {
		s->exit_crc = rr_memory_crc(t->dom, true, &s->pages, &s->npages);   /* TRACE_F_NONZERO_MEM */
		s->exit_seen = true;
	}
	pthread_mutex_unlock(&s->lock);
	return false;
}

static void rec_wrote(struct thread *t, uint64_t gva, size_t n)
{
	if (!t)
		return;   /* not for a call: the loader, a signal frame (made again on replay) */
	struct rr_session *s = sess(t);
	struct rr_thr *th = rr_thr_of(s, t);
	pthread_mutex_lock(&s->lock);
	if (th->nranges == th->cap) {
		int cap = th->cap ? 2 * th->cap : 16;
		struct rr_range *r = realloc(th->ranges, (size_t)cap * sizeof(*r));
		if (!r) {
			th->overflow = true;
			pthread_mutex_unlock(&s->lock);
			return;
		}
		th->ranges = r;
		th->cap = cap;
	}
	th->ranges[th->nranges++] = (struct rr_range){ gva, n };
	pthread_mutex_unlock(&s->lock);
}

/* The bytes of th->ranges as they are now, as trace writes (in buf). A
 * range that is partly unmapped keeps its readable head. */
static int collect(struct domain *d, struct rr_thr *th, struct trace_write *w, uint8_t **buf, uint64_t nr,
		   const uint64_t a[6], long ret)
{
	/* A read into a buffer fills only ret bytes of it: the rest is
	 * whatever the program had there, which its replay has too. */
	bool one_buf = nr == SYS_read || nr == SYS_pread64 || nr == SYS_recvfrom;
	for (int i = 0; one_buf && ret >= 0 && i < th->nranges; i++)
		if (th->ranges[i].gva == a[1] && th->ranges[i].len > (size_t)ret)
			th->ranges[i].len = (size_t)ret;
	size_t total = 0;
	int n = th->nranges < TRACE_MAX_WRITES ? th->nranges : TRACE_MAX_WRITES;
	for (int i = 0; i < n; i++)
		total += th->ranges[i].len;
	if (!(*buf = malloc(total ? total : 1)))
		return -ENOMEM;
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		size_t len = th->ranges[i].len, got = 0;
		while (got < len) {
			uint64_t va = th->ranges[i].gva + got;
			size_t c = PAGE_SIZE - (va & (PAGE_SIZE - 1));
			if (c > len - got)
				c = len - got;
			if (peek_user(d, *buf + off + got, va, c))
				break;
			got += c;
		}
		w[i] = (struct trace_write){ th->ranges[i].gva, (uint32_t)got, *buf + off };
		off += got;
	}
	return n;
}

static void rec_leave(struct thread *t, uint64_t nr, const uint64_t a[6], long ret)
{
	struct rr_session *s = sess(t);
	struct rr_call c;
	if (nr == SYS_exit || nr == SYS_exit_group)
		return;   /* they do not return: the exit record stands for them */
	rr_classify_thread(t, nr, a, &c);
	struct rr_thr *th = rr_thr_of(s, t);
	pthread_mutex_lock(&s->lock);
	if (s->failed) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	struct trace_event ev = { .kind = EV_SYSCALL, .tid = (uint32_t)t->tid, .nr = (uint32_t)nr, .ret = ret };
	memcpy(ev.a, a, sizeof(ev.a));
	if (c.cls == RR_WRITE)
		ev.data_crc = rr_sent_crc(t->dom, nr, a, ret);
	static struct trace_write w[TRACE_MAX_WRITES];
	uint8_t *buf = NULL;
	int n = 0, r = 0;
	/* Calls made again on replay rebuild their own writes. */
	if (c.cls != RR_EXECUTE && !(c.cls == RR_OPEN && rr_open_readonly(nr, a))) {
		if (th->overflow || th->nranges > TRACE_MAX_WRITES)
			r = -E2BIG;
		else
			n = collect(t->dom, th, w, &buf, nr, a, ret);
	}
	if (n < 0)
		r = n;
	ev.nwrites = (uint32_t)(n > 0 ? n : 0);
	if (!r)
		r = trace_put(s->w, &ev, w);
	free(buf);
	s->count++;
	th->nranges = 0;
	if (r)
		fail(s, t->dom, "%s: writing the trace: %s", syscall_name((int)nr), strerror(-r));
	pthread_mutex_unlock(&s->lock);
}

/* A signal is internal when the thread that takes it made it in its own
 * call (kill or raise to itself, SIGPIPE): its replay makes it again.
 * Any other (the host's, a timer's) is from outside: logged when taken. */
static bool internal(struct thread *t, struct process *p)
{
	struct thread *me = thread_self();
	return me && me->proc == p && (!t || t == me);
}

static bool rec_sent(struct thread *t, struct process *p, const struct ksiginfo *info)
{
	struct rr_session *s = p->dom->rr_ctx;
	uint64_t bit = SIGBIT(info->signo);
	if (internal(t, p))
		return true;
	pthread_mutex_lock(&s->lock);
	if (t && t->vcpu.id >= 0 && t->vcpu.id < MAX_THREADS)
		s->ext_thread[t->vcpu.id] |= bit;
	else
		p->rr_ext_sig |= bit;
	pthread_mutex_unlock(&s->lock);
	return true;
}

static uint64_t ext_of(const struct rr_session *s, const struct thread *t)
{
	return (t->vcpu.id >= 0 && t->vcpu.id < MAX_THREADS ? s->ext_thread[t->vcpu.id] : 0) | t->proc->rr_ext_sig;
}

/* Outside signals wait for a call's end (or interrupt one): the points a
 * replay finds again by counting calls. */
static uint64_t rec_hold(const struct thread *t)
{
	const struct rr_session *s = t->dom->rr_ctx;
	return t->at_call ? 0 : ext_of(s, t);
}

static void put_signal(struct rr_session *s, struct thread *t)
{
	static struct trace_write w[TRACE_MAX_WRITES];
	struct rr_thr *th = rr_thr_of(s, t);
	uint8_t *buf = NULL;
	int n = 0, r = 0;
	w[0] = (struct trace_write){ 0, sizeof(th->sig_info), (const uint8_t *)&th->sig_info };
	if (th->nranges >= TRACE_MAX_WRITES)
		r = -E2BIG;
	else if ((n = collect(t->dom, th, w + 1, &buf, 0, th->sig_ev.a, 0)) < 0)
		r = n;
	th->sig_ev.nwrites = 1 + (uint32_t)(n > 0 ? n : 0);
	if (rr_crew_tracing())
		fprintf(stderr, "[%d] rec signal %u flags %llu pos %llu\n", t->tid, th->sig_ev.nr,
			(unsigned long long)th->sig_ev.a[0], (unsigned long long)t->rr_pos);
	if (!r)
		r = trace_put(s->w, &th->sig_ev, w);
	free(buf);
	th->sig_open = false;
	th->nranges = 0;
	if (r)
		fail(s, t->dom, "signal %s: writing the trace: %s", strsignal(th->sig_ev.nr), strerror(-r));
}

static void rec_signal_begin(struct thread *t, int sig, const struct ksiginfo *info, bool taken)
{
	struct rr_session *s = sess(t);
	struct rr_thr *th = rr_thr_of(s, t);
	uint64_t bit = SIGBIT(sig);
	pthread_mutex_lock(&s->lock);
	if (s->failed || !(ext_of(s, t) & bit)) {
		if (rr_crew_tracing())
			fprintf(stderr, "[%d] rec signal %d internal pos %llu\n", t->tid, sig, (unsigned long long)t->rr_pos);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (t->vcpu.id >= 0 && t->vcpu.id < MAX_THREADS)
		s->ext_thread[t->vcpu.id] &= ~bit;
	t->proc->rr_ext_sig &= ~bit;
	th->sig_ev = (struct trace_event){ .kind = EV_SIGNAL, .tid = (uint32_t)t->tid, .nr = (uint32_t)sig };
	th->sig_ev.a[0] = taken ? EVS_TAKEN : t->intr.valid ? EVS_INTERRUPTED : 0;
	th->sig_ev.a[1] = s->count;
	th->sig_ev.a[2] = t->intr.valid ? t->intr.nr : 0;
	th->sig_info = *info;
	th->sig_open = true;
	th->nranges = 0;
	if (taken)
		put_signal(s, t);   /* the call's own event follows */
	pthread_mutex_unlock(&s->lock);
}

static void rec_signal_end(struct thread *t)
{
	struct rr_session *s = sess(t);
	struct rr_thr *th = rr_thr_of(s, t);
	pthread_mutex_lock(&s->lock);
	if (th->sig_open && !s->failed)
		put_signal(s, t);
	th->sig_open = false;
	pthread_mutex_unlock(&s->lock);
}

/* A trapped rdtsc/rdtscp: the host's counter (the vCPU threads are pinned,
 * so rdtscp's TSC_AUX names the CPU the guest runs on), logged. */
static bool rec_tsc(struct thread *t, bool rdtscp, uint64_t *tsc, uint32_t *aux)
{
	struct rr_session *s = sess(t);
	unsigned int a = 0;
	*tsc = rdtscp ? __rdtscp(&a) : __rdtsc();
	*aux = a;
	struct trace_event ev = { .kind = EV_TSC, .tid = (uint32_t)t->tid, .nr = rdtscp };
	ev.a[0] = *tsc;
	ev.a[1] = a;
	ev.a[3] = t->rr_pos;
	pthread_mutex_lock(&s->lock);
	/* Said at the first: a trace cut short replays with rdtsc trapped too,
	 * up to where it ends. */
	int r = s->failed || s->tsc_flagged ? 0 : trace_set_flags(s->w, TRACE_F_NONZERO_MEM | TRACE_F_TSC);
	s->tsc_flagged = true;
	if (!r && !s->failed)
		r = trace_put(s->w, &ev, NULL);
	if (r)
		fail(s, t->dom, "%s: writing the trace: %s", rdtscp ? "rdtscp" : "rdtsc", strerror(-r));
	pthread_mutex_unlock(&s->lock);
	return !r;
}

const struct rr_ops rr_record_ops = {
	.enter = rec_enter, .leave = rec_leave, .wrote = rec_wrote, .sent = rec_sent, .hold = rec_hold,
	.signal_begin = rec_signal_begin, .signal_end = rec_signal_end, .crew_log = rr_rec_crew_log, .tsc = rec_tsc,
};

void rr_record_stop(struct rr_session *s, struct domain *d)
{
	struct trace_event ev = { .kind = EV_EXIT, .ret = d->exit_status, .data_crc = s->exit_seen ? s->exit_crc : 0,
				  .count = s->count };
	pthread_mutex_lock(&s->lock);
	int r = s->failed ? -ECANCELED : trace_put(s->w, &ev, NULL);
	if (!r && s->pages) {
		struct trace_event pe = { .kind = EV_PAGES, .nwrites = 1 };
		struct trace_write w = { 0, (uint32_t)(s->npages * sizeof(*s->pages)), (const uint8_t *)s->pages };
		r = trace_put(s->w, &pe, &w);
	}
	/* Its replay traps rdtsc too, or refuses to run (vmm/domain.c). */
	if (!r && d->tsc_trap)
		r = trace_set_flags(s->w, TRACE_F_NONZERO_MEM | TRACE_F_TSC);
	if (!r)
		r = trace_finish(s->w, s->count);
	else
		trace_abort(s->w);
	s->w = NULL;
	if (r && !s->failed) {
		fprintf(stderr, "pdvm record: %s/%s: %s\n", s->dir, TRACE_EVENTS, strerror(-r));
		s->failed = true;
	}
	pthread_mutex_unlock(&s->lock);
}
