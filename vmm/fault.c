/* fault.c: maps guest CPU exceptions to Linux signals and reports them. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "domain.h"
#include "fault.h"
#include "trap.h"

#define PF_WRITE 0x2
#define PF_USER  0x4
#define PF_INSTR 0x10

bool fault_is_stale(struct domain *d, const struct trap *tr)
{
	if (tr->vector != 14 || tr->cr2 >= USER_MAX)
		return false;
	uint64_t e = pt_lookup(&dom_mm(d)->pt, tr->cr2, NULL);
	if (!(e & PTE_P) || !(e & PTE_U))
		return false;
	if ((tr->error_code & PF_WRITE) && !(e & PTE_W))
		return false;
	if ((tr->error_code & PF_INSTR) && (e & PTE_NX))
		return false;
	return true;
}

/* The signal Linux sends for each exception vector (arch/x86/kernel/traps.c). */
static int vector_signal(int v)
{
	switch (v) {
	case 0: case 16: case 19: return SIGFPE;   /* #DE #MF #XM */
	case 1: case 3: return SIGTRAP;            /* #DB #BP */
	case 6: return SIGILL;                     /* #UD */
	case 7: return SIGFPE;
	case 17: return SIGBUS;                    /* #AC */
	default: return SIGSEGV;                   /* #OF #BR #GP #SS #NP #PF ... */
	}
}

int fault_siginfo(struct thread *t, const struct trap *tr, struct ksiginfo *info)
{
	int sig = vector_signal(tr->vector);

	memset(info, 0, sizeof(*info));
	info->signo = sig;
	switch (tr->vector) {
	case 14:
		info->code = tr->error_code & 1 ? 2 /* SEGV_ACCERR */ : 1 /* SEGV_MAPERR */;
		info->fault.addr = tr->cr2;
		break;
	case 0:
		info->code = 1; /* FPE_INTDIV */
		info->fault.addr = t->regs.rip;
		break;
	case 6:
		info->code = 2; /* ILL_ILLOPN */
		info->fault.addr = t->regs.rip;
		break;
	case 17:
		info->code = 1; /* BUS_ADRALN */
		info->fault.addr = t->regs.rip;
		break;
	case 16: case 19: case 7:
		info->code = 0; /* the x87/SSE exception kind is not decoded */
		info->fault.addr = t->regs.rip;
		break;
	default:
		/* #GP, #BP and the rest: the kernel's own signal, address 0. */
		info->code = KSI_KERNEL;
		break;
	}
	return sig;
}

static const char *vector_name(int v)
{
	static const char *n[] = {
		"divide error", "debug trap", "NMI", "breakpoint", "overflow",
		"bound range exceeded", "invalid opcode", "device not available",
		"double fault", "coprocessor overrun", "invalid TSS", "segment not present",
		"stack fault", "general protection fault", "page fault", "reserved",
		"x87 floating-point error", "alignment check", "machine check", "SIMD floating-point error",
	};
	return v >= 0 && v < (int)ARRAY_SIZE(n) ? n[v] : "exception";
}

void fault_kill(struct thread *t, const struct trap *tr)
{
	struct domain *d = t->dom;
	int sig = vector_signal(tr->vector);
	char what[160];
	if (tr->vector == 14) {
		snprintf(what, sizeof(what), "page fault at address %#llx (%s, %s)",
			 (unsigned long long)tr->cr2,
			 tr->error_code & PF_INSTR ? "instruction fetch" : tr->error_code & PF_WRITE ? "write" : "read",
			 tr->error_code & 1 ? "protection violation" : "not mapped");
	} else if (tr->vector == 13) {
		snprintf(what, sizeof(what), "general protection fault (error code %#x) at address 0",
			 tr->error_code);
	} else {
		/* For these Linux reports the instruction as si_addr. */
		snprintf(what, sizeof(what), "%s at address %#llx", vector_name(tr->vector),
			 (unsigned long long)t->regs.rip);
	}
	const char *ab = sigabbrev_np(sig);
	/* dom_log echoes to stderr itself when verbose. A child process's
	 * death is its parent's to report, as natively (a shell says so). */
	if (!d->verbose && t->proc == d->init)
		fprintf(stderr, "pdvm: %s: thread %d killed by SIG%s: %s, RIP %#llx\n", d->spec->name, t->tid,
			ab ? ab : "?", what, (unsigned long long)t->regs.rip);
	dom_log(d, "thread %d killed by SIG%s: %s, RIP %#llx", t->tid, ab ? ab : "?", what,
		(unsigned long long)t->regs.rip);
	proc_exit_group(t->proc, sig);
}
