/* exl_serve.c: the VMM thread that answers exitless system calls — polls the slots, takes a call once, runs it if it cannot block, and sleeps when the domain goes quiet until a call's exit rings for it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "crew.h"
#include "status.h"
#include "domain.h"
#include "exl.h"
#include "rr.h"
#include "fault.h"
#include "files.h"
#include "syscall.h"
#include "trap.h"
#include "vfilter.h"

/* The server spins this long without a call before it sleeps: long enough
 * to span the gap between two calls of a busy program (one `syscall`
 * costs ~20 us on the PVM host measured), short enough that a program
 * between calls (an exec, a fork) does not lose a CPU to it: 2 ms made
 * 200 fork+exec+wait of busybox true 12% slower than the exit path on
 * 2 CPUs; 0.5 ms, even. */
#define IDLE_NS         (500 * 1000ULL)

static __thread bool serving;

bool exl_serving(void)
{
	return serving;
}

static struct ofd *ofd_of(struct thread *t, uint64_t fd)
{
	return fd <= INT32_MAX ? fd_peek(t->dom, (int)fd) : NULL;
}

/* A file call that completes without waiting: regular files, directories
 * and the memory devices (files.c's may_block). */
static bool file_never_blocks(struct thread *t, uint64_t fd)
{
	struct ofd *o = ofd_of(t, fd);
	return o && o->kind == OFD_FILE && !o->may_block;
}

/* A read of a pipe or socket (only a socket for the socket calls): one
 * that would wait goes back to the exit before it has read anything
 * (wait_slices, io_bounce), so any may come here but MSG_WAITALL's, which
 * waits after a partial read. A write there only if it never waits:
 * Linux's blocking write goes on until all is written, and the server
 * could not stop half way. */
static bool stream_ok(struct thread *t, uint64_t fd, bool sock_call, bool write, uint64_t flags)
{
	struct ofd *o = ofd_of(t, fd);
	if (!o || (o->kind != OFD_SOCKET && (sock_call || o->kind != OFD_PIPE)))
		return false;
	if (!write)
		return !(flags & MSG_WAITALL);
	return (o->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
}

bool exl_fast_call(struct thread *t, uint64_t nr, const uint64_t a[6])
{
	if (!exl_fast_nr(nr))
		return false;
	/* A call the operator's profile does anything but allow takes the
	 * exit, where gfilter_apply answers it (a signal, a log line). */
	uint16_t e;
	if (t->dom->gfilter && gfilter_check(t->dom->gfilter, nr, a, &e) != GF_ALLOW)
		return false;
	switch (nr) {
	case SYS_read: case SYS_readv:
		return file_never_blocks(t, a[0]) || stream_ok(t, a[0], false, false, 0);
	case SYS_write: case SYS_writev:
		return file_never_blocks(t, a[0]) || stream_ok(t, a[0], false, true, 0);
	case SYS_recvfrom:
		return stream_ok(t, a[0], true, false, a[3]);
	case SYS_recvmsg:
		return stream_ok(t, a[0], true, false, a[2]);
	case SYS_sendto:
		return stream_ok(t, a[0], true, true, a[3]);
	case SYS_sendmsg:
		return stream_ok(t, a[0], true, true, a[2]);
	case SYS_pread64: case SYS_pwrite64: case SYS_lseek: case SYS_fstat: case SYS_getdents64:
	case SYS_close:
		return file_never_blocks(t, a[0]);
	case SYS_fcntl:
		/* The descriptor flags and a dup, never a lock (F_SETLKW waits). */
		return a[1] == F_GETFD || a[1] == F_SETFD || a[1] == F_GETFL || a[1] == F_DUPFD ||
		       a[1] == F_DUPFD_CLOEXEC;
	case SYS_ioctl: {
		/* The descriptor requests, and anything on a file that is not a
		 * character device (ENOTTY); a terminal's may wait (TCSETSW). */
		struct ofd *o = ofd_of(t, a[0]);
		return a[1] == FIOCLEX || a[1] == FIONCLEX || a[1] == FIONBIO || a[1] == FIONREAD ||
		       (o && !S_ISCHR(o->type));
	}
	default:
		return true;
	}
}

bool exl_fast_nr(uint64_t nr)
{
	switch (nr) {
	/* identity: plain data */
	case SYS_getpid: case SYS_gettid: case SYS_getppid: case SYS_getuid: case SYS_geteuid:
	case SYS_getgid: case SYS_getegid: case SYS_getpgrp: case SYS_uname: case SYS_getcwd:
	/* files that never block (exl_fast_call checks the fd) */
	case SYS_read: case SYS_write: case SYS_pread64: case SYS_pwrite64: case SYS_readv:
	case SYS_writev: case SYS_lseek: case SYS_fstat: case SYS_getdents64: case SYS_close:
	case SYS_fcntl: case SYS_dup: case SYS_ioctl:
	/* pipes and sockets: reads, and writes that never wait (exl_fast_call) */
	case SYS_recvfrom: case SYS_recvmsg: case SYS_sendto: case SYS_sendmsg:
	/* opens: a FIFO's, which waits, returns to the exit (exl_serving) */
	case SYS_open: case SYS_openat:
	/* signal dispositions: plain data */
	case SYS_rt_sigaction:
	/* memory: new mappings, under the domain lock. Not the calls that
	 * take rights away (munmap, mprotect ...): their TLB shootdown would
	 * have to kick the caller's vCPU out of its entry code, which costs
	 * more than their exit (~0.2 ms on the PVM host measured). */
	case SYS_mmap: case SYS_brk: case SYS_mincore:
	/* paths: looked up, never opened (an open of a FIFO waits) */
	case SYS_newfstatat: case SYS_statx: case SYS_readlinkat: case SYS_readlink: case SYS_faccessat:
	case SYS_faccessat2: case SYS_access: case SYS_stat: case SYS_lstat:
		return true;
	default:
		return false;
	}
}

/* Everything that must see the call on the exit path: signals to deliver,
 * a pause or stop, a tracer, an exit under way. */
static bool thread_quiet(struct thread *t)
{
	struct domain *d = t->dom;
	/* Threads on page-table views (vmm/crew.c) take every call to the
	 * exit, where one can wait for a page another thread holds. */
	return !d->paused && !d->exiting && !d->crew && !t->exited && t->proc && !t->proc->exiting && !t->stopped &&
	       !t->jobctl_stop && !t->pt.tracer && !t->restore_sigmask && !sig_deliverable(t);
}

static void set_spin(struct domain *d, uint32_t spin)
{
	int n = atomic_load(&d->exl.nslots);
	for (int i = 0; i < n; i++) {
		uint8_t *s = atomic_load(&d->exl.slot[i]);
		if (s)
			__atomic_store_n((uint32_t *)(s + EXL_O_SPIN), spin, __ATOMIC_RELAXED);
	}
}

/* Slot i holds a posted call: take it (once), answer it or send it to
 * the exit. Under the domain lock, so that a kick's capture (also under
 * it) sees the call either not taken or answered. */
static void serve(struct domain *d, int i)
{
	dom_lock(d);
	uint8_t *s = atomic_load(&d->exl.slot[i]);
	struct thread *t = d->exl.owner[i];
	uint32_t st = EXL_ST_POSTED;
	if (!s || !t || !__atomic_compare_exchange_n((uint32_t *)(s + EXL_O_STATE), &st, EXL_ST_TAKEN, false,
						     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		dom_unlock(d);
		return;
	}
	/* One copy: the guest may rewrite its slot from another thread. */
	uint64_t nr = __atomic_load_n((uint64_t *)(s + EXL_O_NR), __ATOMIC_RELAXED), a[6];
	for (int k = 0; k < 6; k++)
		a[k] = __atomic_load_n((uint64_t *)(s + EXL_O_ARGS + 8 * k), __ATOMIC_RELAXED);
	/* exl_fast_call only takes numbers with a handler (exl_fast_nr). */
	/* A return address that is not canonical would make the ring-0 entry
	 * code's sysretq fault at ring 0: such a call takes the exit, where
	 * the stub's iretq raises the user's #GP as Linux does. */
	uint64_t rip = __atomic_load_n((uint64_t *)(s + EXL_O_RIP), __ATOMIC_RELAXED);
	bool canonical = rip < 0x800000000000ULL;
	uint32_t done = EXL_ST_SLOW;
	const struct syscall_desc *desc = canonical && thread_quiet(t) && exl_fast_call(t, nr, a) ?
					  syscall_lookup((int)nr) : NULL;
	if (desc) {
		const struct rr_ops *rr = d->rr;
		thread_act_as(t);
		t->intr.valid = false;
		t->exl_done_pending = false;
		long ret;
		/* A recording logs the calls answered here as the exit's
		 * (syscall_dispatch), where every answer is made. */
		rr_pos_enter(t);
		if (!rr || !rr->enter(t, nr, a, &ret))
			ret = desc->fn(t, a);
		if (ret != -ERESTART_SYSCALL)
			syscall_raise_sigpipe(t, nr, ret);
		if (rr && ret != -ERESTART_SYSCALL)
			rr->leave(t, nr, a, ret);
		if (ret != -ERESTART_SYSCALL)
			rr_pos_leave(t);
		thread_act_as(NULL);
		t->restart.valid = false;
		if (ret != -ERESTART_SYSCALL) {
			__atomic_store_n((uint64_t *)(s + EXL_O_RET), (uint64_t)ret, __ATOMIC_RELAXED);
			done = EXL_ST_DONE;
			d->exl.served++;
			d->ntraps++;
			/* Its end is a call's end, where a recording lets a
			 * signal from outside land (vmm/rr.h). */
			t->at_call = true;
			if (sig_deliverable(t)) {
				/* The call raised a signal for its caller (SIGPIPE),
				 * which Linux delivers before the call returns: the
				 * slot stays TAKEN, the kick's capture takes the
				 * call as answered and delivers it. */
				t->exl_done_pending = true;
				done = EXL_ST_TAKEN;
				pthread_kill(t->host, thread_kick_signal());
			}
		}
	}
	if (done == EXL_ST_SLOW) {
		d->exl.slow++;
		t->exl_sent_slow = true;        /* its exit is no doorbell */
	}
	if (done != EXL_ST_TAKEN)
		__atomic_store_n((uint32_t *)(s + EXL_O_STATE), done, __ATOMIC_RELEASE);
	dom_unlock(d);
}

/* Slot i says TAKEN outside serve(): nobody serves it, another thread of
 * the process wrote it, and the owner may wait on it for ever inside its
 * entry code. Its kick's capture takes it out, its call not run. */
static void unstick(struct domain *d, int i)
{
	dom_lock(d);
	uint8_t *s = atomic_load(&d->exl.slot[i]);
	struct thread *t = d->exl.owner[i];
	if (s && t && t->state == VCPU_RUNNING && !t->exl_unstick &&
	    __atomic_load_n((uint32_t *)(s + EXL_O_STATE), __ATOMIC_ACQUIRE) == EXL_ST_TAKEN) {
		t->exl_unstick = true;
		pthread_kill(t->host, thread_kick_signal());
	}
	dom_unlock(d);
}

/* One pass over the slots: answers what is posted (or, if !answer, only
 * says whether anything is), and unsticks forged TAKEN slots on the way. */
static bool scan(struct domain *d, bool answer)
{
	int n = atomic_load(&d->exl.nslots);
	bool posted = false;
	for (int i = 0; i < n; i++) {
		uint8_t *s = atomic_load(&d->exl.slot[i]);
		uint32_t st = s ? __atomic_load_n((uint32_t *)(s + EXL_O_STATE), __ATOMIC_ACQUIRE) : EXL_ST_IDLE;
		if (st == EXL_ST_POSTED) {
			posted = true;
			if (answer)
				serve(d, i);
		} else if (st == EXL_ST_TAKEN) {
			unstick(d, i);
		}
	}
	return posted;
}

static void *server_main(void *arg)
{
	struct domain *d = arg;
	/* Its host calls are the guest's: the guest's identity and filter,
	 * as a vCPU thread's. Signals are the vCPU threads' business. */
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	serving = true;
	int cr = cred_enter(&d->cred), fr = cr ? 0 : vfilter_enter(d->exl.filter_inherited);
	if (cr || fr) {
		fprintf(stderr, "pdvm: %s: exitless server: %s: %s\n", d->spec->name,
			cr ? "taking the domain's identity" : "seccomp filter", strerror(cr ? -cr : -fr));
		dom_lock(d);
		dom_exit_group(d, EXIT_PDVM_ERROR);    /* as a vCPU thread that cannot */
		dom_unlock(d);
		return NULL;
	}
	uint64_t last = host_mono_ns();
	unsigned idle = 0;
	while (!atomic_load(&d->exl.stop)) {
		if (scan(d, true)) {
			idle = 0;
			last = host_mono_ns();
			continue;
		}
		uint64_t busy = atomic_load_explicit(&d->exl.exit_ns, memory_order_relaxed);
		if (busy > last)
			last = busy;    /* calls through the exit keep it awake too */
		if (++idle % 64)
			__builtin_ia32_pause();
		else if (host_mono_ns() - last < IDLE_NS)
			sched_yield();  /* other domains' threads on a crowded host */
		else {
			/* Quiet: calls now take the exit at once, and the first
			 * one that could have come here rings. A call posted
			 * before the guests saw spin 0 is caught by the look
			 * after, or withdrawn by its guest. */
			set_spin(d, 0);
			atomic_store(&d->exl.asleep, 1);
			/* A look every 100 ms: a slot made TAKEN by another
			 * thread while this one slept is unstuck (10 wake-ups a
			 * second of an idle domain cost nothing measurable). */
			while (!scan(d, false) && atomic_load(&d->exl.asleep) && !atomic_load(&d->exl.stop)) {
				struct timespec ts = { 0, 100 * 1000 * 1000 };
				syscall(SYS_futex, &d->exl.asleep, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
			}
			atomic_store(&d->exl.asleep, 0);
			set_spin(d, EXL_SPIN);
			idle = 0;
			last = host_mono_ns();
		}
	}
	return NULL;
}

int exl_start(struct domain *d)
{
	if (!d->exl.on || d->exl.server_started)
		return 0;
	atomic_store(&d->exl.stop, false);
	d->exl.filter_inherited = vfilter_active();
	int r = pthread_create(&d->exl.server, NULL, server_main, d);
	if (r)
		return -r;
	d->exl.server_started = true;
	return 0;
}

void exl_stop(struct domain *d)
{
	if (!d->exl.server_started)
		return;
	atomic_store(&d->exl.stop, true);
	atomic_store(&d->exl.asleep, 0);
	syscall(SYS_futex, &d->exl.asleep, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	pthread_join(d->exl.server, NULL);
	d->exl.server_started = false;
}

void exl_doorbell(struct thread *t, uint64_t nr)
{
	struct domain *d = t->dom;
	if (!d->exl.on || !exl_fast_nr(nr) ||
	    (d->trap == &trap_backend_pvm && (t->regs.rflags & EXL_EXIT_FLAGS)))
		return;         /* the entry code never posts it */
	if (t->exl_sent_slow) {
		t->exl_sent_slow = false;       /* the server looked at it */
		return;
	}
	uint64_t now = host_mono_ns();
	atomic_store_explicit(&d->exl.exit_ns, now, memory_order_relaxed);
	if (!atomic_load(&d->exl.asleep)) {
		/* Awake for a while (not just woken: it has not told the
		 * guests to wait yet) and still not there in time: it lacked a
		 * CPU, or the domain lock. Counted for the log. */
		if (now - atomic_load_explicit(&d->exl.woke_ns, memory_order_relaxed) > 1000000)
			d->exl.missed++;
		return;
	}
	if (atomic_exchange(&d->exl.asleep, 0)) {
		d->exl.wakeups++;
		atomic_store_explicit(&d->exl.woke_ns, now, memory_order_relaxed);
		syscall(SYS_futex, &d->exl.asleep, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
}
