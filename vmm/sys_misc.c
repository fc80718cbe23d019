/* sys_misc.c: identity, system info, randomness, rlimits, robust lists, arch_prctl and prctl. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <asm/prctl.h>
#include <linux/prctl.h>

#include "domain.h"
#include "syscall.h"
#include "uaccess.h"

static bool own_process(struct thread *t, int pid)
{
	struct thread *o = pid ? thread_find(t->dom, pid) : NULL;

	return pid == 0 || pid == t->proc->pid || (o && o->proc == t->proc);
}

static int put_u32(struct domain *d, gva_t p, uint32_t v)
{
	return copy_to_user(d, p, &v, sizeof(v));
}

static int put_u64(struct domain *d, gva_t p, uint64_t v)
{
	return copy_to_user(d, p, &v, sizeof(v));
}

/* ---- identity ---- */

static long sys_gettid(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return t->tid;
}

/* The guest's ids are the domain's (cred.c) as its view shows them (0
 * under map_root): the thread's saved uid 0, which only pdvm itself can
 * use, is not the guest's to see. */
static uint32_t my_uid(const struct thread *t)
{
	return cred_uid_out(&t->dom->cred, t->dom->cred.uid);
}

static uint32_t my_gid(const struct thread *t)
{
	return cred_gid_out(&t->dom->cred, t->dom->cred.gid);
}

static long sys_getuid(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return my_uid(t);
}

static long sys_getgid(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return my_gid(t);
}

static long put_ids(struct thread *t, const uint64_t a[6], uint32_t id)
{
	if (put_u32(t->dom, a[0], id) || put_u32(t->dom, a[1], id) || put_u32(t->dom, a[2], id))
		return -EFAULT;
	return 0;
}

static long sys_getresuid(struct thread *t, const uint64_t a[6])
{
	return put_ids(t, a, my_uid(t));
}

static long sys_getresgid(struct thread *t, const uint64_t a[6])
{
	return put_ids(t, a, my_gid(t));
}

/* The set*id calls, as Linux answers a process whose real, effective and
 * saved ids are all the domain's and that has no CAP_SETUID/CAP_SETGID:
 * setting an id to the one it has succeeds (and changes nothing), any
 * other is EPERM, -1 leaves one alone. The host identity never changes
 * on a guest's request (cred.c); root opted in keeps uid 0. */
static long same_ids(uint32_t have, const uint64_t a[6], int n)
{
	for (int i = 0; i < n; i++)
		if ((uint32_t)a[i] != (uint32_t)-1 && (uint32_t)a[i] != have)
			return -EPERM;
	return 0;
}

static long sys_setuid(struct thread *t, const uint64_t a[6])
{
	return (uint32_t)a[0] == (uint32_t)-1 ? -EINVAL : same_ids(my_uid(t), a, 1);
}

static long sys_setgid(struct thread *t, const uint64_t a[6])
{
	return (uint32_t)a[0] == (uint32_t)-1 ? -EINVAL : same_ids(my_gid(t), a, 1);
}

static long sys_setreuid(struct thread *t, const uint64_t a[6])
{
	return same_ids(my_uid(t), a, 2);
}

static long sys_setregid(struct thread *t, const uint64_t a[6])
{
	return same_ids(my_gid(t), a, 2);
}

static long sys_setresuid(struct thread *t, const uint64_t a[6])
{
	return same_ids(my_uid(t), a, 3);
}

static long sys_setresgid(struct thread *t, const uint64_t a[6])
{
	return same_ids(my_gid(t), a, 3);
}

/* Needs CAP_SETGID whatever the list: the domain has none. */
static long sys_setgroups(struct thread *t, const uint64_t a[6])
{
	if ((int)a[0] < 0 || a[0] > 65536)
		return -EINVAL;
	return syscall_refuse(t, SYS_setgroups, -EPERM, "no CAP_SETGID");
}

static long sys_getgroups(struct thread *t, const uint64_t a[6])
{
	int size = (int)a[0], n;
	gid_t *g;
	long rc;

	if (size < 0)
		return -EINVAL;
	n = getgroups(0, NULL);
	if (n < 0)
		return -errno;
	if (size == 0)
		return n;
	if (size < n)
		return -EINVAL;
	g = calloc((size_t)n + 1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	n = getgroups(n, g);
	if (n < 0) {
		rc = -errno;
	} else {
		for (int i = 0; i < n; i++)
			g[i] = cred_gid_out(&t->dom->cred, g[i]);
		rc = copy_to_user(t->dom, a[1], g, (size_t)n * sizeof(*g)) ? -EFAULT : n;
	}
	free(g);
	return rc;
}

static long sys_personality(struct thread *t, const uint64_t a[6])
{
	struct process *pr = t->proc;
	uint32_t old = pr->personality, p = (uint32_t)a[0];

	if (p != 0xffffffffU)
		pr->personality = p;
	return old;
}

/* ---- system information ---- */

static long sys_uname(struct thread *t, const uint64_t a[6])
{
	struct utsname u;

	/* Host values: `uname -a` inside and outside a domain agree, but
	 * for the node name a domain was given (pdvm run --hostname). */
	if (uname(&u) < 0)
		return -errno;
	if (t->dom->hostname[0])
		snprintf(u.nodename, sizeof(u.nodename), "%s", t->dom->hostname);
	return copy_to_user(t->dom, a[0], &u, sizeof(u));
}

static long sys_sysinfo(struct thread *t, const uint64_t a[6])
{
	struct sysinfo si;
	uint64_t unit, limit;

	if (sysinfo(&si) < 0)
		return -errno;
	unit = si.mem_unit ? si.mem_unit : 1;
	limit = t->dom->spec ? t->dom->spec->memory : 0;
	/* The domain's memory limit is its RAM; what it has not used yet is
	 * its free RAM (never more than the host has free). */
	if (limit && limit / unit < si.totalram) {
		uint64_t used = t->dom->frames.data_used * PAGE_SIZE / unit;

		si.totalram = limit / unit;
		si.freeram = MIN(si.freeram, si.totalram - MIN(used, si.totalram));
		si.sharedram = MIN(si.sharedram, si.totalram);
		si.bufferram = MIN(si.bufferram, si.totalram);
	}
	return copy_to_user(t->dom, a[0], &si, sizeof(si));
}

/* ---- randomness ---- */

#define GETRANDOM_MAX	(1UL << 20)   /* per call; the guest gets a short count */
#define GETRANDOM_CHUNK	(64UL << 10)

/* Copies what fits before the first unwritable page, as the kernel's
 * copy_to_user does; returns the bytes copied. */
static size_t copy_to_user_partial(struct domain *d, gva_t dst, const uint8_t *src,
				   size_t n)
{
	size_t done = 0;

	if (copy_to_user(d, dst, src, n) == 0)
		return n;
	while (done < n) {
		size_t piece = MIN(n - done, PAGE_SIZE - ((dst + done) & (PAGE_SIZE - 1)));

		if (copy_to_user(d, dst + done, src + done, piece))
			break;
		done += piece;
	}
	return done;
}

static long sys_getrandom(struct thread *t, const uint64_t a[6])
{
	const unsigned int valid = GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE;
	unsigned int flags = (unsigned int)a[2];
	uint64_t count = a[1], done = 0;
	uint8_t *buf;

	if (flags & ~valid)
		return -EINVAL;
	if ((flags & (GRND_INSECURE | GRND_RANDOM)) == (GRND_INSECURE | GRND_RANDOM))
		return -EINVAL;
	if (count > INT_MAX)
		count = INT_MAX;
	count = MIN(count, GETRANDOM_MAX);
	if (!count)
		return 0;
	buf = malloc(MIN(count, GETRANDOM_CHUNK));
	if (!buf)
		return -ENOMEM;
	while (done < count) {
		size_t n = (size_t)MIN(count - done, GETRANDOM_CHUNK);
		ssize_t r = getrandom(buf, n, flags);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			return done ? (long)done : -e;
		}
		size_t c = copy_to_user_partial(t->dom, a[0] + done, buf, (size_t)r);

		done += c;
		if (c < (size_t)r) {
			free(buf);
			return done ? (long)done : -EFAULT;
		}
		if ((size_t)r < n)
			break;
	}
	free(buf);
	return (long)done;
}

/* ---- resource limits ---- */

#define NLIMITS 16
#define RLIM_INF (~0ULL)

/* Fills proc_cur(d)->rlimits the first time they are used (all-zero means unset):
 * the host's limits, except the stack (8 MiB, what the loader maps), open
 * files (1024 soft, as a login shell has) and the address space (the
 * domain's memory). */
static void rlimits_init(struct domain *d)
{
	bool unset = true;

	for (int i = 0; i < NLIMITS; i++)
		if (proc_cur(d)->rlimits[i].cur || proc_cur(d)->rlimits[i].max)
			unset = false;
	if (!unset)
		return;
	for (int i = 0; i < NLIMITS; i++) {
		struct rlimit rl;

		if (getrlimit((__rlimit_resource_t)i, &rl) < 0)
			rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
		proc_cur(d)->rlimits[i].cur = rl.rlim_cur;
		proc_cur(d)->rlimits[i].max = rl.rlim_max;
	}
	proc_cur(d)->rlimits[RLIMIT_STACK].cur = 8UL << 20;
	if (proc_cur(d)->rlimits[RLIMIT_STACK].max < proc_cur(d)->rlimits[RLIMIT_STACK].cur)
		proc_cur(d)->rlimits[RLIMIT_STACK].max = proc_cur(d)->rlimits[RLIMIT_STACK].cur;
	proc_cur(d)->rlimits[RLIMIT_NOFILE].cur = MIN(1024, proc_cur(d)->rlimits[RLIMIT_NOFILE].max);
	if (d->spec && d->spec->memory)
		proc_cur(d)->rlimits[RLIMIT_AS].cur = proc_cur(d)->rlimits[RLIMIT_AS].max = d->spec->memory;
}

void rlimits_setup(struct domain *d)
{
	rlimits_init(d);
	for (int i = 0; d->spec && i < NLIMITS; i++)
		if (d->spec->rlimit_set & (1u << i)) {
			proc_cur(d)->rlimits[i].cur = d->spec->rlimit_cur[i];
			proc_cur(d)->rlimits[i].max = d->spec->rlimit_max[i];
		}
}

static uint64_t nr_open(void)
{
	static uint64_t cached;
	FILE *f;
	unsigned long long v;

	if (cached)
		return cached;
	cached = 1UL << 20;
	f = fopen("/proc/sys/fs/nr_open", "re");
	if (f) {
		if (fscanf(f, "%llu", &v) == 1 && v)
			cached = v;
		fclose(f);
	}
	return cached;
}

/* do_prlimit(): validates, then swaps old and new. */
static int do_prlimit(struct domain *d, unsigned int res, const uint64_t *new2,
		      uint64_t *old2)
{
	if (res >= NLIMITS)
		return -EINVAL;
	rlimits_init(d);
	if (new2) {
		if (new2[0] > new2[1])
			return -EINVAL;
		if (res == RLIMIT_NOFILE && new2[1] > nr_open())
			return -EPERM;
		/* Raising a hard limit needs CAP_SYS_RESOURCE: the host's. */
		if (new2[1] > proc_cur(d)->rlimits[res].max && d->cred.uid != 0)
			return -EPERM;
	}
	if (old2) {
		old2[0] = proc_cur(d)->rlimits[res].cur;
		old2[1] = proc_cur(d)->rlimits[res].max;
	}
	if (new2) {
		proc_cur(d)->rlimits[res].cur = new2[0];
		proc_cur(d)->rlimits[res].max = new2[1];
	}
	return 0;
}

static long sys_getrlimit(struct thread *t, const uint64_t a[6])
{
	uint64_t old[2];
	int rc = do_prlimit(t->dom, (unsigned int)a[0], NULL, old);

	if (rc < 0)
		return rc;
	return copy_to_user(t->dom, a[1], old, sizeof(old));
}

static long sys_setrlimit(struct thread *t, const uint64_t a[6])
{
	uint64_t new2[2];

	if (copy_from_user(t->dom, new2, a[1], sizeof(new2)))
		return -EFAULT;
	return do_prlimit(t->dom, (unsigned int)a[0], new2, NULL);
}

static long sys_prlimit64(struct thread *t, const uint64_t a[6])
{
	uint64_t new2[2], old[2];
	int rc;

	if (a[2] && copy_from_user(t->dom, new2, a[2], sizeof(new2)))
		return -EFAULT;
	if (!own_process(t, (int)a[0]))
		return -ESRCH;
	rc = do_prlimit(t->dom, (unsigned int)a[1], a[2] ? new2 : NULL,
			a[3] ? old : NULL);
	if (rc == 0 && a[3] && copy_to_user(t->dom, a[3], old, sizeof(old)))
		return -EFAULT;
	return rc;
}

/* ---- futex robust lists ---- */

#define ROBUST_HEAD_SIZE 24 /* struct robust_list_head */

static long sys_set_robust_list(struct thread *t, const uint64_t a[6])
{
	if (a[1] != ROBUST_HEAD_SIZE)
		return -EINVAL;
	t->robust_list = a[0];
	t->robust_len = a[1];
	return 0;
}

static long sys_get_robust_list(struct thread *t, const uint64_t a[6])
{
	struct thread *who = thread_target(t, (int)a[0]);

	if (!who)
		return -ESRCH;
	if (put_u64(t->dom, a[2], ROBUST_HEAD_SIZE))
		return -EFAULT;
	return put_u64(t->dom, a[1], who->robust_list);
}

/* ---- arch_prctl and prctl ---- */

#define TASK_SIZE_MAX	USER_MAX
#define GUEST_XFEATURES	7ULL    /* x87, SSE, AVX: the XCR0 the vCPUs get */

static long sys_arch_prctl(struct thread *t, const uint64_t a[6])
{
	switch ((int)a[0]) {
	case ARCH_SET_FS:
	case ARCH_SET_GS:
		if (a[1] >= TASK_SIZE_MAX)
			return -EPERM;
		if ((int)a[0] == ARCH_SET_FS)
			t->fs_base = a[1];
		else
			t->gs_base = a[1];
		/* The run loop pushes the segment bases before re-entry. */
		t->sregs_dirty = true;
		return 0;
	case ARCH_GET_FS:
		return put_u64(t->dom, a[1], t->fs_base);
	case ARCH_GET_GS:
		return put_u64(t->dom, a[1], t->gs_base);
	case ARCH_GET_CPUID:
		return 1; /* CPUID does not fault */
	case ARCH_SET_CPUID:
		return -ENODEV; /* no CPUID faulting */
	case ARCH_GET_XCOMP_SUPP:
	case ARCH_GET_XCOMP_PERM:
		return put_u64(t->dom, a[1], GUEST_XFEATURES);
	case ARCH_REQ_XCOMP_PERM:
		/* Only the features already enabled: no AMX. */
		return a[1] < 3 ? 0 : -EOPNOTSUPP;
	default:
		/* ARCH_CET_STATUS and friends: unknown to this kernel. */
		return -EINVAL;
	}
}

static long sys_prctl(struct thread *t, const uint64_t a[6])
{
	char name[TASK_COMM_LEN];
	long n;

	switch ((int)a[0]) {
	case PR_SET_NAME:
		n = strncpy_from_user(t->dom, name, a[1], TASK_COMM_LEN);
		if (n == -ENAMETOOLONG) {
			/* Longer names are cut to 15 bytes, as Linux does. */
			if (copy_from_user(t->dom, name, a[1], TASK_COMM_LEN - 1))
				return -EFAULT;
			name[TASK_COMM_LEN - 1] = '\0';
		} else if (n < 0) {
			return -EFAULT;
		}
		memset(t->comm, 0, TASK_COMM_LEN);
		memcpy(t->comm, name, strnlen(name, TASK_COMM_LEN - 1));
		return 0;
	case PR_GET_NAME:
		thread_get_comm(t, name);
		return copy_to_user(t->dom, a[1], name, TASK_COMM_LEN);
	case PR_GET_DUMPABLE:
		return t->proc->dumpable;
	case PR_SET_DUMPABLE:
		if (a[1] != 0 && a[1] != 1)
			return -EINVAL;
		t->proc->dumpable = (int)a[1];
		return 0;
	case PR_SET_PDEATHSIG:
		if (a[1] > 64)
			return -EINVAL;
		t->pdeathsig = (int)a[1];
		return 0;
	case PR_GET_PDEATHSIG:
		return put_u32(t->dom, a[1], (uint32_t)t->pdeathsig);
	case PR_SET_NO_NEW_PRIVS:
		if (a[1] != 1 || a[2] || a[3] || a[4])
			return -EINVAL;
		t->proc->no_new_privs = true;
		return 0;
	case PR_GET_NO_NEW_PRIVS:
		if (a[1] || a[2] || a[3] || a[4])
			return -EINVAL;
		return t->proc->no_new_privs;
	default:
		return -EINVAL;
	}
}

const struct syscall_desc sys_misc_table[] = {
	{ SYS_gettid, "gettid", sys_gettid },
	{ SYS_getuid, "getuid", sys_getuid },
	{ SYS_geteuid, "geteuid", sys_getuid },
	{ SYS_getgid, "getgid", sys_getgid },
	{ SYS_getegid, "getegid", sys_getgid },
	{ SYS_getresuid, "getresuid", sys_getresuid },
	{ SYS_getresgid, "getresgid", sys_getresgid },
	{ SYS_getgroups, "getgroups", sys_getgroups },
	{ SYS_setuid, "setuid", sys_setuid },
	{ SYS_setgid, "setgid", sys_setgid },
	{ SYS_setreuid, "setreuid", sys_setreuid },
	{ SYS_setregid, "setregid", sys_setregid },
	{ SYS_setresuid, "setresuid", sys_setresuid },
	{ SYS_setresgid, "setresgid", sys_setresgid },
	/* setfs[ug]id return the old fs id whatever happens: the domain's. */
	{ SYS_setfsuid, "setfsuid", sys_getuid },
	{ SYS_setfsgid, "setfsgid", sys_getgid },
	{ SYS_setgroups, "setgroups", sys_setgroups },
	{ SYS_personality, "personality", sys_personality },
	{ SYS_uname, "uname", sys_uname },
	{ SYS_sysinfo, "sysinfo", sys_sysinfo },
	{ SYS_getrandom, "getrandom", sys_getrandom },
	{ SYS_getrlimit, "getrlimit", sys_getrlimit },
	{ SYS_setrlimit, "setrlimit", sys_setrlimit },
	{ SYS_prlimit64, "prlimit64", sys_prlimit64 },
	{ SYS_set_robust_list, "set_robust_list", sys_set_robust_list },
	{ SYS_get_robust_list, "get_robust_list", sys_get_robust_list },
	{ SYS_arch_prctl, "arch_prctl", sys_arch_prctl },
	{ SYS_prctl, "prctl", sys_prctl },
	{ -1, NULL, NULL },
};
