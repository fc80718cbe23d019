/* trap_shutdown.c: trap backend for PVM-style hosts where every user-mode trap is KVM_EXIT_SHUTDOWN. */
#include <errno.h>
#include <sys/ioctl.h>

#include "domain.h"
#include "trap.h"

/* User-changeable RFLAGS bits (CF PF AF ZF SF TF DF OF AC ID); IF forced on. */
#define RFLAGS_USER 0x240dd5ULL

static int shutdown_decode(struct thread *t, struct trap *tr)
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
	if (t->regs.rip == KERN_LSTAR_NONE) {
		/* fact 2: RIP == LSTAR, RCX = return address, R11 = RFLAGS */
		tr->kind = TRAP_SYSCALL;
		t->regs.rip = t->regs.rcx;
		t->regs.rflags = t->regs.r11;
		return 0;
	}
	struct kvm_vcpu_events ev;
	if (ioctl(t->vcpu.fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	tr->kind = TRAP_EXCEPTION;
	tr->vector = ev.exception.nr;
	tr->error_code = ev.exception.has_error_code ? ev.exception.error_code : 0;
	tr->cr2 = 0;
	if (tr->vector == 14) {
		struct kvm_sregs s;
		if (ioctl(t->vcpu.fd, KVM_GET_SREGS, &s) < 0)
			return -errno;
		tr->cr2 = s.cr2;
	}
	return 0;
}

static int shutdown_resume(struct thread *t)
{
	struct kvm_regs r = t->regs;
	r.rflags = (r.rflags & RFLAGS_USER) | 0x202;
	int e = vcpu_set_regs(&t->vcpu, &r);
	if (e)
		return e;
	return 0;
}

/* Out of KVM_RUN by a kick the vCPU is always in user mode (fact 2). */
static int shutdown_capture(struct thread *t)
{
	return vcpu_get_regs(&t->vcpu, &t->regs);
}

const struct trap_backend trap_backend_shutdown = {
	.name = "shutdown",
	.needs_pt_quarantine = true,
	.decode = shutdown_decode,
	.resume = shutdown_resume,
	.capture = shutdown_capture,
};
