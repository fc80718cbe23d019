/* ksignal.c: guest signals — pending sets, default actions, rt_sigframe on the user stack, rt_sigreturn, fault signals. */
#include <errno.h>
#include <cpuid.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "crew.h"
#include "domain.h"
#include "jobctl.h"
#include "ksignal.h"
#include "rr.h"
#include "syscall.h"
#include "trap.h"
#include "uaccess.h"

/* How an interrupted call is settled when a handler runs (Linux's
 * -ERESTARTSYS / -ERESTARTNOHAND / -ERESTART_RESTARTBLOCK). */
enum { INTR_SYS, INTR_NOHAND, INTR_SLEEP };

/* The x86-64 user frame (arch/x86/include/uapi/asm/sigcontext.h, ucontext.h). */
struct ksigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate;
	uint64_t reserved[8];
};
struct kucontext {
	uint64_t flags, link;
	struct kstack stack;
	struct ksigcontext mc;
	uint64_t sigmask;
};
struct rt_sigframe {
	uint64_t pretcode;          /* sa_restorer: the handler's return address */
	struct kucontext uc;
	struct ksiginfo info;
};
_Static_assert(sizeof(struct ksigcontext) == 256, "sigcontext layout");
_Static_assert(sizeof(struct kucontext) == 304, "ucontext layout");

#define UC_FP_XSTATE		0x1
#define UC_SIGCONTEXT_SS	0x2
#define UC_STRICT_RESTORE_SS	0x4
#define FP_XSTATE_MAGIC1	0x46505853U
#define FP_XSTATE_MAGIC2	0x46505845U
#define FX_SW_OFFSET		464     /* fx_sw_bytes in the legacy area */
#define XSAVE_HDR_OFFSET	512
#define RFLAGS_FIX		0x50dd5ULL  /* CF PF AF ZF SF TF DF OF RF AC */
#define RED_ZONE		128
#define SEL_UCODE		0x33
#define SEL_UDATA		0x2b

/* Bytes of XSAVE state the frame carries: CPUID.(0xD,0).EBX, the size for
 * the features enabled in XCR0 (the guest's XCR0 follows the host's). */
static uint32_t xstate_size(void)
{
	static uint32_t size;
	unsigned a, b, c, dd;

	if (!size) {
		size = 512 + 64;
		if (__get_cpuid_count(0xd, 0, &a, &b, &c, &dd) && b >= 576)
			size = b;
		if (size > sizeof(((struct kvm_xsave *)0)->region))
			size = sizeof(((struct kvm_xsave *)0)->region);
	}
	return size;
}

static uint64_t host_xcr0(void)
{
	unsigned a, b, c, dd;

	return __get_cpuid_count(0xd, 0, &a, &b, &c, &dd) ? ((uint64_t)dd << 32) | a : 3;
}

static bool sig_default_ignored(int sig)
{
	return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH;
}

static bool sig_ignored(struct process *p, int sig)
{
	uint64_t h = p->sigactions[sig - 1].handler;

	return h == KSIG_IGN || (h == KSIG_DFL && sig_default_ignored(sig));
}

struct ksiginfo sig_info_user(struct domain *d, int sig, int code, int pid)
{
	struct ksiginfo i;

	memset(&i, 0, sizeof(i));
	i.signo = sig;
	i.code = code;
	i.kill.pid = pid;
	i.kill.uid = cred_uid_out(&d->cred, (uint32_t)getuid());
	return i;
}

/* Makes t come out of the guest or of a blocking wait to look at its
 * signals. A kick can land just before a host call: the signal thread
 * repeats it while the signal stays undelivered. */
void sig_wake(struct thread *t)
{
	if (t->waiting)
		pthread_cond_broadcast(&t->waiting->cv);
	if (t->state == VCPU_RUNNING || t->blocked)
		pthread_kill(t->host, thread_kick_signal());
}

/* The init of a domain numbered from 1 (--pid-namespace) is its pid
 * namespace's (Linux's SIGNAL_UNKILLABLE): a signal it leaves at SIG_DFL
 * is dropped, except SIGKILL and SIGSTOP from outside the domain (the
 * host's, forwarded with sender pid 0). Faults are not generated here
 * (sig_force, sig_fault): those it gets whatever its action. */
static bool init_drops(const struct process *p, const struct ksiginfo *info)
{
	int sig = info->signo;
	if (p != p->dom->init || p->pid != 1 || sig < 1 || sig > NSIG_K ||
	    p->sigactions[sig - 1].handler != KSIG_DFL)
		return false;
	bool outside = info->code == KSI_USER && info->kill.pid == 0;
	return !(outside && (sig == SIGKILL || sig == SIGSTOP));
}

void sig_send_thread(struct thread *t, const struct ksiginfo *info)
{
	struct domain *d = t->dom;
	int sig = info->signo;

	if (init_drops(t->proc, info) || (d->rr && !d->rr->sent(t, t->proc, info)))
		return;

	if (sig == SIGKILL) {
		dom_log(d, "process %d: SIGKILL", t->proc->pid);
		proc_exit_group(t->proc, SIGKILL);
		return;
	}
	/* SIGCONT resumes, and stop signals and SIGCONT cancel each other,
	 * whatever the action or mask. */
	jobctl_prepare(t->proc, sig);
	/* A tracer sees even ignored signals (Linux's sig_ignored). */
	if (sig_ignored(t->proc, sig) && !(t->sigmask & SIGBIT(sig)) && !ptrace_traced(&t->pt))
		return;
	if (t->sig_pending & SIGBIT(sig))
		return; /* one instance per signal number */
	t->sig_pending |= SIGBIT(sig);
	t->sig_info[sig - 1] = *info;
	/* A thread handling a trap right now (raise() to itself) looks at its
	 * signals before it re-enters the guest: nothing to wake. */
	if ((!(t->sigmask & SIGBIT(sig)) || (t->sigwait_set & SIGBIT(sig))) &&
	    (t->state != VCPU_IN_VMM || t->blocked || t->waiting)) {
		sig_wake(t);
		sig_thread_poke(d);
	}
}

void sig_send_process(struct process *p, const struct ksiginfo *info)
{
	struct domain *d = p->dom;
	int sig = info->signo;
	bool blocked_all = true, traced = false;

	if (p->zombie || p->exiting || init_drops(p, info) || (d->rr && !d->rr->sent(NULL, p, info)))
		return;
	if (sig == SIGKILL) {
		proc_exit_group(p, SIGKILL);
		return;
	}
	jobctl_prepare(p, sig);
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];

		if (o && o->proc == p && !o->exited && !(o->sigmask & SIGBIT(sig)))
			blocked_all = false;
		if (o && o->proc == p && !o->exited && ptrace_traced(&o->pt))
			traced = true;
	}
	if (sig_ignored(p, sig) && !blocked_all && !traced)
		return;
	if (p->sig_pending & SIGBIT(sig))
		return;
	p->sig_pending |= SIGBIT(sig);
	p->sig_info[sig - 1] = *info;
	/* Every thread that could take it looks; the first one does. */
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];

		if (o && o->proc == p && !o->exited && (!(o->sigmask & SIGBIT(sig)) || (o->sigwait_set & SIGBIT(sig))))
			sig_wake(o);
	}
	sig_thread_poke(d);
}

/* Blocked, or held back by a recording (vmm/rr.h). */
static uint64_t not_now(const struct thread *t)
{
	return t->sigmask | (t->dom->rr ? t->dom->rr->hold(t) : 0);
}

bool sig_deliverable(const struct thread *t)
{
	return t->jobctl_stop || t->pt.interrupt || ((t->sig_pending | t->proc->sig_pending) & ~not_now(t)) != 0;
}

/* Takes the lowest pending unblocked signal (thread-directed first, as
 * Linux's dequeue_signal); 0 if none. */
static int dequeue(struct thread *t, struct ksiginfo *info)
{
	uint64_t m = t->sig_pending & ~not_now(t);
	uint64_t *set = &t->sig_pending;
	struct ksiginfo *tab = t->sig_info;

	if (!m) {
		m = t->proc->sig_pending & ~not_now(t);
		set = &t->proc->sig_pending;
		tab = t->proc->sig_info;
	}
	if (!m)
		return 0;
	/* Synchronous (fault) signals first, then the lowest number. */
	uint64_t sync = m & (SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP) |
			     SIGBIT(SIGFPE) | SIGBIT(SIGSYS));
	int sig = __builtin_ctzll(sync ? sync : m) + 1;

	*set &= ~SIGBIT(sig);
	*info = tab[sig - 1];
	return sig;
}

bool sig_on_altstack(const struct thread *t, uint64_t sp)
{
	if (t->ss_flags & KSS_AUTODISARM)
		return false;
	return t->ss_size && sp > t->ss_sp && sp - t->ss_sp <= t->ss_size;
}

uint32_t sig_altstack_flags(const struct thread *t, uint64_t sp)
{
	if (!t->ss_size)
		return KSS_DISABLE;
	return (sig_on_altstack(t, sp) ? KSS_ONSTACK : 0) | (t->ss_flags & KSS_AUTODISARM);
}

int sig_altstack_set(struct thread *t, uint64_t sp, const struct kstack *ss)
{
	uint32_t flags = (uint32_t)ss->ss_flags;
	uint32_t mode = flags & ~KSS_AUTODISARM;

	if (sig_on_altstack(t, sp))
		return -EPERM;
	if (mode != KSS_DISABLE && mode != KSS_ONSTACK && mode != 0)
		return -EINVAL;
	if (mode == KSS_DISABLE) {
		t->ss_sp = t->ss_size = 0;
		t->ss_flags = KSS_DISABLE;
		return 0;
	}
	if (ss->ss_size < KMINSIGSTKSZ)
		return -ENOMEM;
	t->ss_sp = ss->ss_sp;
	t->ss_size = ss->ss_size;
	t->ss_flags = flags & KSS_AUTODISARM;
	return 0;
}

/* Settles the interrupted call, if any, for a handler with flags sa_flags:
 * back out of the restart and return -EINTR, or keep the restart. */
static void settle_interrupted(struct thread *t, uint64_t sa_flags)
{
	struct kvm_regs *r = &t->regs;

	if (!t->intr.valid)
		return;
	t->intr.valid = false;
	if (t->intr.kind == INTR_SYS && (sa_flags & KSA_RESTART))
		return;
	r->rip += 2;
	r->rax = (uint64_t)-EINTR;
	/* A relative sleep reports what was left of it. */
	if (t->intr.kind == INTR_SLEEP && t->restart.valid && t->intr.a1) {
		uint64_t now = guest_mono_ns(t->dom), end = t->restart.deadline_ns;
		uint64_t left = end > now ? end - now : 0;
		struct { int64_t s, ns; } ts = { (int64_t)(left / 1000000000ULL),
						(int64_t)(left % 1000000000ULL) };
		copy_to_user(t->dom, t->intr.a1, &ts, sizeof(ts));
	}
	t->restart.valid = false;
}

/* The mask the program had before a sigsuspend/ppoll swapped it in. */
static uint64_t user_mask(struct thread *t)
{
	return t->restore_sigmask ? t->saved_sigmask : t->sigmask;
}

static void kill_for(struct thread *t, int sig, const char *why)
{
	struct domain *d = t->dom;
	const char *ab = sigabbrev_np(sig);

	dom_log(d, "thread %d: %s SIG%s", t->tid, why, ab ? ab : "?");
	proc_exit_group(t->proc, sig);
}

/* Writes the rt_sigframe for sig and points the registers at the handler. */
static bool setup_frame(struct thread *t, int sig, const struct ksiginfo *info,
			const struct sigaction_k *sa)
{
	struct domain *d = t->dom;
	struct kvm_regs *r = &t->regs;
	uint64_t sp = r->rsp - RED_ZONE;
	uint32_t xsz = xstate_size();
	static __thread struct kvm_xsave xs;
	struct rt_sigframe f;

	if ((sa->flags & KSA_ONSTACK) && t->ss_size && !sig_on_altstack(t, r->rsp))
		sp = t->ss_sp + t->ss_size;
	uint64_t fp = (sp - xsz - 4) & ~63ULL;
	uint64_t frame = ((fp - sizeof(f)) & ~15ULL) - 8;

	if (ioctl(t->vcpu.fd, KVM_GET_XSAVE, &xs) < 0)
		return false;
	/* The software bytes tell readers an XSAVE image follows. */
	uint32_t sw[12] = { FP_XSTATE_MAGIC1, xsz + 4 };
	uint64_t xcr0 = host_xcr0();
	memcpy(&sw[2], &xcr0, 8);
	sw[4] = xsz;
	memcpy((uint8_t *)xs.region + FX_SW_OFFSET, sw, sizeof(sw));
	uint32_t magic2 = FP_XSTATE_MAGIC2;

	memset(&f, 0, sizeof(f));
	f.pretcode = sa->restorer;
	f.uc.flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f.uc.stack.ss_sp = t->ss_sp;
	f.uc.stack.ss_size = t->ss_size;
	f.uc.stack.ss_flags = (int32_t)sig_altstack_flags(t, r->rsp);
	struct ksigcontext *mc = &f.uc.mc;
	mc->r8 = r->r8; mc->r9 = r->r9; mc->r10 = r->r10; mc->r11 = r->r11;
	mc->r12 = r->r12; mc->r13 = r->r13; mc->r14 = r->r14; mc->r15 = r->r15;
	mc->rdi = r->rdi; mc->rsi = r->rsi; mc->rbp = r->rbp; mc->rbx = r->rbx;
	mc->rdx = r->rdx; mc->rax = r->rax; mc->rcx = r->rcx; mc->rsp = r->rsp;
	mc->rip = r->rip; mc->eflags = r->rflags;
	mc->cs = SEL_UCODE;
	mc->ss = SEL_UDATA;
	mc->oldmask = user_mask(t);
	mc->fpstate = fp;
	if (info->code == KSI_KERNEL || sig == SIGSEGV || sig == SIGBUS)
		mc->cr2 = info->fault.addr;
	f.uc.sigmask = user_mask(t);
	f.info = *info;

	if (copy_to_user(d, fp, xs.region, xsz) || copy_to_user(d, fp + xsz, &magic2, 4) ||
	    copy_to_user(d, frame, &f, sizeof(f)))
		return false;

	if (t->ss_flags & KSS_AUTODISARM) {
		t->ss_sp = t->ss_size = 0;
		t->ss_flags = KSS_DISABLE;
	}
	r->rdi = (uint64_t)sig;
	r->rsi = frame + offsetof(struct rt_sigframe, info);
	r->rdx = frame + offsetof(struct rt_sigframe, uc);
	r->rax = 0;
	r->rsp = frame;
	r->rip = sa->handler;
	r->rflags &= ~(0x400ULL | 0x100ULL | 0x10000ULL); /* DF TF RF */
	return true;
}

/* One dequeued signal's action: false when sig_deliver must return (the
 * thread stops, or the process dies). */
static bool deliver_one(struct thread *t, int sig, const struct ksiginfo *info)
{
	struct sigaction_k *sa = &t->proc->sigactions[sig - 1];

	if (sa->handler == KSIG_IGN)
		return true;
	if (sa->handler == KSIG_DFL) {
		if (sig_default_ignored(sig))
			return true;
		if (jobctl_is_stop(sig)) {
			/* The thread stops first (thread_main). An interrupted
			 * call and a swapped mask stay as they are: after
			 * SIGCONT the next signal's handler, or none, settles
			 * them. A discarded stop (orphaned group) goes on. */
			return !jobctl_stop_begin(t, sig);
		}
		settle_interrupted(t, 0);
		kill_for(t, sig, "killed by");
		return false;
	}
	settle_interrupted(t, sa->flags);
	if (!setup_frame(t, sig, info, sa)) {
		/* No room for the frame: Linux forces SIGSEGV. */
		kill_for(t, SIGSEGV, "cannot build a signal frame; killed by");
		return false;
	}
	/* The handler runs under the mask in force, a sigsuspend's or
	 * ppoll's temporary one included; its frame keeps the thread's own
	 * for sigreturn. */
	t->sigmask |= sa->mask;
	t->restore_sigmask = false;
	if (!(sa->flags & KSA_NODEFER))
		t->sigmask |= SIGBIT(sig);
	t->sigmask &= ~SIG_UNBLOCKABLE;
	if (sa->flags & KSA_RESETHAND)
		sa->handler = KSIG_DFL;
	t->regs_dirty = true;
	/* Further unblocked signals stack their frames on this one, as
	 * Linux's exit-to-user loop does: the last one set up runs first and
	 * returns into the one below. */
	return true;
}

void sig_deliver(struct thread *t)
{
	struct domain *d = t->dom;
	struct ksiginfo info;
	int sig;

	/* A trap stop a tracer asked for comes before any signal. */
	ptrace_trap_check(t);
	while (!d->exiting && !t->proc->exiting && (sig = dequeue(t, &info)) != 0) {
		/* A tracee's signal is its tracer's first: it may change it
		 * or suppress it (signal-delivery-stop). */
		if (!(sig = ptrace_signal(t, sig, &info)) || d->exiting || t->proc->exiting)
			continue;
		rr_pos_leave(t);        /* an interrupted call ends here */
		if (d->rr)
			d->rr->signal_begin(t, sig, &info, false);
		bool go_on = deliver_one(t, sig, &info);
		if (d->rr)
			d->rr->signal_end(t);
		if (!go_on)
			return;
	}
	if (t->restore_sigmask) {
		t->sigmask = t->saved_sigmask;
		t->restore_sigmask = false;
	}
	t->intr.valid = false;
}

void sig_settle_for_stop(struct thread *t)
{
	uint64_t nr = t->intr.nr;

	if (t->intr.valid && (nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == SYS_epoll_pwait2))
		settle_interrupted(t, 0);
}

void sig_note_interrupted(struct thread *t, uint64_t nr, const uint64_t a[6])
{
	int kind = INTR_SYS;
	uint64_t a1 = 0;

	switch (nr) {
	case SYS_nanosleep:
		kind = INTR_SLEEP;
		a1 = a[1];
		break;
	case SYS_clock_nanosleep:
		kind = a[1] & 1 /* TIMER_ABSTIME */ ? INTR_NOHAND : INTR_SLEEP;
		a1 = a[1] & 1 ? 0 : a[3];
		break;
	case SYS_pause: case SYS_rt_sigsuspend: case SYS_poll: case SYS_ppoll:
	case SYS_select: case SYS_pselect6: case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2:
	case SYS_rt_sigtimedwait:
		kind = INTR_NOHAND;
		break;
	case SYS_futex:
		/* A wait with a timeout is a restart_block call: EINTR. */
		if (a[3] && ((a[1] & 127) == 0 || (a[1] & 127) == 9))
			kind = INTR_NOHAND;
		break;
	default:
		break;
	}
	t->intr.valid = true;
	t->intr.kind = kind;
	t->intr.nr = nr;
	t->intr.a1 = a1;
}

bool sig_force(struct thread *t, const struct ksiginfo *info)
{
	int sig = info->signo;
	struct sigaction_k *sa = &t->proc->sigactions[sig - 1];

	/* Linux's force_sig: blocked or ignored means the default: death. */
	if (sa->handler == KSIG_DFL || sa->handler == KSIG_IGN || (t->sigmask & SIGBIT(sig)))
		return false;
	t->sig_pending |= SIGBIT(sig);
	t->sig_info[sig - 1] = *info;
	return true;
}

bool sig_fault(struct thread *t, const struct trap *tr)
{
	struct ksiginfo info;
	fault_siginfo(t, tr, &info);
	if (!sig_force(t, &info))
		return false;
	sig_deliver(t);
	return true;
}

long sig_return(struct thread *t)
{
	struct domain *d = t->dom;
	struct kvm_regs *r = &t->regs;
	uint64_t frame = r->rsp - 8;
	struct kucontext uc;
	static __thread struct kvm_xsave xs;

	t->intr.valid = false;
	if (copy_from_user(d, &uc, frame + offsetof(struct rt_sigframe, uc), sizeof(uc)))
		goto bad;
	if (uc.mc.fpstate) {
		uint32_t xsz = xstate_size(), sw[12];

		memset(&xs, 0, sizeof(xs));
		if (uc.mc.fpstate & 63 || copy_from_user(d, xs.region, uc.mc.fpstate, 512))
			goto bad;
		memcpy(sw, (uint8_t *)xs.region + FX_SW_OFFSET, sizeof(sw));
		if (sw[0] == FP_XSTATE_MAGIC1 && sw[4] <= xsz && sw[4] >= 576) {
			if (copy_from_user(d, xs.region, uc.mc.fpstate, sw[4]))
				goto bad;
		} else {
			/* A legacy FXSAVE image: only x87 and SSE state. */
			uint64_t bv = 3;
			memcpy((uint8_t *)xs.region + XSAVE_HDR_OFFSET, &bv, 8);
		}
		if (ioctl(t->vcpu.fd, KVM_SET_XSAVE, &xs) < 0)
			goto bad;
	}
	const struct ksigcontext *mc = &uc.mc;
	/* A return address the program cannot run at: Linux's iret to it
	 * faults and the process gets SIGSEGV; KVM would refuse the state. */
	if (mc->rip >= USER_MAX)
		goto bad;
	r->r8 = mc->r8; r->r9 = mc->r9; r->r10 = mc->r10; r->r11 = mc->r11;
	r->r12 = mc->r12; r->r13 = mc->r13; r->r14 = mc->r14; r->r15 = mc->r15;
	r->rdi = mc->rdi; r->rsi = mc->rsi; r->rbp = mc->rbp; r->rbx = mc->rbx;
	r->rdx = mc->rdx; r->rax = mc->rax; r->rcx = mc->rcx; r->rsp = mc->rsp;
	r->rip = mc->rip;
	r->rflags = (r->rflags & ~RFLAGS_FIX) | (mc->eflags & RFLAGS_FIX);
	t->sigmask = uc.sigmask & ~SIG_UNBLOCKABLE;
	t->restore_sigmask = false;
	/* restore_altstack: as sigaltstack(2) would, errors ignored. */
	sig_altstack_set(t, r->rsp, &uc.stack);
	t->regs_dirty = true;
	return (long)r->rax;
bad:
	kill_for(t, SIGSEGV, "bad signal frame at rt_sigreturn; killed by");
	return -EFAULT;
}
