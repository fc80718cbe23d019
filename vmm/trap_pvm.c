/* trap_pvm.c: the pvm trap backend, for PVM-style hosts where every user-mode trap is KVM_EXIT_SHUTDOWN. */
#include <errno.h>
#include <sys/ioctl.h>

#include "domain.h"
#include "trap.h"

/* User-changeable RFLAGS bits (CF PF AF ZF SF TF DF OF AC ID); IF forced on. */
#define RFLAGS_USER 0x240dd5ULL

/* A #PF on the fetch at LSTAR is a `syscall` (fact 2): RCX holds the
 * return address, R11 the flags. */
static bool syscall_at_lstar(struct thread *t, struct trap *tr)
{
	if (t->regs.rip != KERN_LSTAR_NONE && t->regs.rip != t->lstar)
		return false;
	tr->kind = TRAP_SYSCALL;
	t->regs.rip = t->regs.rcx;
	t->regs.rflags = t->regs.r11;
	return true;
}

static int pvm_decode(struct thread *t, struct trap *tr)
{
	struct kvm_run *run = t->vcpu.run;
	tr->exit_reason = run->exit_reason;
	if (run->exit_reason != KVM_EXIT_SHUTDOWN) {
		tr->kind = TRAP_UNKNOWN;
		return 0;
	}
	int r0 = vcpu_get_regs(&t->vcpu, &t->regs);
	if (r0)
		return r0;
	if (syscall_at_lstar(t, tr))
		return 0;
	struct kvm_vcpu_events ev;
	if (ioctl(t->vcpu.fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	return trap_exception(t, tr, ev.exception.nr, ev.exception.has_error_code ? ev.exception.error_code : 0);
}

static int pvm_resume(struct thread *t)
{
	struct kvm_regs r = t->regs;
	r.rflags = (r.rflags & RFLAGS_USER) | 0x202;
	int e = vcpu_set_regs(&t->vcpu, &r);
	if (e)
		return e;
	return 0;
}

/* Out of KVM_RUN by a kick the vCPU is always in user mode (fact 2), but a
 * trap may be half way: the kick can land after a `syscall` moved RIP to
 * LSTAR, with the fetch there not yet done, its #PF queued, or the triple
 * fault it became pending inside KVM. Left so, the next KVM_RUN ends in
 * that SHUTDOWN at whatever RIP the VMM resumes at — a signal handler:
 * "instruction fetch at LSTAR". So it is taken out and handed back as the
 * trap it is. Where KVM cannot show a pending triple fault, a vCPU at
 * LSTAR runs on into its SHUTDOWN instead (-EAGAIN). */
static int pvm_capture(struct thread *t, struct trap *tr)
{
	int r = vcpu_get_regs(&t->vcpu, &t->regs);
	if (r)
		return r;
	if (!t->dom->vm.triple_fault_event && t->regs.rip == KERN_LSTAR_NONE)
		return -EAGAIN;
	r = trap_take_queued(t, tr);
	if (r < 0)
		return r;
	if (r == 0 && exl_capture(t))
		tr->kind = TRAP_KICK;   /* caught in its entry code: before or after its call */
	else if (!syscall_at_lstar(t, tr) && r == 0)
		tr->kind = TRAP_KICK;
	return 0;
}

const struct trap_backend trap_backend_pvm = {
	.name = "pvm",
	.host = "a PVM host (a guest syscall ends KVM_RUN with KVM_EXIT_SHUTDOWN)",
	.lstar = KERN_LSTAR_NONE,
	.idt = false,
	.needs_pt_quarantine = true,
	.decode = pvm_decode,
	.resume = pvm_resume,
	.capture = pvm_capture,
};
