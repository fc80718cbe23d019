/* sys_ptrace.c: ptrace(2) requests — attach, resume, registers, memory, siginfo, syscall info — and process_vm_readv/writev, between the processes of one domain. */
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "domain.h"
#include "procmem.h"
#include "ptrace.h"
#include "syscall.h"
#include "uaccess.h"

/* The x86-64 user_regs_struct (sys/user.h), and struct user's size and
 * the offset of its debug registers, for PEEKUSER. */
struct user_regs_struct {
	unsigned long long r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
	unsigned long long orig_rax, rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs;
};
_Static_assert(sizeof(struct user_regs_struct) == 216, "user_regs_struct layout");
#define USER_SIZE        912
#define DR_OFFSET        848

enum {
	PTR_TRACEME = 0, PTR_PEEKTEXT = 1, PTR_PEEKDATA = 2, PTR_PEEKUSR = 3, PTR_POKETEXT = 4,
	PTR_POKEDATA = 5, PTR_POKEUSR = 6, PTR_CONT = 7, PTR_KILL = 8, PTR_SINGLESTEP = 9,
	PTR_GETREGS = 12, PTR_SETREGS = 13, PTR_GETFPREGS = 14, PTR_SETFPREGS = 15,
	PTR_ATTACH = 16, PTR_DETACH = 17, PTR_SYSCALL = 24, PTR_ARCH_PRCTL = 30,
	PTR_SETOPTIONS = 0x4200, PTR_GETEVENTMSG = 0x4201, PTR_GETSIGINFO = 0x4202,
	PTR_SETSIGINFO = 0x4203, PTR_GETREGSET = 0x4204, PTR_SETREGSET = 0x4205,
	PTR_SEIZE = 0x4206, PTR_INTERRUPT = 0x4207, PTR_LISTEN = 0x4208,
	PTR_GETSIGMASK = 0x420a, PTR_SETSIGMASK = 0x420b, PTR_GET_SYSCALL_INFO = 0x420e,
};

#define PT_O_MASK        (0xffu | (1u << 20) | (1u << 21))
#define NT_PRSTATUS_K    1
#define NT_PRFPREG_K     2
#define NT_X86_XSTATE_K  0x202
#define AUDIT_ARCH_X86_64_K 0xc000003eU
#define EFLAGS_SETTABLE  0x50dd5ULL     /* CF PF AF ZF SF TF DF OF RF AC, as putreg */

/* ---- registers ---- */

static void regs_get(const struct thread *c, struct user_regs_struct *u)
{
	const struct kvm_regs *r = &c->regs;

	memset(u, 0, sizeof(*u));
	u->r15 = r->r15; u->r14 = r->r14; u->r13 = r->r13; u->r12 = r->r12;
	u->rbp = r->rbp; u->rbx = r->rbx; u->r11 = r->r11; u->r10 = r->r10;
	u->r9 = r->r9; u->r8 = r->r8; u->rax = r->rax; u->rcx = r->rcx;
	u->rdx = r->rdx; u->rsi = r->rsi; u->rdi = r->rdi;
	u->orig_rax = c->pt.orig_rax;
	u->rip = r->rip;
	u->cs = 0x33;
	u->eflags = r->rflags;
	u->rsp = r->rsp;
	u->ss = 0x2b;
	u->fs_base = c->fs_base;
	u->gs_base = c->gs_base;
}

/* As Linux's putreg: bases below the user limit, user selectors, only the
 * flags a program may set. A RIP the CPU cannot return to is refused here
 * (Linux would fault at the return; KVM would refuse the state). */
static long regs_set(struct thread *c, const struct user_regs_struct *u)
{
	struct kvm_regs *r = &c->regs;

	if (u->fs_base >= USER_MAX || u->gs_base >= USER_MAX || u->rip >= USER_MAX)
		return -EIO;
	if (u->cs != 0x33 || u->ss != 0x2b)
		return -EIO;
	const unsigned long long sel[] = { u->ds, u->es, u->fs, u->gs };
	for (size_t i = 0; i < ARRAY_SIZE(sel); i++)
		if (sel[i] > 0xffff || (sel[i] && (sel[i] & 3) != 3))
			return -EIO;
	r->r15 = u->r15; r->r14 = u->r14; r->r13 = u->r13; r->r12 = u->r12;
	r->rbp = u->rbp; r->rbx = u->rbx; r->r11 = u->r11; r->r10 = u->r10;
	r->r9 = u->r9; r->r8 = u->r8; r->rax = u->rax; r->rcx = u->rcx;
	r->rdx = u->rdx; r->rsi = u->rsi; r->rdi = u->rdi;
	c->pt.orig_rax = u->orig_rax;
	r->rip = u->rip;
	r->rflags = (r->rflags & ~EFLAGS_SETTABLE) | (u->eflags & EFLAGS_SETTABLE);
	r->rsp = u->rsp;
	if (c->fs_base != u->fs_base || c->gs_base != u->gs_base) {
		c->fs_base = u->fs_base;
		c->gs_base = u->gs_base;
		c->sregs_dirty = true;
	}
	c->regs_dirty = true;
	return 0;
}

/* The XSAVE image's size for the guest's features (CPUID 0xD). */
static uint32_t xsave_size(void)
{
	unsigned a, b, cc, dd;
	uint32_t size = 576;

	if (__get_cpuid_count(0xd, 0, &a, &b, &cc, &dd) && b >= 576)
		size = b;
	if (size > sizeof(((struct kvm_xsave *)0)->region))
		size = sizeof(((struct kvm_xsave *)0)->region);
	return size;
}

/* The tracee's XSAVE image, with XCR0 in the software bytes where Linux's
 * regset puts it (USER_XSTATE_XCR0_WORD: gdb reads the features there). */
static long xsave_get(struct thread *c, struct kvm_xsave *xs)
{
	if (ioctl(c->vcpu.fd, KVM_GET_XSAVE, xs) < 0)
		return -EIO;
	uint8_t *img = (uint8_t *)xs->region;
	memset(img + 464, 0, 48);
	uint64_t xcr0 = c->dom->guest_xcr0 ? c->dom->guest_xcr0 : 3;
	memcpy(img + 464, &xcr0, 8);
	return 0;
}

/* Puts back an image the tracer changed: KVM checks it (reserved MXCSR
 * bits, unknown features: EINVAL, as Linux's checks). */
static long xsave_set(struct thread *c, struct kvm_xsave *xs)
{
	memset((uint8_t *)xs->region + 464, 0, 48);
	return ioctl(c->vcpu.fd, KVM_SET_XSAVE, xs) < 0 ? -EINVAL : 0;
}

/* PEEKUSER/POKEUSER: a word of struct user: the registers, the debug
 * registers (kept, not applied: DR7 may enable nothing), zero elsewhere. */
static long user_word(struct thread *c, uint64_t off, uint64_t *val, bool write)
{
	if (off & 7 || off >= USER_SIZE)
		return -EIO;
	if (off < sizeof(struct user_regs_struct)) {
		struct user_regs_struct u;
		regs_get(c, &u);
		if (!write) {
			memcpy(val, (uint8_t *)&u + off, 8);
			return 0;
		}
		memcpy((uint8_t *)&u + off, val, 8);
		return regs_set(c, &u);
	}
	if (off >= DR_OFFSET && off < DR_OFFSET + 64) {
		int n = (int)((off - DR_OFFSET) / 8);
		if (!write) {
			*val = n == 6 ? 0xffff0ff0ULL : n == 7 ? 0x400 : c->pt.dr[n];
			return 0;
		}
		if (n == 4 || n == 5 || (n < 4 && *val >= USER_MAX) || (n == 7 && (*val & 0xff)))
			return -EIO;
		c->pt.dr[n] = *val;
		return 0;
	}
	if (!write)
		*val = 0;
	return write ? -EIO : 0;
}

static long regset(struct thread *t, struct thread *c, uint64_t type, gva_t uiov, bool write)
{
	struct domain *d = t->dom;
	struct { uint64_t base, len; } iov;
	static __thread struct kvm_xsave xs;
	struct user_regs_struct u;
	uint8_t *src;
	size_t size;

	if (copy_from_user(d, &iov, uiov, sizeof(iov)))
		return -EFAULT;
	switch (type) {
	case NT_PRSTATUS_K:
		regs_get(c, &u);
		src = (uint8_t *)&u;
		size = sizeof(u);
		break;
	case NT_PRFPREG_K:
	case NT_X86_XSTATE_K:
		if (xsave_get(c, &xs))
			return -EIO;
		src = (uint8_t *)xs.region;
		size = type == NT_PRFPREG_K ? 512 : xsave_size();
		break;
	default:
		return -EINVAL;
	}
	size_t n = iov.len < size ? (size_t)iov.len : size;
	if (!write) {
		if (copy_to_user(d, iov.base, src, n))
			return -EFAULT;
	} else {
		/* Linux takes a partial NT_PRSTATUS; the FPU images whole. */
		if (type != NT_PRSTATUS_K && n != size)
			return -EINVAL;
		if (copy_from_user(d, src, iov.base, n))
			return -EFAULT;
		long r = type == NT_PRSTATUS_K ? regs_set(c, &u) : xsave_set(c, &xs);
		if (r)
			return r;
	}
	iov.len = n;
	return copy_to_user(d, uiov + 8, &iov.len, 8) ? -EFAULT : 0;
}

/* PTRACE_GET_SYSCALL_INFO: what the stop is — entry, exit or neither. */
static long syscall_info(struct thread *t, struct thread *c, uint64_t size, gva_t buf)
{
	struct syscall_info {
		uint8_t op, pad[3];
		uint32_t arch;
		uint64_t ip, sp;
		union {
			struct { uint64_t nr, args[6]; } entry;
			struct { int64_t rval; uint8_t is_error; } exit;
		};
	} i;
	const struct kvm_regs *r = &c->regs;
	size_t len = offsetof(struct syscall_info, entry);

	memset(&i, 0, sizeof(i));
	i.arch = AUDIT_ARCH_X86_64_K;
	i.ip = r->rip;
	i.sp = r->rsp;
	if (c->pt.kind == PTS_SYSCALL && !c->pt.at_exit) {
		i.op = 1;
		i.entry.nr = c->pt.orig_rax;
		const uint64_t a[6] = { r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9 };
		memcpy(i.entry.args, a, sizeof(a));
		len = offsetof(struct syscall_info, entry.args) + sizeof(i.entry.args);
	} else if (c->pt.kind == PTS_SYSCALL) {
		i.op = 2;
		i.exit.rval = (int64_t)r->rax;
		i.exit.is_error = (uint64_t)r->rax >= (uint64_t)-4095;
		len = offsetof(struct syscall_info, exit.is_error) + 1;
	}
	size_t n = size < len ? (size_t)size : len;
	if (n && copy_to_user(t->dom, buf, &i, n))
		return -EFAULT;
	return (long)len;
}

static bool valid_sig(uint64_t sig)
{
	return sig <= NSIG_K;
}

static long do_traceme(struct thread *t)
{
	struct domain *d = t->dom;
	struct process *pp = proc_find(d, t->proc->ppid);

	if (!pp || pp == t->proc || pp->zombie || pp->exiting)
		return -EPERM;  /* the first process's parent is outside the domain */
	/* The parent's thread that forked it (Linux's real_parent), else
	 * its main thread, else any live one of it. */
	struct thread *tracer = t->proc->fork_tid ? thread_find(d, t->proc->fork_tid) : NULL;
	if (!tracer || tracer->proc != pp)
		tracer = thread_find(d, pp->pid);
	for (int i = 0; !tracer && i < MAX_THREADS; i++)
		if (d->threads[i] && d->threads[i]->proc == pp && !d->threads[i]->exited)
			tracer = d->threads[i];
	if (!tracer || ptrace_traced(&t->pt))
		return -EPERM;
	return ptrace_attach(tracer, t, false, true, 0) == 0 ? 0 : -EPERM;
}

static long sys_ptrace(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	long req = (long)a[0], err;
	int pid = (int)a[1];
	gva_t addr = a[2], data = a[3];
	struct thread *c;

	if (req == PTR_TRACEME)
		return do_traceme(t);
	if (req == PTR_ATTACH || req == PTR_SEIZE) {
		if (req == PTR_SEIZE && (addr || (data & ~(uint64_t)PT_O_MASK)))
			return -EIO;
		if (pid <= 0 || !(c = thread_find(d, pid)))
			return -ESRCH;
		return ptrace_attach(t, c, req == PTR_SEIZE, false, req == PTR_SEIZE ? (uint32_t)data : 0);
	}
	/* KILL and INTERRUPT need a tracee, not a stopped one. */
	bool need_stop = req != PTR_KILL && req != PTR_INTERRUPT;
	if (!(c = ptrace_tracee(t, pid, need_stop, &err)))
		return err;
	switch (req) {
	case PTR_PEEKTEXT: case PTR_PEEKDATA: {
		uint64_t w;
		if (procmem_access(d, c->proc, addr, &w, 8, false, false))
			return -EIO;
		return copy_to_user(d, data, &w, 8) ? -EFAULT : 0;
	}
	case PTR_POKETEXT: case PTR_POKEDATA:
		return procmem_access(d, c->proc, addr, &data, 8, true, true) ? -EIO : 0;
	case PTR_PEEKUSR: {
		uint64_t w;
		long r = user_word(c, addr, &w, false);
		return r ? r : copy_to_user(d, data, &w, 8) ? -EFAULT : 0;
	}
	case PTR_POKEUSR:
		return user_word(c, addr, &data, true);
	case PTR_GETREGS: {
		struct user_regs_struct u;
		regs_get(c, &u);
		return copy_to_user(d, data, &u, sizeof(u)) ? -EFAULT : 0;
	}
	case PTR_SETREGS: {
		struct user_regs_struct u;
		if (copy_from_user(d, &u, data, sizeof(u)))
			return -EFAULT;
		return regs_set(c, &u);
	}
	case PTR_GETFPREGS: case PTR_SETFPREGS: {
		static __thread struct kvm_xsave xs;
		if (xsave_get(c, &xs))
			return -EIO;
		if (req == PTR_GETFPREGS)
			return copy_to_user(d, data, xs.region, 512) ? -EFAULT : 0;
		if (copy_from_user(d, xs.region, data, 512))
			return -EFAULT;
		return xsave_set(c, &xs);
	}
	case PTR_GETREGSET: case PTR_SETREGSET:
		return regset(t, c, addr, data, req == PTR_SETREGSET);
	case PTR_ARCH_PRCTL:
		/* addr is the value's address, data the code (Linux's order). */
		if (data == 0x1003 || data == 0x1004)
			return copy_to_user(d, addr, data == 0x1003 ? &c->fs_base : &c->gs_base, 8) ? -EFAULT : 0;
		return -EINVAL;
	case PTR_CONT: case PTR_SYSCALL: case PTR_SINGLESTEP:
		if (!valid_sig(data))
			return -EIO;
		ptrace_resume(c, req == PTR_CONT ? PT_RUN : req == PTR_SYSCALL ? PT_SYSCALL : PT_STEP, (int)data);
		return 0;
	case PTR_DETACH:
		if (!valid_sig(data))
			return -EIO;
		ptrace_detach(c, (int)data);
		return 0;
	case PTR_KILL:
		proc_exit_group(c->proc, SIGKILL);
		return 0;
	case PTR_INTERRUPT:
		if (!c->pt.seized)
			return -EIO;
		ptrace_interrupt(c);
		return 0;
	case PTR_LISTEN:
		return ptrace_listen(c);
	case PTR_SETOPTIONS:
		if (data & ~(uint64_t)PT_O_MASK)
			return -EINVAL;
		c->pt.options = (uint32_t)data;
		return 0;
	case PTR_GETEVENTMSG:
		return copy_to_user(d, data, &c->pt.eventmsg, 8) ? -EFAULT : 0;
	case PTR_GETSIGINFO:
		if (c->pt.kind != PTS_SIGNAL)
			return -EINVAL;
		return copy_to_user(d, data, &c->pt.info, sizeof(c->pt.info)) ? -EFAULT : 0;
	case PTR_SETSIGINFO:
		if (c->pt.kind != PTS_SIGNAL)
			return -EINVAL;
		return copy_from_user(d, &c->pt.info, data, sizeof(c->pt.info)) ? -EFAULT : 0;
	case PTR_GETSIGMASK:
		if (addr != 8)
			return -EINVAL;
		return copy_to_user(d, data, &c->sigmask, 8) ? -EFAULT : 0;
	case PTR_SETSIGMASK: {
		uint64_t m;
		if (addr != 8)
			return -EINVAL;
		if (copy_from_user(d, &m, data, 8))
			return -EFAULT;
		c->sigmask = m & ~SIG_UNBLOCKABLE;
		return 0;
	}
	case PTR_GET_SYSCALL_INFO:
		return syscall_info(t, c, addr, data);
	default:
		return -EIO;
	}
}

/* process_vm_readv/writev: the local and remote iovecs walked together. */
static long vm_rw(struct thread *t, const uint64_t a[6], bool write)
{
	struct domain *d = t->dom;
	int pid = (int)a[0];
	uint64_t liovcnt = a[2], riovcnt = a[4];
	struct kiov { uint64_t base, len; };

	if (a[5])
		return -EINVAL;
	if (liovcnt > 1024 || riovcnt > 1024)
		return -EINVAL;
	struct thread *c = pid > 0 ? thread_find(d, pid) : NULL;
	struct process *p = c ? c->proc : NULL;
	if (!p || p->zombie)
		return -ESRCH;
	long done = 0;
	uint64_t li = 0, ri = 0, loff = 0, roff = 0;
	struct kiov l = { 0, 0 }, r = { 0, 0 };
	static __thread uint8_t buf[4096];
	if (liovcnt && copy_from_user(d, &l, a[1], sizeof(l)))
		return -EFAULT;
	if (riovcnt && copy_from_user(d, &r, a[3], sizeof(r)))
		return -EFAULT;
	while (li < liovcnt && ri < riovcnt) {
		if (loff == l.len) {
			if (++li < liovcnt && copy_from_user(d, &l, a[1] + li * sizeof(l), sizeof(l)))
				return done ? done : -EFAULT;
			loff = 0;
			continue;
		}
		if (roff == r.len) {
			if (++ri < riovcnt && copy_from_user(d, &r, a[3] + ri * sizeof(r), sizeof(r)))
				return done ? done : -EFAULT;
			roff = 0;
			continue;
		}
		size_t n = MIN(MIN(l.len - loff, r.len - roff), sizeof(buf));
		/* A partial transfer stops at the first fault, as Linux's. */
		if (!write) {
			if (procmem_access(d, p, r.base + roff, buf, n, false, false))
				return done ? done : -EFAULT;
			if (copy_to_user(d, l.base + loff, buf, n))
				return done ? done : -EFAULT;
		} else {
			if (copy_from_user(d, buf, l.base + loff, n))
				return done ? done : -EFAULT;
			if (procmem_access(d, p, r.base + roff, buf, n, true, false))
				return done ? done : -EFAULT;
		}
		done += (long)n;
		loff += n;
		roff += n;
	}
	return done;
}

static long sys_process_vm_readv(struct thread *t, const uint64_t a[6])
{
	return vm_rw(t, a, false);
}

static long sys_process_vm_writev(struct thread *t, const uint64_t a[6])
{
	return vm_rw(t, a, true);
}

const struct syscall_desc sys_ptrace_table[] = {
	{ SYS_ptrace, "ptrace", sys_ptrace },
	{ SYS_process_vm_readv, "process_vm_readv", sys_process_vm_readv },
	{ SYS_process_vm_writev, "process_vm_writev", sys_process_vm_writev },
	{ -1, NULL, NULL },
};
