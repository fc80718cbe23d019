/* replayer.c: the replaying half of record/replay — each call is checked against the trace, then answered from it or made again; the first difference stops the replay. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "replay/rr_calls.h"
#include "replay/rr_crew.h"
#include "replay/rr_session.h"
#include "vmm/crew.h"
#include "vmm/files.h"
#include "vmm/ksignal.h"
#include "vmm/mm.h"
#include "vmm/vmfile.h"
#include "vmm/status.h"
#include "vmm/syscall.h"
#include "vmm/uaccess.h"

static struct rr_session *sess(struct thread *t)
{
	return t->dom->rr_ctx;
}

static void call_str(char *b, size_t n, uint64_t nr, const uint64_t a[6])
{
	snprintf(b, n, "%s(%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ")",
		 syscall_name((int)nr), a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The first difference: said once, and the domain ends. */
static void diverge(struct rr_session *s, struct domain *d, const char *what, const char *expected, const char *seen)
{
	struct thread *t = thread_self();
	if (!s->failed)
		fprintf(stderr, "pdvm replay: divergence at event %" PRIu64 " (thread %d): %s\n  recorded: %s\n  replay:   %s\n",
			s->count + 1, t ? t->tid : (int)s->ev.tid, what, expected, seen);
	s->failed = true;
	dom_exit_group(d, EXIT_PDVM_ERROR);
}

static void trace_broken(struct rr_session *s, struct domain *d, const char *why)
{
	if (!s->failed)
		fprintf(stderr, "pdvm replay: %s/%s: %s\n", s->dir, TRACE_EVENTS, why);
	s->failed = true;
	dom_exit_group(d, EXIT_PDVM_ERROR);
}

/* A stand-in for a descriptor the recording had and the replay must not
 * open: its number is what later calls name. */
static int placeholder(struct domain *d, long fd, bool cloexec)
{
	if (fd < 0)
		return 0;
	int h = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (h < 0)
		return -errno;
	struct ofd *o = ofd_new(h, O_RDWR, OFD_OTHER, "/dev/null (replay placeholder)");
	if (!o)
		return -ENOMEM;
	int r = fd_install_at(d, o, (int)fd, cloexec);
	return r < 0 ? r : 0;
}

static int placeholders(struct thread *t, const struct rr_call *c, const uint64_t a[6], long ret)
{
	bool cloexec = c->cloexec_arg >= 0 && (a[c->cloexec_arg] & c->cloexec_bit);
	if (ret < 0)
		return 0;
	if (c->cls == RR_NEWFD || c->cls == RR_OPEN)
		return placeholder(t->dom, ret, cloexec);
	if (c->cls == RR_NEWFD2) {
		int fds[2];
		if (peek_user(t->dom, fds, a[c->pair_arg], sizeof(fds)))
			return -EFAULT;
		int r = placeholder(t->dom, fds[0], cloexec);
		return r ? r : placeholder(t->dom, fds[1], cloexec);
	}
	return 0;
}

/* Sends t's next event, an EV_SIGNAL, to t as the recording got it, and
 * keeps the memory its delivery wrote for signal_end. */
static void inject(struct rr_session *s, struct thread *t)
{
	char why[16];
	if (rq_next(s, (uint32_t)t->tid, why, sizeof(why)) != 1)
		return;
	struct ksiginfo info;
	memset(&info, 0, sizeof(info));
	if (s->ev.nwrites && s->wr[0].len == sizeof(info))
		memcpy(&info, s->wr[0].data, sizeof(info));
	info.signo = (int32_t)s->ev.nr;
	struct rr_thr *th = rr_thr_of(s, t);
	free(th->sig_writes);
	th->sig_writes = NULL;
	th->sig_writes_len = 0;
	size_t len = 0;
	for (uint32_t i = 1; i < s->ev.nwrites; i++)
		len += 12 + s->wr[i].len;
	if (len && (th->sig_writes = malloc(len))) {
		for (uint32_t i = 1; i < s->ev.nwrites; i++) {
			memcpy(th->sig_writes + th->sig_writes_len, &s->wr[i].gva, 8);
			memcpy(th->sig_writes + th->sig_writes_len + 8, &s->wr[i].len, 4);
			memcpy(th->sig_writes + th->sig_writes_len + 12, s->wr[i].data, s->wr[i].len);
			th->sig_writes_len += 12 + s->wr[i].len;
		}
	}
	if (rr_crew_tracing())
		fprintf(stderr, "[%d] rep signal %d flags %llu pos %llu\n", t->tid, info.signo,
			(unsigned long long)s->ev.a[0], (unsigned long long)t->rr_pos);
	if (info.signo < 1 || info.signo > 64)
		return;
	s->injecting = true;
	sig_send_thread(t, &info);
	s->injecting = false;
}

/* A call that waits under a signal mask of its own (sigsuspend, ppoll,
 * pselect6, epoll_pwait) was interrupted under that mask in the recording:
 * the replay, which does not make the call, puts it in place as the call
 * would, so the signal is delivered under it and the old mask comes back
 * after (it is the one the frame saves). */
static void call_mask_in(struct thread *t, uint64_t nr, const uint64_t a[6])
{
	uint64_t ptr = 0, size = 0;
	struct { uint64_t ss, len; } ps;
	switch (nr) {
	case SYS_rt_sigsuspend: ptr = a[0], size = a[1]; break;
	case SYS_ppoll: ptr = a[3], size = a[4]; break;
	case SYS_epoll_pwait: case SYS_epoll_pwait2: ptr = a[4], size = a[5]; break;
	case SYS_pselect6:
		if (a[5] && !peek_user(t->dom, &ps, a[5], sizeof(ps)))
			ptr = ps.ss, size = ps.len;
		break;
	default: return;
	}
	if (ptr && !t->restore_sigmask)
		sig_mask_swap_in(t, ptr, size);
}

/* Outside signals the recording gave t at this point: before a call
 * (taken by it, or interrupting it: then true) or after one. */
static bool inject_due(struct rr_session *s, struct thread *t, bool before, uint64_t nr)
{
	const struct rr_qev *q;
	/* The takes of each delivery (after the call, or ending it) come
	 * before its signal: the recording logs a signal once its frame is
	 * written. */
	while (rr_crew_due(s, t, 1, false, 0) && (q = rq_peek(s, (uint32_t)t->tid)) && q->ev.kind == EV_SIGNAL) {
		const struct trace_event *e = &q->ev;
		uint64_t f = e->a[0];
		if (before != ((f & (EVS_TAKEN | EVS_INTERRUPTED)) != 0))
			return false;
		if ((f & EVS_INTERRUPTED) && e->a[2] != nr)
			return false;   /* the call differs: the check that follows says so */
		inject(s, t);
		if (f & EVS_INTERRUPTED)
			return true;
	}
	return false;
}

/* A write the replay makes again (to its own stdout or stderr) waits for
 * every write-family call before it in the trace: the output comes out in
 * the recording's order whichever thread or process gets there first.
 * The recording logs a call when it returns, so the order is that of the
 * calls' ends (two writes to one output ending at the same instant may
 * have gone out in the other order). */
static bool out_turn(struct rr_session *s, struct domain *d, uint64_t idx)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	time_t give_up = now.tv_sec + RR_WAIT_S;
	while (rq_out_first(s) < idx && !s->failed && !d->exiting) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= give_up)
			return false;
		struct timespec ts = { now.tv_sec + 1, now.tv_nsec };
		pthread_cond_timedwait(&s->out_cv, &d->lock, &ts);
	}
	return true;
}

static void out_done(struct rr_session *s, uint64_t idx)
{
	rq_out_done(s, idx);
	pthread_cond_broadcast(&s->out_cv);
}

/* A wait that returned a child (its pid) in the recording reaps that child
 * here too, once the replay's child has ended: the process table stays the
 * recording's (a later kill or wait finds what it found). The status and
 * usage written are the recording's. False: not such a wait. */
static bool reap_as_recorded(struct thread *t, uint64_t nr, const uint64_t a[6], const struct trace_event *ev,
			     const struct trace_write *wr)
{
	const struct syscall_desc *desc = syscall_lookup((int)nr);
	if (!desc || ev->ret < 0 || (nr == SYS_wait4 && ev->ret == 0))
		return false;
	uint64_t b[6];
	memcpy(b, a, sizeof(b));
	if (nr == SYS_wait4) {
		b[0] = (uint64_t)ev->ret;
		b[2] &= ~(uint64_t)WNOHANG;
	} else if (nr == SYS_waitid && a[0] != P_PIDFD && !(a[3] & WNOWAIT)) {
		int32_t pid = 0;
		for (uint32_t i = 0; i < ev->nwrites; i++)
			if (wr[i].gva == a[2] && wr[i].len >= 20)
				memcpy(&pid, wr[i].data + 16, 4);   /* siginfo's si_pid */
		if (pid <= 0)
			return false;
		b[0] = P_PID;
		b[1] = (uint64_t)pid;
		b[3] &= ~(uint64_t)WNOHANG;
	} else {
		return false;
	}
	desc->fn(t, b);
	return true;
}

/* Checks the call against its event e (taken out of the queues, so that
 * it stays this call's while the thread waits: the caller frees it) and
 * answers it from the trace (true) or lets it run again (false). */
static bool answer(struct rr_session *s, struct thread *t, uint64_t nr, const uint64_t a[6], long *ret,
		   const struct rr_qev *e)
{
	struct domain *d = t->dom;
	struct rr_thr *th = rr_thr_of(s, t);
	const struct trace_event *ev = &e->ev;
	const struct trace_write *wr = e->wr;
	char why[300], want[300], got[300];
	call_str(got, sizeof(got), nr, a);
	call_str(want, sizeof(want), ev->nr, ev->a);
	if (ev->nr != nr || memcmp(ev->a, a, sizeof(ev->a))) {
		diverge(s, d, "a different call", want, got);
		return true;
	}
	struct rr_call c;
	rr_classify_thread(t, nr, a, &c);
	if (c.cls == RR_WRITE && rr_sent_crc(d, nr, a, ev->ret) != ev->data_crc) {
		diverge(s, d, "the same call sends different bytes", want, got);
		return true;
	}
	if (c.cls == RR_OPEN && ev->ret >= 0 && rr_open_readonly(nr, a)) {
		/* The file itself where it is still there (a later mmap needs
		 * it), else a placeholder: reads come from the trace anyway. */
		const struct syscall_desc *desc = syscall_lookup((int)nr);
		long real = desc ? desc->fn(t, a) : -ENOSYS;
		if (real != ev->ret) {
			if (real >= 0)
				fd_close(d, (int)real);
			int r = placeholders(t, &c, a, ev->ret);
			if (r) {
				diverge(s, d, "cannot give the recorded fd a placeholder", want, got);
				return true;
			}
		}
		s->count++;
		*ret = ev->ret;
		return true;
	}
	bool out = c.cls == RR_WRITE && ev->ret > 0 && rr_to_stdio(d, a[0]);
	if (c.cls == RR_WRITE && !out)
		out_done(s, e->idx);
	if (out) {
		th->out_idx = e->idx;
		if (!out_turn(s, d, th->out_idx)) {
			snprintf(why, sizeof(why), "the output that comes before it in the trace never came (%d s)", RR_WAIT_S);
			diverge(s, d, why, want, got);
			return true;
		}
	}
	if (c.cls == RR_EXECUTE || out) {
		th->executing = true;
		th->exec_ret = ev->ret;
		/* A thread or process gets the recording's id whatever the
		 * order of clones elsewhere was. */
		if ((nr == SYS_clone || nr == SYS_fork || nr == SYS_vfork) && ev->ret > 0)
			d->next_tid = (int)ev->ret;
		return false;
	}
	if ((nr == SYS_wait4 || nr == SYS_waitid) && reap_as_recorded(t, nr, a, ev, wr) &&
	    (s->failed || d->exiting))
		return true;
	for (uint32_t i = 0; i < ev->nwrites; i++)
		if (wr[i].len && copy_to_user(d, wr[i].gva, wr[i].data, wr[i].len)) {
			diverge(s, d, "the recorded result does not fit the replay's memory", want, got);
			return true;
		}
	int r = placeholders(t, &c, a, ev->ret);
	if (r) {
		snprintf(why, sizeof(why), "cannot give fd %" PRId64 " a placeholder: %s", ev->ret, strerror(-r));
		diverge(s, d, why, want, got);
		return true;
	}
	s->count++;
	*ret = ev->ret;
	return true;
}

static bool rep_enter(struct thread *t, uint64_t nr, const uint64_t a[6], long *ret)
{
	struct rr_session *s = sess(t);
	struct domain *d = t->dom;
	char why[300], want[300], got[300];
	struct rr_thr *th = rr_thr_of(s, t);
	*ret = -EIO;
	th->executing = false;
	if (s->failed)
		return true;
	/* What its view went through up to this call and inside it. */
	if (!rr_crew_due(s, t, 0, false, 0))
		return true;
	if ((nr == SYS_exit || nr == SYS_exit_group) && !rr_last_exit(t, nr))
		return false;   /* a thread's or child process's end: no event (a give came above) */
	if (rr_last_exit(t, nr)) {
		/* The end: the trace's exit record follows the last call. */
		s->exit_crc = rr_memory_crc(d, trace_flags(s->r) & TRACE_F_NONZERO_MEM, &s->pages, &s->npages);
		s->exit_seen = true;
		return false;
	}
	if (inject_due(s, t, true, nr)) {
		*ret = -ERESTART_SYSCALL;   /* a signal interrupted it: its delivery settles it */
		call_mask_in(t, nr, a);
		return true;
	}
	const struct rr_qev *q = rq_peek(s, (uint32_t)t->tid);
	call_str(got, sizeof(got), nr, a);
	if (q && q->ev.kind == EV_CREW) {
		snprintf(want, sizeof(want), "its page %s of %#" PRIx64 " at its event %" PRIu64 " (it is at %" PRIu64 ")",
			 q->ev.nr == CREW_STOP ? "stop" : q->ev.nr == CREW_TAKE ? "fault" : "give",
			 q->ev.a[0] << 12, q->ev.a[3], t->rr_pos);
		diverge(s, d, "the recording's thread went on in user code; the replay's makes a call", want, got);
		return true;
	}
	if (q && q->ev.kind == EV_TSC) {
		rr_next_what(q, want, sizeof(want));
		diverge(s, d, "the recording's thread read the time-stamp counter; the replay's makes a call", want, got);
		return true;
	}
	int k = rq_next(s, (uint32_t)t->tid, why, sizeof(why));
	if (k < 0) {
		trace_broken(s, d, why);
		return true;
	}
	if (k == 0 || s->ev.kind != EV_SYSCALL) {
		diverge(s, d, "the recording ended here; the replay makes another call", "(the domain's end)", got);
		return true;
	}
	/* The event is this call's from here on, whatever other threads take
	 * while this one waits (an earlier write, a child's end). */
	struct rr_qev *e = s->cur;
	s->cur = NULL;
	bool answered = answer(s, t, nr, a, ret, e);
	rq_free(e);
	return answered;
}

static void rep_leave(struct thread *t, uint64_t nr, const uint64_t a[6], long ret)
{
	struct rr_session *s = sess(t);
	struct rr_thr *th = rr_thr_of(s, t);
	if (s->failed)
		return;
	if (!th->executing) {
		inject_due(s, t, false, nr);
		return;
	}
	th->executing = false;
	if (th->out_idx) {
		out_done(s, th->out_idx);
		th->out_idx = 0;
	}
	if (rr_last_exit(t, nr))
		return;
	if (ret != th->exec_ret) {
		char call[300], want[340], got[340];
		call_str(call, sizeof(call), nr, a);
		snprintf(want, sizeof(want), "%s = %" PRId64, call, th->exec_ret);
		snprintf(got, sizeof(got), "%s = %ld", call, ret);
		diverge(s, t->dom, "the same call, made again, has another result", want, got);
		return;
	}
	s->count++;
	inject_due(s, t, false, nr);
}

static void rep_wrote(struct thread *t, uint64_t gva, size_t n)
{
	(void)t, (void)gva, (void)n;
}

/* Signals from outside come only from the trace; the thread's own (kill
 * to itself, SIGPIPE) are made again by its calls. One from the host
 * (^C) ends the replay. */
static bool rep_sent(struct thread *t, struct process *p, const struct ksiginfo *info)
{
	struct rr_session *s = p->dom->rr_ctx;
	struct thread *me = thread_self();
	if (s->injecting || (me && me->proc == p && (!t || t == me)))
		return true;
	if (info->code == KSI_USER && info->kill.pid == 0 && !s->failed) {
		fprintf(stderr, "pdvm replay: stopped by signal %d from the host\n", info->signo);
		s->failed = true;
		dom_exit_group(p->dom, 128 + info->signo);
	}
	return false;
}

static uint64_t rep_hold(const struct thread *t)
{
	(void)t;
	return 0;
}

static void rep_signal_begin(struct thread *t, int sig, const struct ksiginfo *info, bool taken)
{
	(void)t, (void)sig, (void)info, (void)taken;
}

/* The injected signal's delivery wrote what the recording's did, but for
 * what came from the clock (a sleep's time left): the recorded bytes. */
static void rep_signal_end(struct thread *t)
{
	struct rr_thr *th = rr_thr_of(sess(t), t);
	for (size_t off = 0; th->sig_writes && off + 12 <= th->sig_writes_len;) {
		uint64_t gva;
		uint32_t len;
		memcpy(&gva, th->sig_writes + off, 8);
		memcpy(&len, th->sig_writes + off + 8, 4);
		if (off + 12 + len > th->sig_writes_len)
			break;
		copy_to_user(t->dom, gva, th->sig_writes + off + 12, len);
		off += 12 + len;
	}
	free(th->sig_writes);
	th->sig_writes = NULL;
	th->sig_writes_len = 0;
}

/* A trapped rdtsc/rdtscp: the recording's value, where the recording had it. */
static bool rep_tsc(struct thread *t, bool rdtscp, uint64_t *tsc, uint32_t *aux)
{
	struct rr_session *s = sess(t);
	char want[200], got[200];
	if (s->failed || !rr_crew_due(s, t, 0, false, 0))
		return false;
	struct rr_qev *q = rq_peek(s, (uint32_t)t->tid);
	snprintf(got, sizeof(got), "%s at %#llx (its event %" PRIu64 ")", rdtscp ? "rdtscp" : "rdtsc",
		 (unsigned long long)t->regs.rip, t->rr_pos);
	if (!q || q->ev.kind != EV_TSC || q->ev.a[3] != t->rr_pos || q->ev.nr != rdtscp) {
		rr_next_what(q, want, sizeof(want));
		diverge(s, t->dom, "the replay's thread reads the time-stamp counter where the recording's did not",
			want, got);
		return false;
	}
	q = rq_take(s, (uint32_t)t->tid);
	*tsc = q->ev.a[0];
	*aux = (uint32_t)q->ev.a[1];
	rq_free(q);
	return true;
}

const struct rr_ops rr_replay_ops = {
	.enter = rep_enter, .leave = rep_leave, .wrote = rep_wrote, .sent = rep_sent, .hold = rep_hold,
	.signal_begin = rep_signal_begin, .signal_end = rep_signal_end, .crew_sync = rr_rep_crew_sync,
	.tsc = rep_tsc,
};

/* The memory differs at exit: which pages, as far as the trace says. */
static void report_pages(struct rr_session *s, struct domain *d, const struct rr_page *rec, size_t nrec, uint32_t want)
{
	size_t i = 0, j = 0, differ = 0;
	uint64_t first = 0;
	const struct rr_page *got = s->pages;
	size_t ngot = got ? s->npages : 0;
	while (i < nrec || j < ngot) {
		uint64_t a = i < nrec ? rec[i].gva : UINT64_MAX, b = j < ngot ? got[j].gva : UINT64_MAX;
		bool same = a == b && rec[i].crc == got[j].crc;
		if (!same && !differ++)
			first = a < b ? a : b;
		i += a <= b;
		j += b <= a;
	}
	char what[4400], want_s[64], got_s[64];
	const struct vma *v = dom_mm(d) ? mm_vma_at(dom_mm(d), first) : NULL;
	if (rec && got)
		snprintf(what, sizeof(what), "the memory differs at exit, in %zu of %zu pages (the first at %#" PRIx64 "%s%s)",
			 differ, nrec, first, v && v->file ? ", in a mapping of " : "", v && v->file ? v->file->path : "");
	else
		snprintf(what, sizeof(what), "the memory differs at exit");
	snprintf(want_s, sizeof(want_s), "memory crc32 %08x", want);
	snprintf(got_s, sizeof(got_s), "memory crc32 %08x", s->exit_crc);
	if (!s->failed)
		fprintf(stderr, "pdvm replay: divergence at the end (after %" PRIu64 " calls): %s\n  recorded: %s\n  replay:   %s\n",
			s->count, what, want_s, got_s);
	s->failed = true;
	dom_exit_group(d, EXIT_PDVM_ERROR);
}

void rr_replay_stop(struct rr_session *s, struct domain *d)
{
	char why[300], want[64], got[64];
	if (s->failed)
		return;
	int k = rq_next(s, 0, why, sizeof(why));
	if (k < 0) {
		trace_broken(s, d, why);
		return;
	}
	if (k == 0 || s->ev.kind != EV_EXIT) {
		snprintf(want, sizeof(want), "%s", k && s->ev.kind == EV_SYSCALL ? syscall_name((int)s->ev.nr) : "?");
		diverge(s, d, "the replay ended before the recording did", want, "(the domain's end)");
		return;
	}
	if (s->ev.ret != d->exit_status) {
		snprintf(want, sizeof(want), "exit status %" PRId64, s->ev.ret);
		snprintf(got, sizeof(got), "exit status %d", d->exit_status);
		diverge(s, d, "another exit status", want, got);
		return;
	}
	uint32_t want_crc = s->ev.data_crc;
	int k2 = rq_next(s, 0, why, sizeof(why));
	const struct rr_page *rec = NULL;
	size_t nrec = 0;
	if (k2 == 1 && s->ev.kind == EV_PAGES && s->ev.nwrites == 1) {
		rec = (const struct rr_page *)s->wr[0].data;
		nrec = s->wr[0].len / sizeof(*rec);
	}
	/* rec points into the event taken: compare before taking the next. */
	if (want_crc && (!s->exit_seen || s->exit_crc != want_crc)) {
		report_pages(s, d, rec, nrec, want_crc);
		return;
	}
	if (rec)
		k2 = rq_next(s, 0, why, sizeof(why));
	if (k2 != 1 || s->ev.kind != EV_END)
		trace_broken(s, d, k2 < 0 ? why : "no end record after the exit record");
}
