/*
 * hostile.c: issues many random syscalls (fixed seed) with hostile pointers, lengths and flags; every return must
 * be >= 0 or a Linux errno (-4095..-1). Usage: hostile [COUNT [SEED]]. Prints "hostile: done ..." at the end.
 *
 * Safety (it must also run natively, as root): only an allowlist of calls that cannot kill, stop or hang the
 * process or change the host. Blocking is impossible by construction: pipes are O_NONBLOCK (restored after any
 * call that could clear it), waits and sleeps get tiny timeouts, poll/select get zero timeouts. Nothing creates,
 * removes or changes files (open is read-only, no mkdir/unlink/chmod/...). Memory calls that could remove the
 * program's own mappings only target a private "playground" region. Pointers are NULL, small, kernel, non-canonical,
 * unmapped, misaligned, read-only (text/rodata), or into dedicated buffers followed by a guard page, so no call can
 * write over the program's own state. Unknown numbers come from ranges no kernel assigns.
 */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define PAGE 4096UL
#define BUFSZ (64 * 1024UL)
#define PLAYSZ (16 * PAGE)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t pick(const uint64_t *v, size_t n)
{
	return v[rnd() % n];
}

#define PICK(arr) pick(arr, sizeof(arr) / sizeof(arr[0]))

static unsigned char *buf;  /* BUFSZ bytes followed by a PROT_NONE guard page */
static char *play;          /* PLAYSZ playground for munmap/mprotect/madvise/mremap */
static int fd_null, fd_pr, fd_pw, fd_dir;
static const char rodata_str[] = "/nonexistent/hostile";

int main(int argc, char **argv);

static long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Refills the parts of the buffer that pointers can start at, so no kernel-written data is fed back. */
static void refill(void)
{
	uint64_t *w = (uint64_t *)buf;
	for (size_t i = 0; i < 1024 / 8; i++)
		w[i] = rnd();
	w = (uint64_t *)(buf + BUFSZ - 64);
	for (size_t i = 0; i < 8; i++)
		w[i] = rnd();
}

/* Addresses that are never valid: NULL, low, kernel, non-canonical, unmapped user. */
static uint64_t bad_ptr(void)
{
	static const uint64_t bad[] = { 0, 1, 0x10, 0xfff, 0x1000, 0xffffffffffffffffULL, 0xffff800000000000ULL,
					0xffffffff80000000ULL, 0x00007ffffffff000ULL, 0x0000800000000000ULL,
					0x8000000000000000ULL, 0x0000100000000000ULL };
	return PICK(bad);
}

static uint64_t ptr(void)
{
	switch (rnd() % 10) {
	case 0: case 1: case 2:
		return bad_ptr();
	case 3:
		return (uint64_t)(uintptr_t)main + rnd() % 256; /* read-only text */
	case 4:
		return (uint64_t)(uintptr_t)rodata_str;
	case 5:
		return (uint64_t)(uintptr_t)buf + 1; /* misaligned */
	case 6:
		return (uint64_t)(uintptr_t)buf + BUFSZ - 8; /* runs into the guard page */
	case 7:
		return rnd(); /* anything */
	default:
		return (uint64_t)(uintptr_t)buf;
	}
}

static uint64_t path(void)
{
	static const char *const paths[] = { "/", ".", "..", "", "/dev/null", "/etc/passwd", "/nonexistent",
					     "/proc/self/status", "/tmp", "a/../../b", "//////", "/dev/null/x" };
	if (rnd() % 2)
		return (uint64_t)(uintptr_t)paths[rnd() % (sizeof(paths) / sizeof(paths[0]))];
	return ptr();
}

static uint64_t len(void)
{
	static const uint64_t v[] = { 0, 1, 7, 8, 16, 64, 128, 4096, BUFSZ, BUFSZ + 1, 1UL << 20, 1UL << 31,
				      1UL << 62, 0xffffffffffffffffULL, 0x7fffffffffffffffULL, 0x80000000ULL };
	return rnd() % 4 ? PICK(v) : rnd() % 8192;
}

static uint64_t flags(void)
{
	switch (rnd() % 4) {
	case 0: return 0;
	case 1: return 1ULL << (rnd() % 32);
	case 2: return rnd() & 0xffffffff;
	default: return rnd();
	}
}

static uint64_t smallint(void)
{
	return (uint64_t)((int64_t)(rnd() % 80) - 5);
}

static uint64_t fd(void)
{
	uint64_t v[] = { (uint64_t)-1, 9999, 1 << 20, 0x7fffffff, 0xffffffff80000000ULL, (uint64_t)fd_null,
			 (uint64_t)fd_pr, (uint64_t)fd_pw, (uint64_t)fd_dir, (uint64_t)-100 };
	return PICK(v);
}

/* fds safe for ioctl/fcntl: not the directory (file-system ioctls on "/" as root are not harmless) */
static uint64_t fd_noddir(void)
{
	uint64_t v[] = { (uint64_t)-1, 9999, (uint64_t)fd_null, (uint64_t)fd_pr, (uint64_t)fd_pw };
	return PICK(v);
}

static uint64_t dirfd(void)
{
	uint64_t v[] = { (uint64_t)-100 /* AT_FDCWD */, (uint64_t)fd_dir, (uint64_t)fd_null, (uint64_t)-1, 9999 };
	return PICK(v);
}

/* A timespec that never sleeps long: 0..1 us, or invalid pointers, or invalid values. */
static uint64_t short_ts(void)
{
	static struct timespec ts[4];
	static int slot;
	struct timespec *t = &ts[slot++ % 4];

	switch (rnd() % 6) {
	case 0: return 0x10;
	case 1: return 0xffff800000000000ULL;
	case 2: *t = (struct timespec){ 0, 1000000000 }; return (uint64_t)(uintptr_t)t; /* EINVAL */
	case 3: *t = (struct timespec){ -1, 0 }; return (uint64_t)(uintptr_t)t;
	default: *t = (struct timespec){ 0, (long)(rnd() % 1000) }; return (uint64_t)(uintptr_t)t;
	}
}

/* An iovec array in the buffer whose entries are pool pointers and lengths: never pointers we did not choose. */
static uint64_t iovecs(uint64_t *cnt)
{
	struct iovec *iov = (struct iovec *)buf;
	uint64_t n = rnd() % 4 ? rnd() % 8 : len();

	for (int i = 0; i < 8; i++) {
		iov[i].iov_base = (void *)(uintptr_t)ptr();
		iov[i].iov_len = rnd() % 2 ? rnd() % 512 : len();
	}
	*cnt = n;
	if (rnd() % 8 == 0)
		return ptr(); /* the array pointer itself is hostile */
	return (uint64_t)(uintptr_t)iov;
}

static void restore_pipes(void)
{
	fcntl(fd_pr, F_SETFL, O_NONBLOCK);
	fcntl(fd_pw, F_SETFL, O_NONBLOCK);
}

/* The playground is the middle third of a 3 * PLAYSZ reservation: offsets + lengths never leave it. */
static void restore_play(void)
{
	mmap(play - PLAYSZ, 3 * PLAYSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

/*
 * An (address, length) pair for munmap/mprotect/madvise/mremap/msync: inside the playground reservation, or low
 * unmapped pages with small lengths, or addresses the kernel rejects up front with any length. Never a huge length
 * from a mapped or low address: madvise and mprotect apply themselves to every mapping up to the first hole.
 */
static void play_range(uint64_t *addr, uint64_t *length)
{
	static const uint64_t rejected[] = { 0x0000800000000000ULL, 0xffff800000000000ULL, 0xfffffffffffff000ULL,
					     0x8000000000000000ULL };
	static const uint64_t huge[] = { 1UL << 47, (uint64_t)-1, (uint64_t)-4096, 1UL << 40 };
	uint64_t pages = rnd() % 16;

	switch (rnd() % 8) {
	case 0:
		*addr = PICK(rejected);
		*length = rnd() % 2 ? PICK(huge) : rnd() % (PLAYSZ + PAGE);
		return;
	case 1:
		*addr = rnd() % 2 ? 0 : 0x1000;
		*length = rnd() % (PLAYSZ + PAGE);
		return;
	default:
		*addr = (uint64_t)(uintptr_t)play + pages * PAGE + (rnd() % 8 == 0); /* sometimes misaligned */
		*length = rnd() % 4 ? (rnd() % 18) * PAGE : rnd() % (PLAYSZ + PAGE); /* at most 17 pages: stays inside */
	}
}

static void close_if_new(long r)
{
	if (r > 2 && r != fd_null && r != fd_pr && r != fd_pw && r != fd_dir && r < 65536)
		close((int)r);
}

enum { NERR = 4096 };
static unsigned long errs[NERR + 1], calls, okays, invalid;
static unsigned long per_nr_calls[4096];
static int trace;

/* Builds and issues one random call; returns its raw result. */
static long one_call(long *nr_out)
{
	uint64_t a[6] = { 0 }, cnt;
	long nr, r;

	refill();
	switch (rnd() % 73) {
	case 0: nr = SYS_read; a[0] = fd(); a[1] = ptr(); a[2] = len(); break;
	case 1: nr = SYS_write; a[0] = fd(); a[1] = ptr(); a[2] = len(); break;
	case 2: nr = SYS_pread64; a[0] = fd(); a[1] = ptr(); a[2] = len(); a[3] = len(); break;
	case 3: nr = SYS_pwrite64; a[0] = fd(); a[1] = ptr(); a[2] = len(); a[3] = len(); break;
	case 4: nr = SYS_readv; a[0] = fd(); a[1] = iovecs(&cnt); a[2] = cnt; break;
	case 5: nr = SYS_writev; a[0] = fd(); a[1] = iovecs(&cnt); a[2] = cnt; break;
	case 6: nr = SYS_preadv; a[0] = fd(); a[1] = iovecs(&cnt); a[2] = cnt; a[3] = len(); break;
	case 7: nr = SYS_lseek; a[0] = fd(); a[1] = len(); a[2] = smallint(); break;
	case 8: nr = SYS_fstat; a[0] = fd(); a[1] = ptr(); break;
	case 9: nr = SYS_stat; a[0] = path(); a[1] = ptr(); break;
	case 10: nr = SYS_lstat; a[0] = path(); a[1] = ptr(); break;
	case 11: nr = SYS_newfstatat; a[0] = dirfd(); a[1] = path(); a[2] = ptr(); a[3] = flags(); break;
	case 12: nr = SYS_statx; a[0] = dirfd(); a[1] = path(); a[2] = flags(); a[3] = flags(); a[4] = ptr(); break;
	case 13: nr = SYS_access; a[0] = path(); a[1] = smallint(); break;
	case 14: nr = SYS_faccessat; a[0] = dirfd(); a[1] = path(); a[2] = smallint(); break;
	case 15: nr = 439 /* faccessat2 */; a[0] = dirfd(); a[1] = path(); a[2] = smallint(); a[3] = flags(); break;
	case 16: nr = SYS_readlink; a[0] = path(); a[1] = ptr(); a[2] = len(); break;
	case 17: nr = SYS_readlinkat; a[0] = dirfd(); a[1] = path(); a[2] = ptr(); a[3] = len(); break;
	case 18: nr = SYS_getcwd; a[0] = ptr(); a[1] = len(); break;
	case 19: nr = SYS_getdents64; a[0] = fd(); a[1] = ptr(); a[2] = len(); break;
	case 20: /* read-only, non-blocking opens only */
		nr = rnd() % 2 ? SYS_open : SYS_openat;
		cnt = (flags() & ~(uint64_t)(O_CREAT | O_TRUNC | O_ACCMODE | O_APPEND | O_TMPFILE | O_EXCL)) | O_NONBLOCK;
		if (nr == SYS_open) {
			a[0] = path(); a[1] = cnt; a[2] = flags();
		} else {
			a[0] = dirfd(); a[1] = path(); a[2] = cnt; a[3] = flags();
		}
		break;
	case 21: nr = SYS_close; a[0] = rnd() % 2 ? (uint64_t)-1 : 9999 + rnd() % 100; break;
	case 22: nr = SYS_dup; a[0] = fd(); break;
	case 23: nr = SYS_dup2; a[0] = fd(); a[1] = 900 + rnd() % 10; break;
	case 24: nr = SYS_dup3; a[0] = fd(); a[1] = rnd() % 8 ? 900 + rnd() % 10 : (uint64_t)-1; a[2] = flags(); break;
	case 25: nr = SYS_pipe2; a[0] = ptr(); a[1] = flags(); break;
	case 26: { /* fcntl with commands that cannot arm signals (no O_ASYNC) */
		static const uint64_t cmds[] = { F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_DUPFD_CLOEXEC,
						 F_GETPIPE_SZ, F_SETPIPE_SZ, F_GETOWN, 1030 + 100, 0x7fff, 12345678 };
		nr = SYS_fcntl; a[0] = fd_noddir(); a[1] = PICK(cmds);
		a[2] = a[1] == F_GETLK ? ptr() : flags() & ~(uint64_t)O_ASYNC;
		if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC)
			a[2] = rnd() % 2000;
		if (a[1] == F_SETPIPE_SZ)
			a[2] = rnd() % (1 << 20);
		break;
	}
	case 27: { /* ioctl: never FIOASYNC, never the 'X' (freeze, xattr) or 'f' (inode flags) families */
		static const uint64_t cmds[] = { 0x5401, 0x5402, 0x5413, 0x541B, 0x5421, 0x5450, 0x5451, 0x5460,
						 0x5412, 0x80086601 };
		nr = SYS_ioctl; a[0] = fd_noddir();
		a[1] = rnd() % 2 ? PICK(cmds) : rnd() & 0xffffffff;
		uint64_t type = (a[1] >> 8) & 0xff;
		if (type == 'X' || type == 'f' || (a[1] & 0xffff) == 0x5452)
			a[1] = 0x5401;
		a[2] = ptr();
		break;
	}
	case 28: /* mmap anywhere but MAP_FIXED, small lengths; unmapped right after */
		nr = SYS_mmap; a[0] = rnd() % 2 ? 0 : ptr() & ~0xfffULL;
		{
			static const uint64_t ml[] = { 0, 1, 4096, 65536, 1UL << 20, (4UL << 20) + 123, 1UL << 47,
						       (uint64_t)-1 };
			a[1] = PICK(ml);
		}
		a[2] = rnd() % 8; a[3] = flags() & ~(uint64_t)MAP_FIXED; a[4] = fd(); a[5] = len() & ~0xfffULL;
		break;
	case 29: nr = SYS_munmap; play_range(&a[0], &a[1]); break;
	case 30: nr = SYS_mprotect; play_range(&a[0], &a[1]); a[2] = rnd() % 16; break;
	case 31: nr = SYS_madvise; play_range(&a[0], &a[1]);
		a[2] = rnd() % 26; break;
	case 32: nr = SYS_mremap; play_range(&a[0], &a[1]); play_range(&a[3], &a[2]); a[3] = 0; break;
	case 33: nr = SYS_mincore; a[0] = ptr() & ~0xfffULL; a[1] = len(); a[2] = ptr(); break;
	case 34: nr = SYS_msync; play_range(&a[0], &a[1]); a[2] = smallint(); break;
	case 35: { /* identity and info: no arguments that matter */
		static const uint64_t ids[] = { SYS_getpid, SYS_getppid, SYS_gettid, SYS_getuid, SYS_geteuid, SYS_getgid,
						SYS_getegid, SYS_getpgrp, SYS_sched_yield };
		nr = (long)PICK(ids);
		break;
	}
	case 36: nr = SYS_getpgid; a[0] = smallint(); break;
	case 37: nr = SYS_getsid; a[0] = smallint(); break;
	case 38: nr = SYS_getgroups; a[0] = smallint(); a[1] = ptr(); break;
	case 39: nr = rnd() % 2 ? SYS_getresuid : SYS_getresgid; a[0] = ptr(); a[1] = ptr(); a[2] = ptr(); break;
	case 40: nr = SYS_uname; a[0] = ptr(); break;
	case 41: nr = SYS_sysinfo; a[0] = ptr(); break;
	case 42: nr = SYS_getrandom; a[0] = ptr(); a[1] = len() % 100000; a[2] = flags() | 1 /* NONBLOCK */; break;
	case 43: nr = SYS_clock_gettime; a[0] = smallint(); a[1] = ptr(); break;
	case 44: nr = SYS_clock_getres; a[0] = smallint(); a[1] = ptr(); break;
	case 45: nr = SYS_gettimeofday; a[0] = ptr(); a[1] = ptr(); break;
	case 46: nr = SYS_time; a[0] = ptr(); break;
	case 47: nr = rnd() % 2 ? SYS_nanosleep : SYS_clock_nanosleep;
		if (nr == SYS_nanosleep) {
			a[0] = short_ts(); a[1] = ptr();
		} else {
			/* no CPU-time clocks: a sleeping process uses no CPU, so their sleeps never end */
			static const uint64_t clk[] = { 0, 1, 4, 5, 6, 7, 8, 9, 11, 12345, 100 };
			a[0] = PICK(clk); a[1] = rnd() % 2; a[2] = short_ts(); a[3] = ptr();
		}
		break;
	case 48: nr = SYS_sched_getaffinity; a[0] = rnd() % 2 ? 0 : smallint(); a[1] = len(); a[2] = ptr(); break;
	case 49: nr = SYS_getrlimit; a[0] = smallint(); a[1] = ptr(); break;
	case 50: nr = SYS_prlimit64; a[0] = rnd() % 2 ? 0 : smallint(); a[1] = smallint(); a[2] = 0; a[3] = ptr(); break;
	case 51: nr = rnd() % 2 ? SYS_getrusage : SYS_times; a[0] = smallint(); a[1] = ptr();
		if (nr == SYS_times)
			a[0] = ptr();
		break;
	case 52: nr = SYS_rt_sigprocmask; a[0] = smallint(); a[1] = ptr(); a[2] = ptr(); a[3] = rnd() % 4 ? 8 : len(); break;
	case 53: { /* handlers are only installed for signals nothing will send (a random handler must never run) */
		static const uint64_t sigs[] = { 10, 12, 34, 40, 50, 64, 0, 65, 9, 19, (uint64_t)-1 };
		nr = SYS_rt_sigaction; a[1] = rnd() % 4 ? 0 : ptr(); a[2] = ptr();
		a[0] = a[1] ? PICK(sigs) : smallint();
		a[3] = rnd() % 4 ? 8 : len();
		break;
	}
	case 54: nr = SYS_rt_sigpending; a[0] = ptr(); a[1] = rnd() % 4 ? 8 : len(); break;
	case 55: nr = SYS_sigaltstack; a[0] = rnd() % 2 ? 0 : ptr(); a[1] = ptr(); break;
	case 56: nr = rnd() % 2 ? SYS_set_robust_list : SYS_get_robust_list;
		if (nr == SYS_set_robust_list) {
			a[0] = ptr(); a[1] = rnd() % 2 ? 24 : len();
		} else {
			a[0] = rnd() % 2 ? 0 : smallint(); a[1] = ptr(); a[2] = ptr();
		}
		break;
	case 57: { /* futex: only ops that return promptly; waits get a tiny timeout */
		static const uint64_t ops[] = { 0, 1, 3, 4, 5, 9, 10, 99 }; /* no PI ops: they can block on other tasks */
		uint64_t op = PICK(ops);
		nr = SYS_futex; a[0] = ptr(); a[1] = op | (rnd() % 2 ? 128 : 0) | (rnd() % 4 ? 0 : 256);
		a[2] = rnd() % 4 ? rnd() % 4 : rnd();
		a[3] = (op == 0 || op == 9) ? short_ts() : rnd() % 4;
		a[4] = ptr(); a[5] = flags();
		if (op == 9 && a[3] > 0x1000 && a[3] < 0x800000000000ULL)
			a[1] |= 256; /* absolute timeout: make it CLOCK_REALTIME so a tiny value is far in the past */
		break;
	}
	case 58: nr = SYS_poll; a[0] = ptr(); a[1] = rnd() % 4 ? rnd() % 16 : len(); a[2] = 0; break;
	case 59: { /* select with a zero timeout */
		static struct timeval tv;
		tv = (struct timeval){ 0, 0 };
		nr = SYS_select; a[0] = rnd() % 1100; a[1] = ptr(); a[2] = ptr(); a[3] = ptr();
		a[4] = rnd() % 8 ? (uint64_t)(uintptr_t)&tv : 0x10;
		break;
	}
	case 60: { /* fd-creating calls: the result is closed at once */
		switch (rnd() % 4) {
		case 0: nr = SYS_eventfd2; a[0] = rnd(); a[1] = flags(); break;
		case 1: nr = SYS_epoll_create1; a[0] = flags(); break;
		case 2: nr = SYS_memfd_create; a[0] = path(); a[1] = flags() & 0xf; break;
		default: nr = SYS_socket; a[0] = rnd() % 48; a[1] = rnd() % 12 | (rnd() % 2 ? 04000 : 0); a[2] = rnd() % 20;
		}
		break;
	}
	case 61: { /* more read-only calls */
		switch (rnd() % 8) {
		case 0: nr = SYS_statfs; a[0] = path(); a[1] = ptr(); break;
		case 1: nr = SYS_fstatfs; a[0] = fd(); a[1] = ptr(); break;
		case 2: nr = SYS_getxattr; a[0] = path(); a[1] = path(); a[2] = ptr(); a[3] = len(); break;
		case 3: nr = SYS_flistxattr; a[0] = fd(); a[1] = ptr(); a[2] = len(); break;
		case 4: nr = SYS_getcpu; a[0] = ptr(); a[1] = ptr(); a[2] = 0; break;
		case 5: nr = SYS_epoll_wait; a[0] = fd(); a[1] = ptr(); a[2] = smallint(); a[3] = 0; break;
		case 6: nr = SYS_flock; a[0] = fd(); a[1] = (rnd() % 9) | LOCK_NB; break;
		default: nr = SYS_getpriority; a[0] = smallint(); a[1] = rnd() % 2 ? 0 : smallint(); break;
		}
		break;
	}
	case 62: nr = SYS_set_tid_address; a[0] = ptr(); break;
	case 63: { /* signal and timer calls that can never deliver: signal 0 or out of range,
		    * zero timeouts, timers that are never armed */
		static struct timespec zero;
		zero = (struct timespec){ 0, 0 };
		uint64_t nosig = rnd() % 2 ? 0 : 65 + rnd() % 100;
		switch (rnd() % 8) {
		case 0: nr = SYS_kill; a[0] = smallint() - 3; a[1] = nosig; break;
		case 1: nr = SYS_tgkill; a[0] = smallint(); a[1] = smallint(); a[2] = nosig; break;
		case 2: nr = SYS_rt_sigtimedwait; a[0] = ptr(); a[1] = ptr();
			a[2] = rnd() % 4 ? (uint64_t)(uintptr_t)&zero : 0x10; a[3] = rnd() % 4 ? 8 : len(); break;
		case 3: nr = SYS_timer_create; a[0] = smallint(); a[1] = ptr(); a[2] = ptr(); break;
		case 4: nr = rnd() % 2 ? SYS_timer_gettime : SYS_timer_getoverrun; a[0] = smallint(); a[1] = ptr(); break;
		case 5: nr = SYS_timer_delete; a[0] = smallint(); break;
		case 6: nr = SYS_getitimer; a[0] = smallint(); a[1] = ptr(); break;
		default: nr = SYS_rt_sigqueueinfo; a[0] = smallint(); a[1] = rnd() % 2 ? 0 : 65 + rnd() % 100;
			a[2] = ptr(); break;
		}
		break;
	}
	case 65 + 7: { /* issue 17's calls, never blocking (SPLICE_F_NONBLOCK, non-blocking pipes, WNOHANG),
			 * never writing a file (no regular file is open for writing; no set/remove of xattrs),
			 * never signalling (signal 0 or out of range), never executing */
		switch (rnd() % 9) {
		case 0: nr = SYS_splice; a[0] = fd(); a[1] = rnd() % 2 ? 0 : ptr(); a[2] = fd(); a[3] = rnd() % 2 ? 0 : ptr();
			a[4] = len(); a[5] = flags() | SPLICE_F_NONBLOCK; break;
		case 1: nr = SYS_tee; a[0] = fd(); a[1] = fd(); a[2] = len(); a[3] = flags() | SPLICE_F_NONBLOCK; break;
		case 2: nr = SYS_vmsplice; a[0] = fd(); a[1] = iovecs(&cnt); a[2] = cnt; a[3] = flags() | SPLICE_F_NONBLOCK; break;
		case 3: nr = SYS_copy_file_range; a[0] = fd(); a[1] = rnd() % 2 ? 0 : ptr(); a[2] = fd();
			a[3] = rnd() % 2 ? 0 : ptr(); a[4] = len(); a[5] = rnd() % 2 ? 0 : flags(); break;
		case 4: nr = SYS_pidfd_open; a[0] = rnd() % 2 ? (uint64_t)getpid() : smallint(); a[1] = flags(); break;
		case 5: nr = SYS_pidfd_send_signal; a[0] = fd(); a[1] = rnd() % 2 ? 0 : 65 + rnd() % 100; a[2] = rnd() % 2 ? 0 : ptr();
			a[3] = flags(); break;
		case 6: nr = SYS_waitid; a[0] = 3 /* P_PIDFD */; a[1] = fd(); a[2] = ptr(); a[3] = flags() | 1 /* WNOHANG */;
			a[4] = rnd() % 2 ? 0 : ptr(); break;
		case 7: nr = SYS_rseq; a[0] = ptr(); a[1] = rnd() % 2 ? 32 : len(); a[2] = rnd() % 4 ? 0 : flags(); a[3] = rnd(); break;
		default: nr = rnd() % 2 ? SYS_lgetxattr : SYS_listxattr; a[0] = path(); a[1] = nr == SYS_listxattr ? ptr() : path();
			a[2] = nr == SYS_listxattr ? len() : ptr(); a[3] = len(); break;
		}
		break;
	}
	case 64: { /* UNIX socket addresses of every length up to past sizeof(sockaddr_un) (EINVAL on
		    * Linux), abstract or under a directory that does not exist, on a fresh socket */
		static const uint64_t calls[] = { SYS_bind, SYS_connect, SYS_sendto };
		long s = raw6(SYS_socket, AF_UNIX, rnd() % 2 ? SOCK_DGRAM : SOCK_STREAM, 0, 0, 0, 0);
		for (int i = 0; i < 130; i++)
			buf[i] = (unsigned char)rnd();
		buf[0] = AF_UNIX;
		buf[1] = 0;
		if (rnd() % 2)
			buf[2] = 0; /* abstract */
		else
			memcpy(buf + 2, "/nonexistent-pdvm/", 18);
		nr = PICK(calls);
		a[0] = (uint64_t)s;
		if (nr == SYS_sendto) {
			a[1] = ptr(); a[2] = rnd() % 64; a[3] = MSG_DONTWAIT; a[4] = (uint64_t)(uintptr_t)buf; a[5] = rnd() % 131;
		} else {
			a[1] = rnd() % 8 ? (uint64_t)(uintptr_t)buf : ptr(); a[2] = rnd() % 131;
		}
		break;
	}
	default: /* numbers no kernel assigns: 340..423 (335/336 are uretprobe/uprobe since 6.11) and 512..4095 */
		nr = rnd() % 2 ? 340 + (long)(rnd() % 84) : 512 + (long)(rnd() % 3584);
		for (int i = 0; i < 6; i++)
			a[i] = rnd();
		break;
	}

	if (trace) { /* HOSTILE_TRACE=1: one line per call on stderr, written before the call, to find a culprit */
		char line[256];
		int n = snprintf(line, sizeof(line), "hostile: nr %ld args %llx %llx %llx %llx %llx %llx\n", nr,
				 (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
				 (unsigned long long)a[3], (unsigned long long)a[4], (unsigned long long)a[5]);
		if (write(2, line, (size_t)n) < 0)
			trace = 0;
	}
	r = raw6(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
	*nr_out = nr;

	/* Clean up what the call may have created or changed. */
	switch (nr) {
	case SYS_open: case SYS_openat: case SYS_dup: case SYS_eventfd2: case SYS_epoll_create1:
	case SYS_memfd_create: case SYS_socket: case SYS_pidfd_open:
		close_if_new(r);
		break;
	case SYS_splice: case SYS_tee: case SYS_vmsplice:
		restore_pipes();
		break;
	case SYS_bind: case SYS_connect: case SYS_sendto: /* case 64's socket */
		close((int)a[0]);
		break;
	case SYS_dup2: case SYS_dup3:
		if (r >= 0)
			close_if_new(r);
		break;
	case SYS_fcntl:
		if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC)
			close_if_new(r);
		restore_pipes();
		break;
	case SYS_ioctl:
		restore_pipes();
		break;
	case SYS_pipe2:
		if (r == 0 && (a[0] == (uint64_t)(uintptr_t)buf || a[0] == (uint64_t)(uintptr_t)buf + 1)) {
			int p[2];
			memcpy(p, (void *)(uintptr_t)a[0], sizeof(p));
			close_if_new(p[0]);
			close_if_new(p[1]);
		}
		break;
	case SYS_mmap:
		if (r >= 0 || r < -4095)
			munmap((void *)r, a[1]);
		break;
	case SYS_munmap: case SYS_mremap: case SYS_mprotect: case SYS_madvise:
		restore_play();
		break;
	}
	return r;
}

int main(int argc, char **argv)
{
	long count = argc > 1 ? strtol(argv[1], NULL, 0) : 100000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 12345;
	int64_t t0 = now_ns();

	rng_state = seed ? seed : 1;
	trace = getenv("HOSTILE_TRACE") != NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	buf = mmap(NULL, BUFSZ + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	play = mmap(NULL, 3 * PLAYSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd_null = open("/dev/null", O_RDWR);
	int p[2];
	if (buf == MAP_FAILED || play == MAP_FAILED || fd_null < 0 || pipe2(p, O_NONBLOCK) ||
	    mprotect(buf + BUFSZ, PAGE, PROT_NONE)) {
		printf("hostile: setup failed: %s\n", strerror(errno));
		return 1;
	}
	play += PLAYSZ;
	fd_pr = p[0];
	fd_pw = p[1];
	fd_dir = open("/", O_RDONLY | O_DIRECTORY);
	/* stdin must never block a read: make it /dev/null (only this process's fd 0 changes) */
	dup2(fd_null, 0);
	printf("hostile: %ld calls, seed %llu\n", count, (unsigned long long)seed);

	for (long i = 0; i < count; i++) {
		long nr;
		long r = one_call(&nr);
		calls++;
		per_nr_calls[nr & 4095]++;
		if (r >= 0 || (nr == SYS_mmap && r < -4095)) {
			okays++;
			continue;
		}
		if (r >= -4095)
			errs[-r]++;
		else {
			invalid++;
			printf("hostile: call %ld nr %ld returned %ld (not an errno)\n", i, nr, r);
		}
	}

	/* Still alive and sane: the pool fds and the buffer still work. */
	int alive = fcntl(fd_pw, F_GETFL) >= 0 && write(fd_null, "k", 1) == 1 && getpid() > 0;
	printf("hostile: errno histogram:");
	for (int e = 1; e <= NERR; e++)
		if (errs[e])
			printf(" %s=%lu", errname(e), errs[e]);
	printf("\n");
	unsigned long distinct = 0;
	for (int n = 0; n < 4096; n++)
		distinct += per_nr_calls[n] != 0;
	printf("hostile: done calls=%lu ok=%lu invalid=%lu distinct_nrs=%lu alive=%d time=%.1fs\n", calls, okays,
	       invalid, distinct, alive, (now_ns() - t0) / 1e9);
	return invalid == 0 && alive ? 0 : 1;
}
