/* vfilter.c: pdvm's seccomp allow-lists (libseccomp) — one for the vCPU threads, one for pdvm's own threads after set-up; anything else ends pdvm with a line naming it. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include "status.h"
#include "vfilter.h"
#include "cred.h"

/*
 * A thread that runs guest code handles every byte a hostile guest sends,
 * so it is the one an exploit of pdvm would own: it gets the shorter list,
 * stacked on the one pdvm's own threads (control socket, signals, image
 * loading, exit) get once set-up is over (vfilter_process). ip and nft,
 * which would need exec, run in the spawner (net/tool.c).
 *
 * The list is what the VMM calls for a guest (vmm/sys_*.c, gio.c, sock.c,
 * path.c), what glibc does underneath (malloc, pthread_create, the kick
 * signal, kcmp of its own fds for SCM_RIGHTS), what a sanitizer build
 * needs to report, and more filters (which only ever narrow). Left out on purpose:
 * set*id and setgroups (the saved uid 0 stays out of reach: cred.c),
 * execve, fork (clone without CLONE_THREAD), ptrace, setns, unshare,
 * mount, kill of other processes, bpf, io_uring, userfaultfd, keyctl,
 * module and kexec calls, reboot. They are refused with SIGSYS, whose
 * handler names the call and ends pdvm (125).
 */
static const char *const allowed[] = {
	/* memory */
	"mmap", "munmap", "mprotect", "madvise", "mremap", "brk", "mincore", "msync", "memfd_create",
	"fallocate", "mlock", "munlock",
	/* files */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
	"pwritev2", "open", "openat", "openat2", "close", "close_range", "dup", "dup2", "dup3", "fcntl",
	"flock", "fstat", "stat", "lstat", "newfstatat", "statx", "fstatfs", "statfs", "lseek",
	"getdents64", "readlink", "readlinkat", "mkdir", "mkdirat", "mknodat", "unlink", "unlinkat",
	"rmdir", "symlink", "symlinkat", "link", "linkat", "rename", "renameat", "renameat2", "chmod",
	"fchmod", "fchmodat", "fchown", "fchownat", "lchown", "utimensat", "ftruncate", "truncate",
	"fsync", "fdatasync", "syncfs", "sync_file_range", "sendfile", "copy_file_range", "splice", "tee", "access",
	"faccessat", "faccessat2", "umask", "fadvise64", "getcwd", "chdir", "fchdir", "ioctl",
	"pipe", "pipe2", "eventfd2", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "poll",
	"ppoll", "select", "pselect6", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"getxattr", "fgetxattr", "listxattr", "flistxattr", "setxattr", "fsetxattr", "removexattr",
	"fremovexattr",
	/* sockets */
	"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "shutdown",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "sendmsg", "recvmsg", "sendto",
	"recvfrom", "sendmmsg", "recvmmsg",
	/* time, identity as read, system facts */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
	"times", "getrusage", "sysinfo", "uname", "getrandom", "getpid", "gettid", "getppid", "getuid",
	"geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "getpgrp", "getrlimit",
	"sched_yield", "sched_getaffinity", "getcpu",
	/* the clock's state, read only: sys_priv.c passes modes 0 or the
	 * read-only adjtime mode, and a thread that is the domain has no
	 * effective CAP_SYS_TIME for anything else (cred.c; unless the
	 * operator opted in to root, which is unsafe by its own terms) */
	"adjtimex",
	/* threads and signals of this process */
	"futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address", "exit", "exit_group",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "rt_sigpending",
	"sigaltstack", "restart_syscall", "membarrier",
};

#define NR_NAMES 512
static char *names[NR_NAMES];
static struct sock_fprog prog;
static int log_fd = -1;
static __thread bool filtered;

/* Async-signal-safe: no stdio in a SIGSYS handler. */
static size_t put(char *b, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		b[at++] = *s++;
	return at;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char num[16], b[256];
	int nr = si->si_syscall, k = (int)sizeof(num) - 1;
	unsigned v = nr < 0 ? 0 : (unsigned)nr;
	num[k] = 0;
	do
		num[--k] = (char)('0' + v % 10);
	while ((v /= 10) && k > 0);
	size_t n = put(b, 0, sizeof(b), "pdvm: seccomp: ");
	n = put(b, n, sizeof(b), filtered ? "a vCPU thread" : "a thread of pdvm's own");
	n = put(b, n, sizeof(b), " made the host system call ");
	n = put(b, n, sizeof(b), nr >= 0 && nr < NR_NAMES && names[nr] ? names[nr] : "(unknown)");
	n = put(b, n, sizeof(b), " (");
	n = put(b, n, sizeof(b), num + k);
	n = put(b, n, sizeof(b), "), which is not on its allow-list: stopping\n");
	ssize_t w = write(2, b, n);
	if (log_fd >= 0)
		w = write(log_fd, b, n);
	(void)w;
	_exit(EXIT_PDVM_ERROR);
}

static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned nargs,
		struct scmp_arg_cmp a)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return -EINVAL;
	return nargs ? seccomp_rule_add(ctx, action, nr, 1, a) : seccomp_rule_add(ctx, action, nr, 0);
}

/* The rules both filters share; 0 or -errno. */
static int common_rules(scmp_filter_ctx ctx, char *why, size_t n)
{
	int r;
	struct scmp_arg_cmp none = { 0 };
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if ((r = rule(ctx, SCMP_ACT_ALLOW, allowed[i], 0, none))) {
			snprintf(why, n, "seccomp rule for %s: %s", allowed[i], strerror(-r));
			return r;
		}
	/* Threads only (pthread_create); glibc falls back from clone3, whose
	 * flags a filter cannot see, to clone on ENOSYS. Signals only to this
	 * process's own threads (the kick); limits only of this process. */
	if ((r = rule(ctx, SCMP_ACT_ALLOW, "clone", 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) ||
	    (r = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, none)) ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "tgkill", 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()))) ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "prlimit64", 1, SCMP_A0(SCMP_CMP_EQ, 0))) ||
	    /* its own time slice only (sys_sched.c) */
	    (r = rule(ctx, SCMP_ACT_ALLOW, "sched_rr_get_interval", 1, SCMP_A0(SCMP_CMP_EQ, 0))) ||
	    /* its own placement only: a recording's vCPU thread pins itself (thread.c) */
	    (r = rule(ctx, SCMP_ACT_ALLOW, "sched_setaffinity", 1, SCMP_A0(SCMP_CMP_EQ, 0))) ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kcmp), 2, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
				  SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)getpid()))) ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, SCMP_A0(SCMP_CMP_EQ, PR_GET_SECCOMP))) ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME))) ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME))) ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_VMA))) ||
	    /* no_new_privs only ever narrows; a vCPU thread sets it before its filter */
	    (r = rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS))) ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "seccomp", 1, SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER)))) {
		snprintf(why, n, "seccomp argument rules: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int build(char *why, size_t n)
{
	int r = -ENOMEM, mfd = -1;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx || (r = common_rules(ctx, why, n)))
		goto out;
	/* The BPF program, once: every vCPU thread loads the same bytes. */
	struct stat st;
	mfd = memfd_create("pdvm-seccomp", MFD_CLOEXEC);
	if (mfd < 0 || (r = seccomp_export_bpf(ctx, mfd)) || fstat(mfd, &st) ||
	    !(prog.filter = malloc((size_t)st.st_size)) ||
	    pread(mfd, prog.filter, (size_t)st.st_size, 0) != st.st_size) {
		r = r ? r : -EIO;
		snprintf(why, n, "seccomp: exporting the filter: %s", strerror(-r));
		goto out;
	}
	prog.len = (unsigned short)((size_t)st.st_size / sizeof(struct sock_filter));
	for (int i = 0; i < NR_NAMES; i++)
		names[i] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, i);
	r = 0;
out:
	if (mfd >= 0)
		close(mfd);
	if (ctx)
		seccomp_release(ctx);
	return r;
}

int vfilter_init(int logfd, char *why, size_t n)
{
	log_fd = logfd;
	if (!prog.filter) {
		int r = build(why, n);
		if (r)
			return r;
	}
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL)) {
		snprintf(why, n, "seccomp: SIGSYS handler: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* pdvm's own threads need, beyond the vCPU threads' list, only what the
 * snapshot, the lazy loader and the exit do with the same calls; the
 * tools they used to exec run in the spawner (net/tool.c). A sanitizer
 * build keeps its own threads unfiltered: LeakSanitizer stops the world
 * at exit with a non-thread clone and ptrace. */
int vfilter_process(const struct dom_cred *cr, char *why, size_t n)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)cr, (void)why, (void)n;
	return 0;
#else
	int r = -ENOMEM;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (ctx && !(r = common_rules(ctx, why, n)) && !cr->as_root && !cr->own) {
		/* A new vCPU thread becomes the domain (cred_enter) before it
		 * loads its own filter: exactly these three calls, which only
		 * ever lower a root thread to the domain. */
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setgroups), 1, SCMP_A0(SCMP_CMP_EQ, 0))) ||
		    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setresgid), 3, SCMP_A0(SCMP_CMP_EQ, cr->gid),
					  SCMP_A1(SCMP_CMP_EQ, cr->gid), SCMP_A2(SCMP_CMP_EQ, 0))) ||
		    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setresuid), 3, SCMP_A0(SCMP_CMP_EQ, cr->uid),
					  SCMP_A1(SCMP_CMP_EQ, cr->uid), SCMP_A2(SCMP_CMP_EQ, 0))))
			snprintf(why, n, "seccomp identity rules: %s", strerror(-r));
	}
	if (ctx && !r) {
		/* Every thread there is (the lazy loader may run already). */
		if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) || (r = seccomp_load(ctx)))
			snprintf(why, n, "seccomp: loading the process filter: %s", strerror(-r));
	}
	if (ctx)
		seccomp_release(ctx);
	return r;
#endif
}

bool vfilter_active(void)
{
	return filtered;
}

int vfilter_enter(bool inherited)
{
	if (!inherited) {
		if (!prog.filter)
			return -EINVAL;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
			return -errno;
	}
	filtered = true;
	return 0;
}
