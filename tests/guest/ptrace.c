/* ptrace.c: a tracer and its tracee — TRACEME and exec, syscall stops (counted and changed), PEEK/POKE, registers, an int3 breakpoint, single steps, signals suppressed and injected, DETACH, SEIZE with INTERRUPT, fork following — printed so that a native run and a domain's compare line by line. Usage: ptrace (the tracer; it runs itself as "ptrace target"), or ptrace fuzz N (N hostile requests) */
#include "guest.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO 0x420e
#endif

/* The target's state: this binary is static and not PIE, so the tracer
 * knows these addresses in its tracee (the same program). */
static volatile long ppid_results[3];
static volatile long magic = 0x1111;
static volatile int usr1_count, usr2_count, bp_hits;

__attribute__((noinline)) void bp_func(void)
{
	__asm__ volatile("nop; nop; nop; nop");
	bp_hits++;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

static void on_usr2(int sig)
{
	(void)sig;
	usr2_count++;
}

/* The tracee, after exec: what it does, the tracer watches and changes. */
static int target(void)
{
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	for (int i = 0; i < 3; i++)
		ppid_results[i] = syscall(SYS_getppid);
	raise(SIGUSR1);         /* the tracer suppresses it */
	raise(SIGUSR2);         /* the tracer delivers SIGUSR1 instead */
	bp_func();              /* a breakpoint, then single steps */
	int code = (usr1_count == 1 && usr2_count == 0 ? 1 : 0) | (magic == 0x2222 ? 2 : 0) |
		   (bp_hits == 1 ? 4 : 0);
	_exit(16 + code);
}

static const char *sig_name(int s)
{
	static char buf[32];
	const char *n = sigabbrev_np(s & 0x7f);
	snprintf(buf, sizeof(buf), "%s%s%s", n ? "SIG" : "?", n ? n : "", s & 0x80 ? "|0x80" : "");
	return buf;
}

/* Waits for pid and prints how it stopped or ended, under `what`. */
static int wait_show(const char *what, pid_t pid)
{
	int st = 0;
	pid_t r = waitpid(pid, &st, __WALL);
	if (r != pid) {
		printf("%s: waitpid %s\n", what, errname(errno));
		return -1;
	}
	if (WIFSTOPPED(st))
		printf("%s: stopped %s event %d\n", what, sig_name(WSTOPSIG(st)), st >> 16);
	else if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed %s\n", what, sig_name(WTERMSIG(st)));
	fflush(stdout);
	return st;
}

static int wait_quiet(pid_t pid)
{
	int st = 0;
	return waitpid(pid, &st, __WALL) == pid ? st : -1;
}

static void traceme_and_exec(const char *self)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
		long again = ptrace(PTRACE_TRACEME, 0, 0, 0);
		if (r != 0 || again != -1 || errno != EPERM)
			_exit(99);
		execl(self, self, "target", (char *)NULL);
		_exit(98);
	}
	wait_show("exec", c);
	show("setoptions TRACESYSGOOD", ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACESYSGOOD));

	/* Syscall stops: count getppid's, and turn the third into getpid. */
	int enters = 0, exits = 0, info_ok = 1;
	bool in = false;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, c, 0, 0) != 0)
			break;
		int st = wait_quiet(c);
		if (st < 0 || !WIFSTOPPED(st) || WSTOPSIG(st) != (SIGTRAP | 0x80)) {
			printf("syscall loop: unexpected status %#x\n", st);
			break;
		}
		struct user_regs_struct regs;
		ptrace(PTRACE_GETREGS, c, 0, &regs);
		in = !in;
		/* PTRACE_GET_SYSCALL_INFO agrees with the registers. */
		struct {
			uint8_t op, pad[3];
			uint32_t arch;
			uint64_t ip, sp, nr_or_rval;
		} info;
		long n = ptrace(PTRACE_GET_SYSCALL_INFO, c, sizeof(info), &info);
		if (n < 24 || info.op != (in ? 1 : 2) || info.ip != regs.rip ||
		    (in && info.nr_or_rval != regs.orig_rax) || (!in && info.nr_or_rval != regs.rax))
			info_ok = 0;
		if (in && regs.orig_rax == SYS_tgkill)
			break;  /* raise(): on to the signals */
		if (regs.orig_rax != SYS_getppid)
			continue;
		if (in) {
			enters++;
			if (regs.rax != (unsigned long long)-ENOSYS)
				printf("enter stop: rax %lld, not -ENOSYS\n", (long long)regs.rax);
			if (enters == 3) {
				regs.orig_rax = SYS_getpid;
				show("setregs: getppid becomes getpid", ptrace(PTRACE_SETREGS, c, 0, &regs));
			}
		} else {
			exits++;
		}
	}
	printf("getppid: %d enter stops, %d exit stops\n", enters, exits);
	printf("syscall info matches the registers: %s\n", info_ok ? "yes" : "no");

	/* raise(SIGUSR1): suppressed; raise(SIGUSR2): SIGUSR1 given instead. */
	ptrace(PTRACE_CONT, c, 0, 0);
	int st = wait_show("first signal", c);
	siginfo_t si;
	show("getsiginfo", ptrace(PTRACE_GETSIGINFO, c, 0, &si));
	printf("siginfo: %s code %d from itself %s\n", sig_name(si.si_signo), si.si_code,
	       si.si_pid == c ? "yes" : "no");
	ptrace(PTRACE_CONT, c, 0, 0);
	st = wait_show("second signal", c);
	(void)st;

	/* Plant int3 at bp_func before it runs: the word under it kept. */
	uintptr_t bp = (uintptr_t)bp_func;
	errno = 0;
	long orig = ptrace(PTRACE_PEEKTEXT, c, (void *)bp, 0);
	printf("peektext bp_func: %s\n", errno ? errname(errno) : "ok");
	long planted = (orig & ~0xffL) | 0xcc;
	show("poketext int3 into read-only text", ptrace(PTRACE_POKETEXT, c, (void *)bp, (void *)planted));
	ptrace(PTRACE_CONT, c, 0, (void *)(long)SIGUSR1);
	wait_show("breakpoint", c);
	struct user_regs_struct regs;
	ptrace(PTRACE_GETREGS, c, 0, &regs);
	printf("rip after int3 is bp_func+1: %s\n", regs.rip == bp + 1 ? "yes" : "no");
	struct iovec iov = { &regs, sizeof(regs) };
	show("getregset NT_PRSTATUS", ptrace(PTRACE_GETREGSET, c, (void *)1 /* NT_PRSTATUS */, &iov));
	printf("regset size: %zu\n", iov.iov_len);
	errno = 0;
	long ofs = offsetof(struct user, regs) + offsetof(struct user_regs_struct, rip);
	long peek_rip = ptrace(PTRACE_PEEKUSER, c, (void *)ofs, 0);
	printf("peekuser rip agrees: %s\n", peek_rip == (long)regs.rip ? "yes" : "no");
	struct user_fpregs_struct fp;
	show("getfpregs", ptrace(PTRACE_GETFPREGS, c, 0, &fp));
	printf("mxcsr: %#x\n", fp.mxcsr);

	/* Its memory: what the target computed, and a value to change. */
	long r0 = ptrace(PTRACE_PEEKDATA, c, (void *)&ppid_results[0], 0);
	long r1 = ptrace(PTRACE_PEEKDATA, c, (void *)&ppid_results[1], 0);
	long r2 = ptrace(PTRACE_PEEKDATA, c, (void *)&ppid_results[2], 0);
	printf("getppid results: parent %s, parent %s, its own pid %s\n", r0 == getpid() ? "yes" : "no",
	       r1 == getpid() ? "yes" : "no", r2 == c ? "yes" : "no");
	printf("magic: %#lx\n", ptrace(PTRACE_PEEKDATA, c, (void *)&magic, 0));
	show("pokedata magic", ptrace(PTRACE_POKEDATA, c, (void *)&magic, (void *)0x2222L));
	errno = 0;
	ptrace(PTRACE_PEEKDATA, c, (void *)8, 0);
	printf("peekdata unmapped: %s\n", errname(errno));

	/* Back to the original instruction, RIP onto it, then three steps. */
	show("poketext restore", ptrace(PTRACE_POKETEXT, c, (void *)bp, (void *)orig));
	regs.rip = bp;
	show("setregs rip", ptrace(PTRACE_SETREGS, c, 0, &regs));
	unsigned long long prev = bp;
	int steps_ok = 1;
	for (int i = 0; i < 3; i++) {
		ptrace(PTRACE_SINGLESTEP, c, 0, 0);
		int s = wait_quiet(c);
		if (!WIFSTOPPED(s) || WSTOPSIG(s) != SIGTRAP) {
			printf("step %d: status %#x\n", i, s);
			steps_ok = 0;
			break;
		}
		ptrace(PTRACE_GETREGS, c, 0, &regs);
		if (regs.rip <= prev || regs.rip >= bp + 64)
			steps_ok = 0;
		prev = regs.rip;
	}
	printf("three single steps advance inside bp_func: %s\n", steps_ok ? "yes" : "no");
	show("detach", ptrace(PTRACE_DETACH, c, 0, 0));
	errno = 0;
	ptrace(PTRACE_PEEKDATA, c, (void *)&magic, 0);
	printf("peek after detach: %s\n", errname(errno));
	wait_show("target", c);
}

/* SEIZE a sleeping child, INTERRUPT it, then follow its fork. */
static void seize_and_follow(void)
{
	int p[2];
	if (pipe(p))
		return;
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(p[1]);
		if (read(p[0], &b, 1) != 1)     /* blocks until the tracer says */
			_exit(97);
		pid_t g = fork();
		if (g == 0)
			_exit(5);
		int st;
		waitpid(g, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 96);
	}
	close(p[0]);
	show("seize with TRACEFORK", ptrace(PTRACE_SEIZE, c, 0, PTRACE_O_TRACEFORK));
	show("interrupt", ptrace(PTRACE_INTERRUPT, c, 0, 0));
	wait_show("interrupted", c);
	show("cont", ptrace(PTRACE_CONT, c, 0, 0));
	if (write(p[1], "x", 1) != 1)
		printf("write: %s\n", errname(errno));
	close(p[1]);
	int st = wait_quiet(c);
	printf("fork event: %s\n", WIFSTOPPED(st) && st >> 16 == PTRACE_EVENT_FORK ? "yes" : "no");
	unsigned long g = 0;
	ptrace(PTRACE_GETEVENTMSG, c, 0, &g);
	int gst = wait_quiet((pid_t)g);
	printf("grandchild auto-attached, stops: %s event %d\n", sig_name(WSTOPSIG(gst)), gst >> 16);
	ptrace(PTRACE_CONT, (pid_t)g, 0, 0);
	ptrace(PTRACE_CONT, c, 0, 0);
	/* The grandchild's end is the tracer's to see first. */
	wait_show("grandchild", (pid_t)g);
	/* Its parent then sees it too (SIGCHLD, which the tracer sees first
	 * and passes on), and reports it by its own exit. */
	st = wait_show("child", c);
	if (WIFSTOPPED(st)) {
		ptrace(PTRACE_CONT, c, 0, (void *)(long)WSTOPSIG(st));
		wait_show("child", c);
	}
}

/* Hostile requests: random requests, addresses and data (bad pointers,
 * kernel addresses, garbage registers and FPU images) at a stopped
 * tracee, which is resumed and stopped again now and then, and
 * process_vm_readv with random iovecs. Every answer must be 0, a value
 * or a Linux errno; the tracer's VMM must live on. */
static uint64_t fz_state = 12345;

static uint64_t fz_rnd(void)
{
	fz_state ^= fz_state << 13;
	fz_state ^= fz_state >> 7;
	fz_state ^= fz_state << 17;
	return fz_state;
}

static uint64_t fz_val(void)
{
	static char buf[4096];
	switch (fz_rnd() % 8) {
	case 0: return 0;
	case 1: return fz_rnd();
	case 2: return (uint64_t)buf + fz_rnd() % 4096;
	case 3: return 0xffff800000000000ULL + fz_rnd() % 0x1000000;
	case 4: return fz_rnd() % 1024;
	case 5: return (uint64_t)-1;
	case 6: return 0x7ffffffff000ULL + fz_rnd() % 0x2000;
	default: return fz_rnd() % 64;
	}
}

static int fuzz(int n)
{
	static const long reqs[] = { 1, 2, 3, 4, 5, 6, 12, 13, 14, 15, 18, 19, 25, 30, 0x4200, 0x4201,
				     0x4202, 0x4203, 0x4204, 0x4205, 0x4207, 0x4208, 0x4209, 0x420a,
				     0x420b, 0x420e, 9999 };
	int bad = 0, st;
	pid_t c = fork();
	if (c == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		for (;;)
			getppid();
	}
	waitpid(c, &st, 0);
	for (int i = 0; i < n; i++) {
		long r = reqs[fz_rnd() % (sizeof(reqs) / sizeof(reqs[0]))];
		uint64_t a = fz_val(), b = fz_val();
		if (syscall(SYS_ptrace, r, c, a, b) == -1 && (errno <= 0 || errno > 133))
			bad++;
		if (i % 97 == 0 && syscall(SYS_ptrace, PTRACE_SYSCALL, c, 0, 0) == 0 &&
		    (waitpid(c, &st, __WALL) != c || !WIFSTOPPED(st))) {
			printf("fuzz: the tracee is gone: %#x\n", st);
			return 1;
		}
		long lc = (long)(fz_rnd() % 4), rc = (long)(fz_rnd() % 4);
		a = fz_val(), b = fz_val();
		if (syscall(SYS_process_vm_readv, c, a, lc, b, rc, fz_rnd() % 2 ? 0 : fz_val()) == -1 &&
		    (errno <= 0 || errno > 133))
			bad++;
	}
	kill(c, SIGKILL);
	waitpid(c, &st, 0);
	printf("fuzz: %d requests, %d not an errno, the tracee %s\n", n, bad,
	       WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? "killed" : "not killed");
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "target"))
		return target();
	if (argc > 2 && !strcmp(argv[1], "fuzz"))
		return fuzz(atoi(argv[2]));
	setvbuf(stdout, NULL, _IOLBF, 0);
	show("ptrace attach self", ptrace(PTRACE_ATTACH, getpid(), 0, 0));
	show("peek a non-tracee", ptrace(PTRACE_PEEKDATA, getppid(), 0, 0));
	traceme_and_exec(argv[0]);
	seize_and_follow();
	return 0;
}
