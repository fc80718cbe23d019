/* sys_priv.c: the calls only a privileged process may make — modules, reboot, kexec, swap, mounts, setting clocks and host names, I/O ports, quotas, the kernel log, bpf, namespaces, perf — answered as Linux answers an unprivileged one, and the calls Linux itself no longer has. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <unistd.h>

#include "clock.h"
#include "domain.h"
#include "files.h"
#include "mm.h"
#include "syscall.h"
#include "uaccess.h"

/*
 * A domain's program is an unprivileged process on the host and gets no
 * capability in its domain either: nothing here ever reaches the host's
 * kernel as a privileged request (the host would refuse it anyway, the vCPU
 * threads having no effective capabilities: cred.c). What these handlers
 * add is Linux's order of checks, so that a program sees the errno Linux
 * gives it: most calls check the capability first (EPERM whatever the
 * arguments), some validate flags, pointers or paths before it, and a few
 * let an unprivileged process do the harmless part (iopl(0), reading the
 * clock state, open_tree without a copy, unshare of what is its own).
 * Each refusal is logged once per domain and call (syscall_refuse).
 */

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef AT_NO_AUTOMOUNT
#define AT_NO_AUTOMOUNT 0x800
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* A call Linux refuses before it reads any argument: its capability
 * check (or the sysctl that stands for one) comes first. */
#define REFUSED_FIRST(name, err, why)                                          \
	static long sys_##name(struct thread *t, const uint64_t a[6])          \
	{                                                                      \
		(void)a;                                                       \
		return syscall_refuse(t, SYS_##name, err, why);                \
	}

REFUSED_FIRST(init_module, -EPERM, "no CAP_SYS_MODULE")
REFUSED_FIRST(finit_module, -EPERM, "no CAP_SYS_MODULE")
REFUSED_FIRST(delete_module, -EPERM, "no CAP_SYS_MODULE")
REFUSED_FIRST(reboot, -EPERM, "no CAP_SYS_BOOT")
REFUSED_FIRST(kexec_load, -EPERM, "no CAP_SYS_BOOT")
REFUSED_FIRST(kexec_file_load, -EPERM, "no CAP_SYS_BOOT")
REFUSED_FIRST(swapoff, -EPERM, "no CAP_SYS_ADMIN")
REFUSED_FIRST(acct, -EPERM, "no CAP_SYS_PACCT")
REFUSED_FIRST(vhangup, -EPERM, "no CAP_SYS_TTY_CONFIG")
/* The domain shares the host's UTS namespace and may not rename it. */
REFUSED_FIRST(sethostname, -EPERM, "no CAP_SYS_ADMIN")
REFUSED_FIRST(setdomainname, -EPERM, "no CAP_SYS_ADMIN")
/* With dmesg_restrict=1 (Debian's default) every action needs CAP_SYSLOG,
 * the invalid ones too; the host's log is not the domain's to read. */
REFUSED_FIRST(syslog, -EPERM, "no CAP_SYSLOG, as with dmesg_restrict=1")
REFUSED_FIRST(pivot_root, -EPERM, "no CAP_SYS_ADMIN")
REFUSED_FIRST(fsopen, -EPERM, "no CAP_SYS_ADMIN")
REFUSED_FIRST(fsmount, -EPERM, "no CAP_SYS_ADMIN")
REFUSED_FIRST(fspick, -EPERM, "no CAP_SYS_ADMIN")
REFUSED_FIRST(move_mount, -EPERM, "no CAP_SYS_ADMIN")
/* Debian's and Ubuntu's kernels (perf_event_paranoid 3 and 4) refuse every
 * unprivileged perf_event_open before they read the attributes; upstream's
 * level 2 would let a process count its own user-space events, which a
 * domain cannot offer: the host's counters would count pdvm's work too. */
REFUSED_FIRST(perf_event_open, -EACCES, "as with perf_event_paranoid 3")
/* Linux 5.13+ lets an unprivileged process have a group that reports file
 * handles; pdvm has no fanotify, so every group is refused as before 5.13. */
REFUSED_FIRST(fanotify_init, -EPERM, "no CAP_SYS_ADMIN; no fanotify in a domain")

/* ---- mounts ---- */

#define MS_MGC_VAL_K	0xc0ed0000UL
#define MS_MGC_MSK_K	0xffff0000UL
#define MS_NOUSER_K	(1UL << 31)
#define MNT_FLAGS_K	(0x1 | 0x2 | 0x4 | 0x8) /* FORCE, DETACH, EXPIRE, UMOUNT_NOFOLLOW */
#define UMOUNT_NOFOLLOW_K 0x8

/* strndup_user(PATH_MAX) as mount copies its strings: NULL is allowed,
 * a string with no NUL within PATH_MAX is EINVAL. */
static int mount_string(struct domain *d, gva_t p)
{
	char buf[PATH_MAX];
	long n;

	if (!p)
		return 0;
	n = strncpy_from_user(d, buf, p, sizeof(buf));
	return n == -ENAMETOOLONG ? -EINVAL : n < 0 ? (int)n : 0;
}

/* Resolves a guest path as the lookup before the capability check would:
 * 0 or the errno the lookup gives. */
static int lookup_only(struct domain *d, int dirfd, gva_t upath, bool follow)
{
	char path[PATH_MAX];
	int r = path_from_user(d, upath, path, false);

	if (r < 0)
		return r;
	r = path_lookup(d, dirfd, path, follow, false);
	if (r < 0)
		return r;
	close(r);
	return 0;
}

/* mount copies its strings and options and looks the target up before
 * asking may_mount(). */
static long sys_mount(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	uint64_t flags = a[3];
	char c;
	int r;

	if ((r = mount_string(d, a[2])) < 0 || (r = mount_string(d, a[0])) < 0)
		return r;
	/* The options are copied up to a page; only a first byte that cannot
	 * be read is EFAULT. */
	if (a[4] && copy_from_user(d, &c, a[4], 1))
		return -EFAULT;
	if ((r = lookup_only(d, AT_FDCWD, a[1], true)) < 0)
		return r;
	if ((flags & MS_MGC_MSK_K) == MS_MGC_VAL_K)
		flags &= ~MS_MGC_MSK_K;
	if (flags & MS_NOUSER_K)
		return -EINVAL;
	return syscall_refuse(t, SYS_mount, -EPERM, "no CAP_SYS_ADMIN");
}

static long sys_umount2(struct thread *t, const uint64_t a[6])
{
	int flags = (int)a[1], r;

	if (flags & ~MNT_FLAGS_K)
		return -EINVAL;
	if ((r = lookup_only(t->dom, AT_FDCWD, a[0], !(flags & UMOUNT_NOFOLLOW_K))) < 0)
		return r;
	return syscall_refuse(t, SYS_umount2, -EPERM, "no CAP_SYS_ADMIN");
}

#define SWAP_FLAGS_VALID_K 0x7ffff /* priority, PREFER and the DISCARD flags */

static long sys_swapon(struct thread *t, const uint64_t a[6])
{
	if ((int)a[1] & ~SWAP_FLAGS_VALID_K)
		return -EINVAL;
	return syscall_refuse(t, SYS_swapon, -EPERM, "no CAP_SYS_ADMIN");
}

#define MOUNT_ATTR_SIZE_VER0_K 32

static long sys_mount_setattr(struct thread *t, const uint64_t a[6])
{
	unsigned int flags = (unsigned int)a[2];
	uint64_t size = a[4];

	if (flags & ~(unsigned int)(AT_EMPTY_PATH | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT))
		return -EINVAL;
	if (size > PAGE_SIZE)
		return -E2BIG;
	if (size < MOUNT_ATTR_SIZE_VER0_K)
		return -EINVAL;
	return syscall_refuse(t, SYS_mount_setattr, -EPERM, "no CAP_SYS_ADMIN");
}

/* fsconfig needs no capability: it needs a file system context, which only
 * fsopen and fspick make, and those are refused. Its own checks come first. */
enum { FSC_SET_FLAG, FSC_SET_STRING, FSC_SET_BINARY, FSC_SET_PATH, FSC_SET_PATH_EMPTY,
       FSC_SET_FD, FSC_CMD_CREATE, FSC_CMD_RECONFIGURE, FSC_CMD_CREATE_EXCL };

static long sys_fsconfig(struct thread *t, const uint64_t a[6])
{
	int fd = (int)a[0], aux = (int)a[4];
	bool key = a[2] != 0, value = a[3] != 0;

	if (fd < 0)
		return -EINVAL;
	switch ((unsigned int)a[1]) {
	case FSC_SET_FLAG:
		if (!key || value || aux)
			return -EINVAL;
		break;
	case FSC_SET_STRING:
		if (!key || !value || aux)
			return -EINVAL;
		break;
	case FSC_SET_BINARY:
		if (!key || !value || aux <= 0 || aux > 1024 * 1024)
			return -EINVAL;
		break;
	case FSC_SET_PATH:
	case FSC_SET_PATH_EMPTY:
		if (!key || !value || (aux != AT_FDCWD && aux < 0))
			return -EINVAL;
		break;
	case FSC_SET_FD:
		if (!key || value || aux < 0)
			return -EINVAL;
		break;
	case FSC_CMD_CREATE:
	case FSC_CMD_RECONFIGURE:
	case FSC_CMD_CREATE_EXCL:
		if (key || value || aux)
			return -EINVAL;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (!fd_peek(t->dom, fd))
		return -EBADF;
	return syscall_refuse(t, SYS_fsconfig, -EINVAL, "not a file system context: fsopen and fspick are EPERM");
}

#define OPEN_TREE_CLONE_K 1

/* Without OPEN_TREE_CLONE, open_tree is an O_PATH open any process may make;
 * a detached copy of a mount needs CAP_SYS_ADMIN. */
static long sys_open_tree(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int dirfd = (int)a[0];
	unsigned int flags = (unsigned int)a[2];
	char path[PATH_MAX], g[PATH_MAX * 2];
	struct ofd *o;
	int r, hfd;

	if (flags & ~(unsigned int)(AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW |
				    OPEN_TREE_CLONE_K | O_CLOEXEC))
		return -EINVAL;
	if ((flags & (AT_RECURSIVE | OPEN_TREE_CLONE_K)) == AT_RECURSIVE)
		return -EINVAL;
	if (flags & OPEN_TREE_CLONE_K)
		return syscall_refuse(t, SYS_open_tree, -EPERM, "a detached mount needs CAP_SYS_ADMIN");
	r = path_from_user(d, a[1], path, flags & AT_EMPTY_PATH);
	if (r < 0)
		return r;
	r = fd_find_free(d, 0);
	if (r < 0)
		return r;
	if (!path[0]) {
		/* AT_EMPTY_PATH: the file dirfd is open on, anew. */
		int base;
		if (dirfd == AT_FDCWD) {
			base = *fs_cwdfd(d);
			if (path_compose(d, AT_FDCWD, "", g, sizeof(g)) < 0)
				g[0] = '\0';
		} else {
			struct ofd *b = fd_peek(d, dirfd);
			if (!b)
				return -EBADF;
			base = b->hostfd;
			snprintf(g, sizeof(g), "%s", b->path ? b->path : "");
		}
		hfd = path_reopen(base, O_PATH);
	} else {
		hfd = path_open(d, dirfd, path, O_PATH | (flags & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW : 0), 0, g);
	}
	if (hfd < 0)
		return hfd;
	o = ofd_new(hfd, O_PATH, OFD_FILE, g);
	if (!o)
		return -ENOMEM;
	return fd_install(d, o, 0, flags & O_CLOEXEC);
}

/* ---- clocks ---- */

/* timespec64_valid_settod(): no earlier than the epoch and far enough from
 * KTIME_MAX that 30 years of uptime cannot overflow it. */
#define TIME_SETTOD_SEC_MAX_K (9223372036LL - 30LL * 365 * 24 * 3600)

static bool settod_valid(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && (uint64_t)ts->tv_nsec < (uint64_t)NSEC_PER_SEC &&
	       ts->tv_sec < TIME_SETTOD_SEC_MAX_K;
}

static long sys_settimeofday(struct thread *t, const uint64_t a[6])
{
	struct timeval tv;
	struct timezone tz;
	struct timespec ts = { 0, 0 };

	if (a[0]) {
		if (copy_from_user(t->dom, &tv, a[0], sizeof(tv)))
			return -EFAULT;
		if (tv.tv_usec > 1000000 || tv.tv_usec < 0)
			return -EINVAL;
		ts = (struct timespec){ tv.tv_sec, tv.tv_usec * 1000 };
	}
	if (a[1] && copy_from_user(t->dom, &tz, a[1], sizeof(tz)))
		return -EFAULT;
	if (a[0] && !settod_valid(&ts))
		return -EINVAL;
	/* The time zone's range is checked after the capability. */
	return syscall_refuse(t, SYS_settimeofday, -EPERM, "no CAP_SYS_TIME");
}

#define CPUCLOCK_PERTHREAD_K(clk)	((clk) & 4)
#define CPUCLOCK_WHICH_K(clk)		((clk) & 3)
#define CPUCLOCK_PID_K(clk)		((int)~((clk) >> 3))
#define CLOCKFD_K			3

/* Whether a CPU clock id (negative, not a clock fd) names a thread or
 * process of the domain: posix-cpu-timers' pid_for_clock(). */
static bool cpu_clock_valid(struct thread *t, int clk)
{
	int pid = CPUCLOCK_PID_K(clk);
	struct thread *o;
	struct process *p;

	if (CPUCLOCK_WHICH_K(clk) >= 3)
		return false;
	if (pid == 0)
		return true;
	if (CPUCLOCK_PERTHREAD_K(clk))
		return (o = thread_find(t->dom, pid)) && o->proc == t->proc;
	return (p = proc_find(t->dom, pid)) && p->pid == pid;
}

static long sys_clock_settime(struct thread *t, const uint64_t a[6])
{
	int clk = (int)a[0];
	struct timespec ts;

	/* Only the realtime clock, the CPU clocks and clock fds have a setter;
	 * the check of the clock comes before the copy. */
	if (clk != CLOCK_REALTIME && clk >= 0)
		return -EINVAL;
	if (copy_from_user(t->dom, &ts, a[1], sizeof(ts)))
		return -EFAULT;
	if (clk == CLOCK_REALTIME && !settod_valid(&ts))
		return -EINVAL;
	/* A domain has no clock fds (CLOCKFD ids): not a clock. */
	if (clk < 0 && (clk & 7) == CLOCKFD_K)
		return -EINVAL;
	/* A CPU clock can never be set; Linux checks it names a task first. */
	if (clk < 0 && !cpu_clock_valid(t, clk))
		return -EINVAL;
	return syscall_refuse(t, SYS_clock_settime, -EPERM,
			      clk < 0 ? "a CPU clock cannot be set" : "no CAP_SYS_TIME");
}

/* The kernel's mode bits of adjtime(3) through adjtimex (uapi's
 * ADJ_OFFSET_SINGLESHOT and ADJ_OFFSET_SS_READ combine them). */
#define ADJ_ADJTIME_K		0x8000
#define ADJ_SINGLESHOT_K	0x0001
#define ADJ_READONLY_K		0x2000
#define PPM_SCALE_K		(1000LL << 16)

/* adjtimex and clock_adjtime(CLOCK_REALTIME): a read (modes 0, or the
 * read-only adjtime mode) answers the host clock's state and parameters,
 * as Linux answers anyone; every setting needs CAP_SYS_TIME. */
static long do_adjtimex(struct thread *t, int nr, gva_t utx)
{
	struct timex tx;
	unsigned int m;
	long r;

	if (copy_from_user(t->dom, &tx, utx, sizeof(tx)))
		return -EFAULT;
	m = tx.modes;
	/* timekeeping_validate_timex()'s order. */
	if (m & ADJ_ADJTIME_K) {
		if (!(m & ADJ_SINGLESHOT_K))
			return -EINVAL;
		if (!(m & ADJ_READONLY_K))
			return syscall_refuse(t, nr, -EPERM, "setting the clock needs CAP_SYS_TIME");
	} else if (m) {
		return syscall_refuse(t, nr, -EPERM, "setting the clock needs CAP_SYS_TIME");
	}
	if (m & ADJ_SETOFFSET)
		return syscall_refuse(t, nr, -EPERM, "setting the clock needs CAP_SYS_TIME");
	if ((m & ADJ_FREQUENCY) && (tx.freq < LLONG_MIN / PPM_SCALE_K || tx.freq > LLONG_MAX / PPM_SCALE_K))
		return -EINVAL;
	/* Only a read reaches the host, whatever else the modes said (the
	 * read-only adjtime mode ignores the other bits). */
	tx.modes = (m & ADJ_ADJTIME_K) ? ADJ_OFFSET_SS_READ : 0;
	r = syscall(SYS_adjtimex, &tx);
	if (r < 0)
		return -errno;
	tx.modes = m;
	return copy_to_user(t->dom, utx, &tx, sizeof(tx)) ? -EFAULT : r;
}

static long sys_adjtimex(struct thread *t, const uint64_t a[6])
{
	return do_adjtimex(t, SYS_adjtimex, a[0]);
}

static long sys_clock_adjtime(struct thread *t, const uint64_t a[6])
{
	int clk = (int)a[0];
	struct timex tx;

	if (clk == CLOCK_REALTIME)
		return do_adjtimex(t, SYS_clock_adjtime, a[1]);
	/* The copy comes first; then an unknown clock is EINVAL, and one that
	 * cannot be adjusted (every other clock, the CPU clocks too) is
	 * EOPNOTSUPP. A domain has no clock fds (CLOCKFD ids): EINVAL. */
	if (copy_from_user(t->dom, &tx, a[1], sizeof(tx)))
		return -EFAULT;
	if (clk < 0)
		return (clk & 7) == CLOCKFD_K ? -EINVAL : -EOPNOTSUPP;
	if (clk > CLOCK_TAI || clk == 10 /* CLOCK_SGI_CYCLE, gone */)
		return -EINVAL;
	return -EOPNOTSUPP;
}

/* ---- I/O ports ---- */

#define IO_BITMAP_BITS_K 65536

/* The domain's I/O privilege level is 0 and stays there: keeping it is not
 * a change (Linux returns 0), raising it needs CAP_SYS_RAWIO. */
static long sys_iopl(struct thread *t, const uint64_t a[6])
{
	unsigned int level = (unsigned int)a[0];

	if (level > 3)
		return -EINVAL;
	if (level == 0)
		return 0;
	return syscall_refuse(t, SYS_iopl, -EPERM, "no CAP_SYS_RAWIO");
}

/* Turning access off needs nothing (no bitmap yet: nothing to clear). */
static long sys_ioperm(struct thread *t, const uint64_t a[6])
{
	uint64_t from = a[0], num = a[1];

	if (from + num <= from || from + num > IO_BITMAP_BITS_K)
		return -EINVAL;
	if (!(int)a[2])
		return 0;
	return syscall_refuse(t, SYS_ioperm, -EPERM, "no CAP_SYS_RAWIO");
}

/* ---- quotas ---- */

#define MAXQUOTAS_K	3
#define Q_SYNC_K	0x800001

/* quotactl's unprivileged answers: syncing every file system's quotas is
 * allowed (and has nothing to do here), a command without a device is
 * ENODEV, and the device is looked up before anything else is decided. A
 * domain manages no file system's quotas: on a block device, EPERM. */
static long sys_quotactl(struct thread *t, const uint64_t a[6])
{
	unsigned int cmd = (unsigned int)a[0];
	char path[PATH_MAX];
	struct stat st;
	int r, h;

	if ((cmd & 0xff) >= MAXQUOTAS_K)
		return -EINVAL;
	if (!a[1])
		return (cmd >> 8) == Q_SYNC_K ? 0 : -ENODEV;
	r = path_from_user(t->dom, a[1], path, false);
	if (r < 0)
		return r;
	h = path_lookup(t->dom, AT_FDCWD, path, true, false);
	if (h < 0)
		return h;
	r = fstat(h, &st) < 0 ? -errno : 0;
	close(h);
	if (r < 0)
		return r;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	return syscall_refuse(t, SYS_quotactl, -EPERM, "quotas are the host's");
}

/* ---- bpf ---- */

#define BPF_CMD_LAST_K 37 /* BPF_PROG_STREAM_READ_BY_FD, Linux 6.17 */

/* The attributes are read (up to a page) before the command is decided;
 * unprivileged BPF is off (unprivileged_bpf_disabled, Debian's default), so
 * every known command is EPERM. A command on a BPF object's fd would be
 * EBADF or EINVAL on Linux: a domain can hold no BPF object, so no such fd
 * could be one either. */
static long sys_bpf(struct thread *t, const uint64_t a[6])
{
	uint8_t attr[PAGE_SIZE];
	unsigned int size = (unsigned int)a[2];
	int cmd = (int)a[0];

	if (size > PAGE_SIZE)
		return -E2BIG;
	if (size && copy_from_user(t->dom, attr, a[1], size))
		return -EFAULT;
	if (cmd < 0 || cmd > BPF_CMD_LAST_K)
		return -EINVAL;
	return syscall_refuse(t, SYS_bpf, -EPERM, "unprivileged BPF is disabled");
}

/* ---- file handles ---- */

#define MAX_HANDLE_SZ_K		128
#define FILEID_USER_FLAGS_K	0xffff0000U
#define FILEID_VALID_USER_K	0x30000U /* FILEID_IS_CONNECTABLE | FILEID_IS_DIR */

/* Opening by handle bypasses the directories' permissions: it needs
 * CAP_DAC_READ_SEARCH. Linux 6.10+ checks the fd and the handle first. */
static long sys_open_by_handle_at(struct thread *t, const uint64_t a[6])
{
	struct { uint32_t bytes; int32_t type; } fh;
	uint8_t h[MAX_HANDLE_SZ_K];
	int dirfd = (int)a[0];

	if (dirfd != AT_FDCWD && !fd_peek(t->dom, dirfd))
		return -EBADF;
	if (copy_from_user(t->dom, &fh, a[1], sizeof(fh)))
		return -EFAULT;
	if (fh.bytes == 0 || fh.bytes > MAX_HANDLE_SZ_K || fh.type < 0 ||
	    ((uint32_t)fh.type & FILEID_USER_FLAGS_K & ~FILEID_VALID_USER_K))
		return -EINVAL;
	if (copy_from_user(t->dom, h, a[1] + sizeof(fh), fh.bytes))
		return -EFAULT;
	return syscall_refuse(t, SYS_open_by_handle_at, -EPERM, "no CAP_DAC_READ_SEARCH");
}

/* ---- namespaces ---- */

#define UNSHARE_VALID_K (CLONE_THREAD | CLONE_FS | CLONE_NEWNS | CLONE_SIGHAND | CLONE_VM | CLONE_FILES | \
			 CLONE_SYSVSEM | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER |   \
			 CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME)
#define CLONE_NEWALL_K  (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER | \
			 CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME)

/* ksys_unshare()'s order: the implied flags, the flags' checks, then the
 * namespaces. Every new namespace is EPERM: all but the user namespace need
 * CAP_SYS_ADMIN, and Linux refuses a user namespace to a chrooted process,
 * which a domain is. What a single-threaded process has to itself (files,
 * fs, the SysV undo list, which a domain does not have) is already
 * unshared: 0. */
static long sys_unshare(struct thread *t, const uint64_t a[6])
{
	uint64_t f = a[0];
	bool alone = t->proc->nthreads == 1;

	if (f & CLONE_NEWUSER)
		f |= CLONE_THREAD | CLONE_FS;
	if (f & CLONE_VM)
		f |= CLONE_SIGHAND;
	if (f & CLONE_SIGHAND)
		f |= CLONE_THREAD;
	if (f & CLONE_NEWNS)
		f |= CLONE_FS;
	if (f & ~(uint64_t)UNSHARE_VALID_K)
		return -EINVAL;
	if ((f & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)) && !alone)
		return -EINVAL;
	/* A vfork child shares its parent's memory until it execs. */
	if ((f & CLONE_VM) && t->proc->mm->users > 1)
		return -EINVAL;
	if (f & CLONE_NEWALL_K)
		return syscall_refuse(t, SYS_unshare, -EPERM, "no CAP_SYS_ADMIN; no user namespace in a chroot");
	/* A thread of its own fd table: the domain keeps it per process. */
	if ((f & CLONE_FILES) && !alone)
		return syscall_refuse(t, SYS_unshare, -EINVAL,
				      "a thread's own fd table in a multi-threaded process is not supported");
	/* Its own working directory and umask (vmm/fs.c). */
	if ((f & CLONE_FS) && !alone)
		return fs_unshare(t);
	return 0;
}

/* setns takes a namespace file (a domain cannot open one: its /proc is its
 * own) or a pidfd (a domain has none); anything else is EINVAL. */
static long sys_setns(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_peek(t->dom, (int)a[0]);
	struct statfs sf;

	if (!o)
		return -EBADF;
	if (fstatfs(o->hostfd, &sf) == 0 && sf.f_type == NSFS_MAGIC)
		return syscall_refuse(t, SYS_setns, -EPERM, "no CAP_SYS_ADMIN");
	return -EINVAL;
}

/* ---- calls Linux itself does not have ---- */

/* Absent on x86-64 Linux too: removed (create_module, get_kernel_syms and
 * query_module in 2.6, nfsservctl in 3.1, _sysctl in 5.5, lookup_dcookie in
 * 6.8), never implemented (getpmsg, putpmsg, afs_syscall, tuxcall, security,
 * vserver), or only in the 32-bit ABI (set_thread_area, get_thread_area,
 * epoll_ctl_old, epoll_wait_old). ENOSYS is Linux's answer, not a gap of
 * pdvm's, and the log says so. */
#define ABSENT(name)                                                           \
	static long sys_##name(struct thread *t, const uint64_t a[6])          \
	{                                                                      \
		(void)a;                                                       \
		return syscall_refuse(t, SYS_##name, -ENOSYS, "not in x86-64 Linux either"); \
	}

ABSENT(_sysctl)
ABSENT(create_module)
ABSENT(get_kernel_syms)
ABSENT(query_module)
ABSENT(nfsservctl)
ABSENT(getpmsg)
ABSENT(putpmsg)
ABSENT(afs_syscall)
ABSENT(tuxcall)
ABSENT(security)
ABSENT(set_thread_area)
ABSENT(get_thread_area)
ABSENT(lookup_dcookie)
ABSENT(epoll_ctl_old)
ABSENT(epoll_wait_old)
ABSENT(vserver)

const struct syscall_desc sys_priv_table[] = {
	{ SYS_init_module, "init_module", sys_init_module },
	{ SYS_finit_module, "finit_module", sys_finit_module },
	{ SYS_delete_module, "delete_module", sys_delete_module },
	{ SYS_reboot, "reboot", sys_reboot },
	{ SYS_kexec_load, "kexec_load", sys_kexec_load },
	{ SYS_kexec_file_load, "kexec_file_load", sys_kexec_file_load },
	{ SYS_swapon, "swapon", sys_swapon },
	{ SYS_swapoff, "swapoff", sys_swapoff },
	{ SYS_acct, "acct", sys_acct },
	{ SYS_vhangup, "vhangup", sys_vhangup },
	{ SYS_sethostname, "sethostname", sys_sethostname },
	{ SYS_setdomainname, "setdomainname", sys_setdomainname },
	{ SYS_syslog, "syslog", sys_syslog },
	{ SYS_mount, "mount", sys_mount },
	{ SYS_umount2, "umount2", sys_umount2 },
	{ SYS_pivot_root, "pivot_root", sys_pivot_root },
	{ SYS_mount_setattr, "mount_setattr", sys_mount_setattr },
	{ SYS_fsopen, "fsopen", sys_fsopen },
	{ SYS_fsconfig, "fsconfig", sys_fsconfig },
	{ SYS_fsmount, "fsmount", sys_fsmount },
	{ SYS_fspick, "fspick", sys_fspick },
	{ SYS_move_mount, "move_mount", sys_move_mount },
	{ SYS_open_tree, "open_tree", sys_open_tree },
	{ SYS_settimeofday, "settimeofday", sys_settimeofday },
	{ SYS_clock_settime, "clock_settime", sys_clock_settime },
	{ SYS_adjtimex, "adjtimex", sys_adjtimex },
	{ SYS_clock_adjtime, "clock_adjtime", sys_clock_adjtime },
	{ SYS_iopl, "iopl", sys_iopl },
	{ SYS_ioperm, "ioperm", sys_ioperm },
	{ SYS_quotactl, "quotactl", sys_quotactl },
	{ SYS_bpf, "bpf", sys_bpf },
	{ SYS_perf_event_open, "perf_event_open", sys_perf_event_open },
	{ SYS_fanotify_init, "fanotify_init", sys_fanotify_init },
	{ SYS_open_by_handle_at, "open_by_handle_at", sys_open_by_handle_at },
	{ SYS_unshare, "unshare", sys_unshare },
	{ SYS_setns, "setns", sys_setns },
	{ SYS__sysctl, "_sysctl", sys__sysctl },
	{ SYS_create_module, "create_module", sys_create_module },
	{ SYS_get_kernel_syms, "get_kernel_syms", sys_get_kernel_syms },
	{ SYS_query_module, "query_module", sys_query_module },
	{ SYS_nfsservctl, "nfsservctl", sys_nfsservctl },
	{ SYS_getpmsg, "getpmsg", sys_getpmsg },
	{ SYS_putpmsg, "putpmsg", sys_putpmsg },
	{ SYS_afs_syscall, "afs_syscall", sys_afs_syscall },
	{ SYS_tuxcall, "tuxcall", sys_tuxcall },
	{ SYS_security, "security", sys_security },
	{ SYS_set_thread_area, "set_thread_area", sys_set_thread_area },
	{ SYS_get_thread_area, "get_thread_area", sys_get_thread_area },
	{ SYS_lookup_dcookie, "lookup_dcookie", sys_lookup_dcookie },
	{ SYS_epoll_ctl_old, "epoll_ctl_old", sys_epoll_ctl_old },
	{ SYS_epoll_wait_old, "epoll_wait_old", sys_epoll_wait_old },
	{ SYS_vserver, "vserver", sys_vserver },
	{ -1, NULL, NULL },
};
