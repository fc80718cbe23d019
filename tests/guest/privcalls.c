/* privcalls.c: the privileged and meaningless system calls as an unprivileged program sees them (modules, reboot, kexec, swap, mounts, clocks, host names, I/O ports, quotas, syslog, ptrace, bpf, namespaces, perf, removed calls), printed so that a native run and a domain's can be compared line by line. Usage: privcalls [domain] */
#include "guest.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <linux/perf_event.h>

/* Constants of headers that clash with glibc's (linux/mount.h against
 * sys/mount.h) or that glibc 2.36 lacks. */
#define MS_NOUSER_K		(1U << 31)
#define UMOUNT_NOFOLLOW_K	0x8
#define OPEN_TREE_CLONE_K	1
#define AT_RECURSIVE_K		0x8000
#define FSCONFIG_SET_FLAG_K	0
#define FSCONFIG_SET_STRING_K	1
#define MOUNT_ATTR_SIZE_VER0_K	32
#define ADJ_ADJTIME_K		0x8000
#define Q_SYNC_K		0x800001
#define Q_GETINFO_K		0x800005
#define Q_GETQUOTA_K		0x800007
#define QCMD_K(cmd, type)	(((cmd) << 8) | ((type) & 0xff))
#define SYSLOG_ACTION_CLEAR_K	5
#define SYSLOG_ACTION_CONSOLE_OFF_K 6
#define BPF_MAP_CREATE_K	0
#define FAN_CLASS_NOTIF_K	0
#define FAN_REPORT_FID_K	0x200

/* A call a kernel may be built without (CONFIG_MODULES, CONFIG_KEXEC,
 * CONFIG_X86_IOPL_IOPERM): its ENOSYS prints as what a kernel with it (as
 * Debian's) answers, so that such a host compares too. The domain's own
 * answers are checked exactly by `privcalls domain`. */
static void show_opt(const char *what, long r, const char *configured)
{
	if (r < 0 && errno == ENOSYS)
		printf("%s: %s\n", what, configured);
	else
		show(what, r);
}

/* An address no program maps: the kernel's copy from it faults. */
#define BAD ((void *)8)

static void modules_and_boot(void)
{
	show_opt("init_module", syscall(SYS_init_module, NULL, 0, ""), "EPERM");
	show_opt("finit_module", syscall(SYS_finit_module, -1, "", 0), "EPERM");
	show_opt("finit_module bad flags", syscall(SYS_finit_module, 0, "", ~0), "EPERM");
	show_opt("delete_module", syscall(SYS_delete_module, "pdvm_none", 0), "EPERM");
	/* Wrong magic numbers: even root would get EINVAL. */
	show("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
	show("reboot again", syscall(SYS_reboot, 0, 0, 0, NULL));
	show_opt("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0), "EPERM");
	show_opt("kexec_load bad flags", syscall(SYS_kexec_load, 0, 0, NULL, ~0UL), "EPERM");
	show_opt("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0), "EPERM");
	show_opt("kexec_file_load bad flags", syscall(SYS_kexec_file_load, -1, -1, 0, NULL, ~0UL), "EPERM");
	show("swapon", syscall(SYS_swapon, "/nonexistent-pdvm", 0));
	show("swapon bad flags", syscall(SYS_swapon, "/nonexistent-pdvm", 0x80000000));
	show("swapoff", syscall(SYS_swapoff, "/nonexistent-pdvm"));
	show("acct", syscall(SYS_acct, NULL));
	show("acct bad pointer", syscall(SYS_acct, BAD));
	show("vhangup", syscall(SYS_vhangup));
}

static void mounts(void)
{
	show("mount", syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL));
	show("mount missing target", syscall(SYS_mount, "none", "/nonexistent-pdvm", "tmpfs", 0, NULL));
	show("mount target through a file", syscall(SYS_mount, "none", "/etc/passwd/x", "tmpfs", 0, NULL));
	show("mount bad type pointer", syscall(SYS_mount, "none", "/", BAD, 0, NULL));
	show("mount bad source pointer", syscall(SYS_mount, BAD, "/", "tmpfs", 0, NULL));
	show("mount bad data pointer", syscall(SYS_mount, "none", "/", "tmpfs", 0, BAD));
	show("mount bad target pointer", syscall(SYS_mount, "none", BAD, "tmpfs", 0, NULL));
	show("mount MS_NOUSER", syscall(SYS_mount, "none", "/", "tmpfs", MS_NOUSER_K, NULL));
	show("mount NULL everything but target", syscall(SYS_mount, NULL, "/tmp", NULL, 0, NULL));
	show("umount2", syscall(SYS_umount2, "/", 0));
	show("umount2 missing", syscall(SYS_umount2, "/nonexistent-pdvm", 0));
	show("umount2 nofollow", syscall(SYS_umount2, "/", UMOUNT_NOFOLLOW_K));
	show("umount2 bad flags", syscall(SYS_umount2, "/", 0x100));
	show("umount2 bad pointer", syscall(SYS_umount2, BAD, 0));
	show("pivot_root", syscall(SYS_pivot_root, "/", "/"));
	show("pivot_root bad pointer", syscall(SYS_pivot_root, BAD, BAD));
	char attr[64] = { 0 };
	show("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, attr, MOUNT_ATTR_SIZE_VER0_K));
	show("mount_setattr bad flags", syscall(SYS_mount_setattr, AT_FDCWD, "/", 1, attr, MOUNT_ATTR_SIZE_VER0_K));
	show("mount_setattr small size", syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, attr, 8));
	show("mount_setattr huge size", syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, attr, 8192));
	show("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
	show("fsopen bad flags", syscall(SYS_fsopen, "tmpfs", 0x100));
	show("fsconfig negative fd", syscall(SYS_fsconfig, -1, FSCONFIG_SET_FLAG_K, "ro", NULL, 0));
	show("fsconfig closed fd", syscall(SYS_fsconfig, 999, FSCONFIG_SET_FLAG_K, "ro", NULL, 0));
	show("fsconfig not a context", syscall(SYS_fsconfig, 1, FSCONFIG_SET_FLAG_K, "ro", NULL, 0));
	show("fsconfig flag with a value", syscall(SYS_fsconfig, 1, FSCONFIG_SET_FLAG_K, "ro", "x", 0));
	show("fsconfig string without a value", syscall(SYS_fsconfig, 999, FSCONFIG_SET_STRING_K, "ro", NULL, 0));
	show("fsconfig bad command", syscall(SYS_fsconfig, 999, 99, NULL, NULL, 0));
	show("fsmount", syscall(SYS_fsmount, -1, 0, 0));
	show("fspick", syscall(SYS_fspick, AT_FDCWD, "/", 0));
	show("move_mount", syscall(SYS_move_mount, AT_FDCWD, "/", AT_FDCWD, "/", 0));
	show("open_tree clone", syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE_K));
	show("open_tree recursive without clone", syscall(SYS_open_tree, AT_FDCWD, "/", AT_RECURSIVE_K));
	show("open_tree bad flags", syscall(SYS_open_tree, AT_FDCWD, "/", 0x40));
	show("open_tree missing", syscall(SYS_open_tree, AT_FDCWD, "/nonexistent-pdvm", 0));
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/etc", O_CLOEXEC);
	struct stat st;
	show("open_tree /etc is an O_PATH directory",
	     fd < 0 ? -1 : !fstat(fd, &st) && S_ISDIR(st.st_mode) && (fcntl(fd, F_GETFL) & O_PATH) &&
			   fcntl(fd, F_GETFD) == FD_CLOEXEC && read(fd, attr, 1) < 0 && errno == EBADF);
	int pfd = (int)syscall(SYS_open_tree, fd, "passwd", 0);
	show("open_tree relative is a file", pfd < 0 ? -1 : !fstat(pfd, &st) && S_ISREG(st.st_mode));
	int efd = (int)syscall(SYS_open_tree, fd, "", AT_EMPTY_PATH);
	show("open_tree empty path is the directory", efd < 0 ? -1 : !fstat(efd, &st) && S_ISDIR(st.st_mode));
	show("open_tree empty path without the flag", syscall(SYS_open_tree, fd, "", 0));
	close(fd);
	close(pfd);
	close(efd);
	show("open_tree closed fd", syscall(SYS_open_tree, 999, "x", 0));
}

static void clocks(void)
{
	struct timeval tv;
	struct timespec ts;
	gettimeofday(&tv, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	show("settimeofday", syscall(SYS_settimeofday, &tv, NULL));
	show("settimeofday NULL", syscall(SYS_settimeofday, NULL, NULL));
	show("settimeofday bad pointer", syscall(SYS_settimeofday, BAD, NULL));
	show("settimeofday bad tz pointer", syscall(SYS_settimeofday, &tv, BAD));
	struct timeval bad = { .tv_sec = 1, .tv_usec = 2000000 };
	show("settimeofday bad usec", syscall(SYS_settimeofday, &bad, NULL));
	bad = (struct timeval){ .tv_sec = -1, .tv_usec = 0 };
	show("settimeofday negative", syscall(SYS_settimeofday, &bad, NULL));
	struct timezone tz = { .tz_minuteswest = 24 * 60 };
	show("settimeofday tz out of range", syscall(SYS_settimeofday, NULL, &tz));
	show("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, &ts));
	show("clock_settime monotonic", syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts));
	show("clock_settime unknown clock", syscall(SYS_clock_settime, 99, &ts));
	show("clock_settime bad pointer", syscall(SYS_clock_settime, CLOCK_REALTIME, BAD));
	show("clock_settime bad pointer, monotonic", syscall(SYS_clock_settime, CLOCK_MONOTONIC, BAD));
	struct timespec badts = { .tv_sec = 1, .tv_nsec = 1000000000 };
	show("clock_settime bad nsec", syscall(SYS_clock_settime, CLOCK_REALTIME, &badts));
	/* The process's own CPU clock: MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED). */
	show("clock_settime process CPU clock", syscall(SYS_clock_settime, -6, &ts));

	struct timex tx = { .modes = 0 };
	long state = syscall(SYS_adjtimex, &tx);
	show("adjtimex read", state);
	printf("adjtimex read: tick %ld, status has STA_UNSYNC %d\n", tx.tick, !!(tx.status & STA_UNSYNC));
	tx = (struct timex){ .modes = ADJ_OFFSET_SS_READ };
	show("adjtimex adjtime read", syscall(SYS_adjtimex, &tx) == state);
	tx = (struct timex){ .modes = ADJ_FREQUENCY };
	show("adjtimex set frequency", syscall(SYS_adjtimex, &tx));
	tx = (struct timex){ .modes = ADJ_OFFSET_SINGLESHOT };
	show("adjtimex adjtime", syscall(SYS_adjtimex, &tx));
	tx = (struct timex){ .modes = ADJ_ADJTIME_K };
	show("adjtimex adjtime mode alone", syscall(SYS_adjtimex, &tx));
	tx = (struct timex){ .modes = ADJ_TICK, .tick = 1 };
	show("adjtimex bad tick", syscall(SYS_adjtimex, &tx));
	tx = (struct timex){ .modes = ADJ_OFFSET_SS_READ | ADJ_FREQUENCY, .freq = -0x7fffffffffffffffL };
	show("adjtimex adjtime read, frequency out of range", syscall(SYS_adjtimex, &tx));
	show("adjtimex bad pointer", syscall(SYS_adjtimex, BAD));
	tx = (struct timex){ .modes = 0 };
	show("clock_adjtime realtime read", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx) == state);
	tx = (struct timex){ .modes = ADJ_SETOFFSET };
	show("clock_adjtime realtime set", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
	tx = (struct timex){ .modes = 0 };
	show("clock_adjtime monotonic", syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &tx));
	show("clock_adjtime boottime", syscall(SYS_clock_adjtime, CLOCK_BOOTTIME, &tx));
	show("clock_adjtime unknown clock", syscall(SYS_clock_adjtime, 10, &tx));
	show("clock_adjtime process CPU clock", syscall(SYS_clock_adjtime, -6, &tx));
	show("clock_adjtime bad pointer", syscall(SYS_clock_adjtime, 99, BAD));
}

static void host_and_ports(void)
{
	show("sethostname", syscall(SYS_sethostname, "pdvm", 4));
	show("sethostname bad length", syscall(SYS_sethostname, "pdvm", -1));
	show("setdomainname", syscall(SYS_setdomainname, "pdvm", 4));
	show_opt("iopl 0", syscall(SYS_iopl, 0), "0");
	show_opt("iopl 3", syscall(SYS_iopl, 3), "EPERM");
	show_opt("iopl 4", syscall(SYS_iopl, 4), "EINVAL");
	show_opt("ioperm on", syscall(SYS_ioperm, 0x80, 1, 1), "EPERM");
	show_opt("ioperm off", syscall(SYS_ioperm, 0x80, 1, 0), "0");
	show_opt("ioperm empty", syscall(SYS_ioperm, 0x80, 0, 1), "EINVAL");
	show_opt("ioperm past the end", syscall(SYS_ioperm, 0xffff, 2, 0), "EINVAL");
	char buf[64];
	show("quotactl sync all", syscall(SYS_quotactl, QCMD_K(Q_SYNC_K, 0), NULL, 0, NULL));
	show("quotactl getinfo without a device", syscall(SYS_quotactl, QCMD_K(Q_GETINFO_K, 0), NULL, 0, buf));
	show("quotactl bad type", syscall(SYS_quotactl, QCMD_K(Q_GETQUOTA_K, 5), "/", 0, buf));
	show("quotactl not a block device", syscall(SYS_quotactl, QCMD_K(Q_GETQUOTA_K, 0), "/", getuid(), buf));
	show("quotactl missing device", syscall(SYS_quotactl, QCMD_K(Q_GETQUOTA_K, 0), "/nonexistent-pdvm", 0, buf));
	show("quotactl bad pointer", syscall(SYS_quotactl, QCMD_K(Q_GETQUOTA_K, 0), BAD, 0, buf));
	/* The actions dmesg_restrict=0 would still refuse. */
	show("syslog clear", syscall(SYS_syslog, SYSLOG_ACTION_CLEAR_K, NULL, 0));
	show("syslog console off", syscall(SYS_syslog, SYSLOG_ACTION_CONSOLE_OFF_K, NULL, 0));
}

static void tracing_and_bpf(void)
{
	show("ptrace attach self", syscall(SYS_ptrace, PTRACE_ATTACH, getpid(), NULL, NULL));
	show("ptrace seize self", syscall(SYS_ptrace, PTRACE_SEIZE, getpid(), NULL, NULL));
	show("ptrace attach missing", syscall(SYS_ptrace, PTRACE_ATTACH, 0x3ffffff0, NULL, NULL));
	show("ptrace peek untraced", syscall(SYS_ptrace, PTRACE_PEEKDATA, getpid(), NULL, NULL));
	show("ptrace seize bad options", syscall(SYS_ptrace, PTRACE_SEIZE, getpid(), NULL, (void *)-1L));
	show("ptrace cont missing", syscall(SYS_ptrace, PTRACE_CONT, 0x3ffffff0, NULL, NULL));
	char attr[256] = { 0 };
	*(uint32_t *)attr = 2;              /* BPF_MAP_TYPE_ARRAY */
	*(uint32_t *)(attr + 4) = 4;        /* key size */
	*(uint32_t *)(attr + 8) = 4;        /* value size */
	*(uint32_t *)(attr + 12) = 1;       /* entries */
	show("bpf map create", syscall(SYS_bpf, BPF_MAP_CREATE_K, attr, 72));
	show("bpf prog load", syscall(SYS_bpf, 5, attr, 128));
	show("bpf unknown command", syscall(SYS_bpf, 9999, attr, 64));
	show("bpf bad pointer", syscall(SYS_bpf, BPF_MAP_CREATE_K, BAD, 64));
	show("bpf huge size", syscall(SYS_bpf, BPF_MAP_CREATE_K, attr, 8192));
	struct perf_event_attr pe = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(pe),
				      .config = PERF_COUNT_SW_CPU_CLOCK };
	show("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
	show("fanotify_init", syscall(SYS_fanotify_init, FAN_CLASS_NOTIF_K, O_RDONLY));
	struct { unsigned int bytes; int type; unsigned char h[8]; } fh = { 8, 1, { 0 } };
	show("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
}

/* unshare in a child of its own: a success must not change what the rest sees. */
static void unshare_child(const char *what, long flags)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		long r = syscall(SYS_unshare, flags);
		show(what, r);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
}

static void namespaces(void)
{
	unshare_child("unshare 0", 0);
	unshare_child("unshare mount namespace", CLONE_NEWNS);
	unshare_child("unshare uts namespace", CLONE_NEWUTS);
	unshare_child("unshare net namespace", CLONE_NEWNET);
	unshare_child("unshare pid namespace", CLONE_NEWPID);
	unshare_child("unshare files", CLONE_FILES);
	unshare_child("unshare fs", CLONE_FS);
	unshare_child("unshare sysvsem", CLONE_SYSVSEM);
	unshare_child("unshare thread, single-threaded", CLONE_THREAD | CLONE_VM | CLONE_SIGHAND);
	unshare_child("unshare bad flag", 0x100000000L);
	unshare_child("unshare signal bits", SIGCHLD);
	/* A child that should not exist leaves at once. */
	static const struct { const char *what; long flags; } cl[] = {
		{ "clone mount namespace", CLONE_NEWNS | SIGCHLD },
		{ "clone net namespace", CLONE_NEWNET | SIGCHLD },
		{ "clone mount namespace sharing fs", CLONE_NEWNS | CLONE_FS | SIGCHLD },
	};
	for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		fflush(stdout);
		long r = syscall(SYS_clone, cl[i].flags, NULL, NULL, NULL, 0);
		if (r == 0)
			_exit(0);
		int e = errno;
		if (r > 0)
			waitpid((pid_t)r, NULL, 0);
		errno = e;
		show(cl[i].what, r > 0 ? 0 : r);
	}
	show("setns closed fd", syscall(SYS_setns, 999, 0));
	show("setns a file", syscall(SYS_setns, 0, CLONE_NEWNET));
}

/* Calls Linux itself no longer has (or never had on x86-64). */
static void absent(void)
{
	static const struct { long nr; const char *name; } calls[] = {
		{ 156, "_sysctl" }, { 174, "create_module" }, { 177, "get_kernel_syms" },
		{ 178, "query_module" }, { 180, "nfsservctl" }, { 181, "getpmsg" }, { 182, "putpmsg" },
		{ 183, "afs_syscall" }, { 184, "tuxcall" }, { 185, "security" },
		{ 205, "set_thread_area" }, { 211, "get_thread_area" },
		{ 214, "epoll_ctl_old" }, { 215, "epoll_wait_old" }, { 236, "vserver" },
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		show(calls[i].name, syscall(calls[i].nr, 0, 0, 0, 0, 0, 0));
}

/* What a domain refuses though an unprivileged Linux process may do it:
 * checked, not compared (natively these succeed). */
static int domain_only(void)
{
	CHECK_ERR(syscall(SYS_unshare, CLONE_NEWUSER), EPERM, "unshare user namespace");
	/* What the calls a host kernel may lack (show_opt) answer in a domain. */
	CHECK_ERR(syscall(SYS_init_module, NULL, 0, ""), EPERM, "init_module");
	CHECK_ERR(syscall(SYS_finit_module, 0, "", ~0), EPERM, "finit_module bad flags");
	CHECK_ERR(syscall(SYS_delete_module, "pdvm_none", 0), EPERM, "delete_module");
	CHECK_ERR(syscall(SYS_kexec_load, 0, 0, NULL, ~0UL), EPERM, "kexec_load bad flags");
	CHECK_ERR(syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0), EPERM, "kexec_file_load");
	CHECK_OK(syscall(SYS_iopl, 0), "iopl 0");
	CHECK_ERR(syscall(SYS_iopl, 3), EPERM, "iopl 3");
	CHECK_ERR(syscall(SYS_iopl, 4), EINVAL, "iopl 4");
	CHECK_ERR(syscall(SYS_ioperm, 0x80, 1, 1), EPERM, "ioperm on");
	CHECK_OK(syscall(SYS_ioperm, 0x80, 1, 0), "ioperm off");
	CHECK_ERR(syscall(SYS_ioperm, 0xffff, 2, 0), EINVAL, "ioperm past the end");
	/* Linux 6.10+ checks the fd and the handle before the capability. */
	struct { unsigned int bytes; int type; unsigned char h[8]; } fh = { 8, 1, { 0 } };
	CHECK_ERR(syscall(SYS_open_by_handle_at, 999, &fh, O_RDONLY), EBADF, "open_by_handle_at closed fd");
	CHECK_ERR(syscall(SYS_open_by_handle_at, AT_FDCWD, BAD, O_RDONLY), EFAULT, "open_by_handle_at bad handle");
	fh.bytes = 0;
	CHECK_ERR(syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY), EINVAL, "open_by_handle_at empty handle");
	/* Removed in Linux 6.8 (EPERM before, with CONFIG_PROFILING). */
	CHECK_ERR(syscall(SYS_lookup_dcookie, 0, NULL, 0), ENOSYS, "lookup_dcookie");
	CHECK_ERR(syscall(SYS_fanotify_init, FAN_CLASS_NOTIF_K | FAN_REPORT_FID_K, O_RDONLY), EPERM,
		  "fanotify_init FID group");
	return g_failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	/* These calls must only ever be refused: not as root (reboot, swapoff). */
	if (geteuid() == 0) {
		fprintf(stderr, "privcalls: refusing to run as root\n");
		return 2;
	}
	if (argc > 1 && !strcmp(argv[1], "domain"))
		return domain_only();
	modules_and_boot();
	mounts();
	clocks();
	host_and_ports();
	tracing_and_bpf();
	namespaces();
	absent();
	return 0;
}
