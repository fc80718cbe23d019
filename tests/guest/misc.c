/* misc.c: identity, uname, sysinfo, getrandom, clocks, sleeps, affinity, rlimits, signal bookkeeping, arch_prctl, ENOSYS, auxv. */
#include "guest.h"

#include <asm/prctl.h>
#include <elf.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>

#define BAD_PTR ((void *)0x10)

static void test_ids(void)
{
	pid_t pid = getpid();

	check(pid > 0, "getpid > 0 (%d)", pid);
	check(syscall(SYS_gettid) == pid, "gettid == getpid in a single-threaded process");
	check(getppid() >= 0, "getppid >= 0 (%d)", getppid());
	check(getuid() == (uid_t)getauxval(AT_UID) && geteuid() == (uid_t)getauxval(AT_EUID), "uid/euid match auxv");
	check(getgid() == (gid_t)getauxval(AT_GID) && getegid() == (gid_t)getauxval(AT_EGID), "gid/egid match auxv");
	check(getuid() == geteuid() && getgid() == getegid(), "no set-id: real == effective");
}

static void test_uname_sysinfo(void)
{
	struct utsname u;
	struct sysinfo si;

	check(uname(&u) == 0, "uname");
	check(!strcmp(u.sysname, "Linux"), "sysname Linux (%s)", u.sysname);
	check(!strcmp(u.machine, "x86_64"), "machine x86_64 (%s)", u.machine);
	check(u.release[0] >= '1' && u.release[0] <= '9', "release looks like a version (%s)", u.release);
	CHECK_ERR(syscall(SYS_uname, BAD_PTR), EFAULT, "uname bad pointer");
	check(sysinfo(&si) == 0, "sysinfo");
	check(si.totalram > 0 && si.mem_unit > 0 && si.freeram <= si.totalram, "sysinfo memory sane");
	check(si.procs > 0, "sysinfo procs > 0");
	CHECK_ERR(syscall(SYS_sysinfo, BAD_PTR), EFAULT, "sysinfo bad pointer");
}

static void test_getrandom(void)
{
	unsigned char a[64], b[64], zero[64] = { 0 };

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	check(getrandom(a, sizeof(a), 0) == 64, "getrandom 64 bytes");
	check(getrandom(b, sizeof(b), GRND_NONBLOCK) == 64, "getrandom GRND_NONBLOCK");
	check(memcmp(a, zero, 64) && memcmp(a, b, 64), "random bytes are not zero and differ");
	check(getrandom(a, 0, 0) == 0, "getrandom 0 bytes");
	CHECK_ERR(syscall(SYS_getrandom, a, 16, 0x100), EINVAL, "getrandom bad flags");
	CHECK_ERR(syscall(SYS_getrandom, BAD_PTR, 16, 0), EFAULT, "getrandom bad pointer");
}

static void test_clocks(void)
{
	struct timespec a, b, res;
	struct timeval tv;

	check(clock_gettime(CLOCK_MONOTONIC, &a) == 0, "clock_gettime MONOTONIC");
	for (int i = 0; i < 1000; i++)
		sched_yield();
	check(clock_gettime(CLOCK_MONOTONIC, &b) == 0, "clock_gettime MONOTONIC again");
	check(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec > a.tv_nsec), "monotonic clock increases");
	check(clock_gettime(CLOCK_REALTIME, &a) == 0, "clock_gettime REALTIME");
	time_t t = time(NULL);
	check(llabs((long long)a.tv_sec - (long long)t) <= 2, "realtime within 2 s of time()");
	check(a.tv_sec > 1600000000, "realtime is after 2020");
	check(gettimeofday(&tv, NULL) == 0 && llabs((long long)tv.tv_sec - (long long)a.tv_sec) <= 2,
	      "gettimeofday agrees");
	check(syscall(SYS_time, NULL) >= t, "time syscall");
	check(clock_gettime(CLOCK_BOOTTIME, &a) == 0, "CLOCK_BOOTTIME");
	check(clock_gettime(CLOCK_MONOTONIC_RAW, &a) == 0, "CLOCK_MONOTONIC_RAW");
	check(clock_gettime(CLOCK_MONOTONIC_COARSE, &a) == 0, "CLOCK_MONOTONIC_COARSE");
	check(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a) == 0, "CLOCK_PROCESS_CPUTIME_ID");
	check(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a) == 0, "CLOCK_THREAD_CPUTIME_ID");
	CHECK_ERR(syscall(SYS_clock_gettime, 12345, &a), EINVAL, "clock_gettime bad clock");
	CHECK_ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD_PTR), EFAULT, "clock_gettime bad pointer");
	check(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0 &&
	      res.tv_nsec <= 10000000, "clock_getres MONOTONIC (%ld ns)", res.tv_nsec);
	check(clock_getres(CLOCK_REALTIME, NULL) == 0, "clock_getres NULL result allowed");
	CHECK_ERR(syscall(SYS_clock_getres, 12345, &res), EINVAL, "clock_getres bad clock");

	/* sleeps */
	struct timespec d = { 0, 50 * 1000000 };
	int64_t t0 = now_ns();
	check(nanosleep(&d, NULL) == 0, "nanosleep 50 ms");
	int64_t el = now_ns() - t0;
	check(el >= 50 * 1000000LL && el < 5000 * 1000000LL, "nanosleep slept %.1f ms", el / 1e6);
	t0 = now_ns();
	check(clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL) == 0, "clock_nanosleep relative 50 ms");
	el = now_ns() - t0;
	check(el >= 50 * 1000000LL, "clock_nanosleep slept %.1f ms", el / 1e6);
	clock_gettime(CLOCK_MONOTONIC, &a);
	a.tv_nsec += 50 * 1000000;
	if (a.tv_nsec >= 1000000000) {
		a.tv_sec++;
		a.tv_nsec -= 1000000000;
	}
	t0 = now_ns();
	check(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &a, NULL) == 0, "clock_nanosleep TIMER_ABSTIME");
	el = now_ns() - t0;
	check(el >= 45 * 1000000LL, "absolute sleep waited %.1f ms", el / 1e6);
	d.tv_nsec = 1000000000;
	CHECK_ERR(syscall(SYS_nanosleep, &d, NULL), EINVAL, "nanosleep tv_nsec 1e9");
	d = (struct timespec){ -1, 0 };
	CHECK_ERR(syscall(SYS_nanosleep, &d, NULL), EINVAL, "nanosleep negative");
	CHECK_ERR(syscall(SYS_nanosleep, BAD_PTR, NULL), EFAULT, "nanosleep bad pointer");
	d = (struct timespec){ 0, 0 };
	check(nanosleep(&d, NULL) == 0, "nanosleep 0");
}

static void test_sched_rlimit(void)
{
	cpu_set_t set;
	struct rlimit rl, rl2;

	check(sched_yield() == 0, "sched_yield");
	CPU_ZERO(&set);
	long n = syscall(SYS_sched_getaffinity, 0, sizeof(set), &set);
	check(n > 0 && n % 8 == 0 && CPU_COUNT(&set) >= 1, "sched_getaffinity (%ld bytes, %d cpus)", n, CPU_COUNT(&set));
	CHECK_ERR(syscall(SYS_sched_getaffinity, 0, 1, &set), EINVAL, "sched_getaffinity tiny size");
	check(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 0 && rl.rlim_cur <= rl.rlim_max, "getrlimit NOFILE");
	check(prlimit(0, RLIMIT_NOFILE, NULL, &rl2) == 0 && rl2.rlim_cur == rl.rlim_cur && rl2.rlim_max == rl.rlim_max,
	      "prlimit64 agrees with getrlimit");
	check(getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur > 0, "getrlimit STACK");
	CHECK_ERR(syscall(SYS_prlimit64, 0, 999, NULL, &rl), EINVAL, "prlimit64 bad resource");
	CHECK_ERR(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, BAD_PTR), EFAULT, "prlimit64 bad pointer");
	struct rusage ru;
	check(getrusage(RUSAGE_SELF, &ru) == 0, "getrusage");
}

static void handler(int sig)
{
	(void)sig;
}

static void test_signals(void)
{
	struct sigaction sa, old;
	sigset_t set, got;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	check(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction SIGUSR1 set");
	memset(&old, 0, sizeof(old));
	check(sigaction(SIGUSR1, NULL, &old) == 0, "sigaction SIGUSR1 read back");
	check(old.sa_handler == handler && (old.sa_flags & SA_RESTART) && sigismember(&old.sa_mask, SIGUSR2) &&
	      !sigismember(&old.sa_mask, SIGTERM), "handler, flags and mask read back");
	sa.sa_handler = SIG_IGN;
	check(sigaction(SIGUSR1, &sa, &old) == 0 && old.sa_handler == handler, "old action returned on replace");
	check(sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == SIG_IGN, "SIG_IGN read back");
	sa.sa_handler = SIG_DFL;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = handler;
	CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL, "sigaction SIGKILL refused");
	CHECK_ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL, "sigaction SIGSTOP refused");
	check(sigaction(SIGKILL, NULL, &old) == 0, "reading SIGKILL's action is allowed");
	CHECK_ERR(syscall(SYS_rt_sigaction, 0, NULL, &old, 8), EINVAL, "rt_sigaction signal 0");
	CHECK_ERR(syscall(SYS_rt_sigaction, 65, NULL, &old, 8), EINVAL, "rt_sigaction signal 65");
	CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4), EINVAL, "rt_sigaction bad sigsetsize");

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGKILL); /* silently dropped */
	check(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "block USR1|USR2|KILL");
	sigemptyset(&got);
	check(sigprocmask(SIG_SETMASK, NULL, &got) == 0, "read the mask back");
	check(sigismember(&got, SIGUSR1) && sigismember(&got, SIGUSR2) && !sigismember(&got, SIGKILL) &&
	      !sigismember(&got, SIGTERM), "mask holds USR1 and USR2, not KILL");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	check(sigprocmask(SIG_UNBLOCK, &set, &got) == 0 && sigismember(&got, SIGUSR1), "unblock USR1 (old mask returned)");
	sigprocmask(SIG_SETMASK, NULL, &got);
	check(!sigismember(&got, SIGUSR1) && sigismember(&got, SIGUSR2), "only USR2 remains blocked");
	sigemptyset(&set);
	check(sigprocmask(SIG_SETMASK, &set, NULL) == 0, "SIG_SETMASK empty");
	CHECK_ERR(syscall(SYS_rt_sigprocmask, 99, &set, NULL, 8), EINVAL, "rt_sigprocmask bad how");
	CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL, "rt_sigprocmask bad sigsetsize");
	CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD_PTR, NULL, 8), EFAULT, "rt_sigprocmask bad pointer");
	sigset_t pend;
	check(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1), "sigpending empty");
}

/* A raw syscall that does not touch errno (TLS): safe while FS points elsewhere. */
static long raw2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static void test_arch_prctl_robust(void)
{
	unsigned long fs = 0, self, fs2 = 0;
	static unsigned long fake_tcb[64] __attribute__((aligned(64)));

	__asm__ volatile("mov %%fs:0, %0" : "=r"(self));
	check(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0 && fs != 0, "ARCH_GET_FS");
	check(fs == self, "FS base == TCB self pointer");
	/* Point FS at a fake TCB, read through %fs, restore: no libc calls in between. */
	fake_tcb[0] = 0x1234abcd;
	long r1 = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)fake_tcb);
	unsigned long through_fs;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(through_fs));
	long r2 = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)fs);
	check(r1 == 0 && r2 == 0 && through_fs == 0x1234abcd, "ARCH_SET_FS takes effect (read %lx)", through_fs);
	check(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs2) == 0 && fs2 == fs, "FS restored");
	CHECK_ERR(syscall(SYS_arch_prctl, 0x9999, 0), EINVAL, "arch_prctl bad code");
	CHECK_ERR(syscall(SYS_arch_prctl, ARCH_GET_FS, BAD_PTR), EFAULT, "ARCH_GET_FS bad pointer");
	check(raw2(SYS_arch_prctl, ARCH_SET_FS, (long)0xffff800000000000UL) == -EPERM, "ARCH_SET_FS kernel address is EPERM");

	struct robust_list_head head = { { &head.list }, 0, NULL };
	check(syscall(SYS_set_robust_list, &head, sizeof(head)) == 0, "set_robust_list");
	CHECK_ERR(syscall(SYS_set_robust_list, &head, 1), EINVAL, "set_robust_list bad length");
	CHECK_ERR(syscall(400), ENOSYS, "syscall 400 is ENOSYS");
	CHECK_ERR(syscall(1000, 1, 2, 3), ENOSYS, "syscall 1000 is ENOSYS");
	CHECK_ERR(syscall(-1L), ENOSYS, "syscall -1 is ENOSYS");
}

static void test_auxv(void)
{
	check(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ 4096");
	const unsigned char *rnd = (const void *)getauxval(AT_RANDOM);
	int nonzero = 0;
	for (int i = 0; rnd && i < 16; i++)
		nonzero |= rnd[i];
	check(rnd && nonzero, "AT_RANDOM points at 16 non-zero bytes");
	const Elf64_Phdr *ph = (const void *)getauxval(AT_PHDR);
	unsigned long phnum = getauxval(AT_PHNUM);
	check(ph && phnum > 0 && phnum < 64, "AT_PHDR/AT_PHNUM (%lu)", phnum);
	check(getauxval(AT_PHENT) == sizeof(Elf64_Phdr), "AT_PHENT");
	int loads = 0;
	for (unsigned long i = 0; ph && i < phnum; i++)
		loads += ph[i].p_type == PT_LOAD;
	check(loads >= 1, "program headers include PT_LOAD (%d)", loads);
	check(getauxval(AT_ENTRY) != 0, "AT_ENTRY set");
	const char *fn = (const char *)getauxval(AT_EXECFN);
	check(fn && fn[0] && strstr(fn, "misc"), "AT_EXECFN (%s)", fn ? fn : "(null)");
	const char *plat = (const char *)getauxval(AT_PLATFORM);
	check(plat && !strcmp(plat, "x86_64"), "AT_PLATFORM x86_64");
	check(getauxval(AT_CLKTCK) == 100, "AT_CLKTCK 100");
	check(getauxval(AT_SECURE) == 0, "AT_SECURE 0");
	check(getauxval(AT_UID) == getuid(), "AT_UID == getuid");
	errno = 0;
	check(getauxval(12345) == 0 && errno == ENOENT, "unknown aux type absent");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_ids();
	test_uname_sysinfo();
	test_getrandom();
	test_clocks();
	test_sched_rlimit();
	test_signals();
	test_arch_prctl_robust();
	test_auxv();
	return done_testing();
}
