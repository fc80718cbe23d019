/* procfs.c: the domain's own /proc/self (cmdline, comm, environ, status, stat, statm, maps, auxv, fd/, task/), the same but fd/ of its other processes (also under task/TID/, where stat and status are the thread's), /proc/PID/mem's open, and /proc/meminfo, generated from VMM state. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "domain.h"
#include "uaccess.h"
#include "files.h"
#include "jobctl.h"
#include "procfs.h"

/* A growing text buffer. */
struct tbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
static void tb_printf(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;

	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = b->cap ? b->cap * 2 : 4096;
		while (nc - b->len <= (size_t)n)
			nc *= 2;
		char *q = realloc(b->p, nc);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = nc;
	}
}

static void tb_nulstrings(struct tbuf *b, char *const *v)
{
	for (; v && *v; v++) {
		tb_printf(b, "%s", *v);
		tb_printf(b, "%c", 0);
	}
	/* vsnprintf counts the NUL of "%c" with 0: a byte each time. */
}

/* Process p's name, as /proc/PID shows it: its first thread's (exec and
 * PR_SET_NAME set it; execveat by fd names it after the file), else the
 * program's basename. */
static const char *comm_of(struct domain *d, const struct process *p)
{
	static __thread char comm[TASK_COMM_LEN];
	struct thread *leader = thread_find(d, p->pid);
	if (leader && leader->proc == p) {
		thread_get_comm(leader, comm);
		return comm;
	}
	const char *e = p->files && p->files->exe ? p->files->exe :
			d->spec && d->spec->program ? d->spec->program : "";
	const char *s = strrchr(e, '/');
	return s ? s + 1 : e;
}

/* cmdline and environ: the strings in the process's memory, as Linux
 * reads them (a program that rewrites its argv shows it); the config's
 * when the range is unknown or unreadable. */
/* Reads [src, src + n) of address space mm (not necessarily the caller's). */
static int copy_from_mm(struct mm *mm, void *dst, gva_t src, size_t n)
{
	while (n) {
		size_t avail;
		void *h = mm_user_page_in(mm, src, false, &avail);

		if (!h)
			return -EFAULT;
		avail = MIN(avail, n);
		memcpy(dst, h, avail);
		dst = (char *)dst + avail;
		src += avail;
		n -= avail;
	}
	return 0;
}

static void gen_strings(struct mm *mm, struct tbuf *b, gva_t start, gva_t end, char *const *fallback)
{
	if (!mm)
		return; /* a zombie's are empty */
	if (start && end > start && end - start <= (1u << 21)) {
		char *buf = malloc(end - start);
		if (buf && copy_from_mm(mm, buf, start, end - start) == 0) {
			for (gva_t i = 0; i < end - start; i++)
				tb_printf(b, "%c", buf[i]);
			free(buf);
			return;
		}
		free(buf);
	}
	tb_nulstrings(b, fallback);
}

static uint64_t vm_bytes(const struct mm *mm)
{
	uint64_t n = 0;
	for (int i = 0; mm && i < mm->nvmas; i++)
		n += mm->vmas[i].end - mm->vmas[i].start;
	return n;
}

static uint64_t rss_bytes(struct domain *d)
{
	return d->frames.data_used * PAGE_SIZE;
}

static uint64_t sigset_of(const struct process *p, uint64_t want)
{
	uint64_t m = 0;
	for (int s = 1; s <= NSIG_K; s++) {
		uint64_t h = p->sigactions[s - 1].handler;
		if ((want == KSIG_IGN && h == KSIG_IGN) || (want == 2 && h > KSIG_IGN))
			m |= SIGBIT(s);
	}
	return m;
}

/* The State line of /proc/PID/status for jobctl_state's letter. */
static const char *state_name(char c)
{
	return c == 'T' ? "T (stopped)" : c == 'Z' ? "Z (zombie)" : "R (running)";
}

/* /proc/PID/status of process p, as thread t sees it (t: the caller for
 * its own process, else p's main thread; NULL for a zombie). */
static void gen_status(struct domain *d, struct process *p, struct thread *t, int id, struct tbuf *b)
{
	/* The domain's identity (cred.c) and the capabilities that come with
	 * it: none, unless the operator opted in to root. */
	uint32_t uid = cred_uid_out(&d->cred, d->cred.uid), gid = cred_gid_out(&d->cred, d->cred.gid);
	unsigned long long caps = d->cred.as_root ? 0x1ffffffffffULL : 0;
	tb_printf(b, "Name:\t%.15s\nUmask:\t%04o\nState:\t%s\nTgid:\t%d\nNgid:\t0\nPid:\t%d\n"
		  "PPid:\t%d\nTracerPid:\t%d\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nFDSize:\t64\nGroups:\t\n",
		  comm_of(d, p), p->files ? (unsigned)p->files->umask : 022, state_name(jobctl_state(p)), p->pid,
		  id, proc_ppid(p), t ? t->pt.tracer_pid : 0,
		  uid, uid, uid, uid, gid, gid, gid, gid);
	tb_printf(b, "VmPeak:\t%8llu kB\nVmSize:\t%8llu kB\nVmRSS:\t%8llu kB\nVmData:\t%8llu kB\n"
		  "VmStk:\t%8llu kB\nThreads:\t%d\n",
		  (unsigned long long)(vm_bytes(p->mm) >> 10), (unsigned long long)(vm_bytes(p->mm) >> 10),
		  (unsigned long long)(rss_bytes(d) >> 10), (unsigned long long)(rss_bytes(d) >> 10),
		  8192ULL, p->nthreads);
	tb_printf(b, "SigQ:\t0/%llu\nSigPnd:\t%016llx\nShdPnd:\t%016llx\nSigBlk:\t%016llx\n"
		  "SigIgn:\t%016llx\nSigCgt:\t%016llx\n",
		  (unsigned long long)p->rlimits[RLIMIT_SIGPENDING].cur,
		  (unsigned long long)(t ? t->sig_pending : 0), (unsigned long long)p->sig_pending,
		  (unsigned long long)(t ? t->sigmask : 0), (unsigned long long)sigset_of(p, KSIG_IGN),
		  (unsigned long long)sigset_of(p, 2));
	tb_printf(b, "CapInh:\t0000000000000000\nCapPrm:\t%016llx\nCapEff:\t%016llx\n"
		  "CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t%d\nSeccomp:\t0\n"
		  "Cpus_allowed_list:\t0-%ld\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
		  caps, caps, p->no_new_privs, sysconf(_SC_NPROCESSORS_ONLN) - 1);
}

/* /proc/PID/stat, the same way. */
static void gen_stat(struct domain *d, struct process *p, struct thread *t, int id, struct tbuf *b)
{
	int nice = t ? t->nice : 0;
	uint64_t start = (d->start_ns / 1000000000ULL) * (uint64_t)sysconf(_SC_CLK_TCK);
	/* 52 fields as in fs/proc/array.c; what pdvm does not track is 0. */
	tb_printf(b, "%d (%.15s) %c %d %d %d 0 -1 4194304 0 0 0 0 0 0 0 0 %d %d %d 0 %llu %llu %llu "
		  "18446744073709551615 0 0 %llu 0 0 0 0 0 0 0 0 0 17 0 0 %u 0 0 0 0 0 0 0 0 0 0 0\n",
		  id, comm_of(d, p), jobctl_state(p), proc_ppid(p), p->pgid, p->sid,
		  20 + nice, nice, p->nthreads,
		  (unsigned long long)start, (unsigned long long)vm_bytes(p->mm),
		  (unsigned long long)(rss_bytes(d) / PAGE_SIZE), (unsigned long long)(p->mm ? p->mm->stack_top : 0),
		  t ? t->sched_policy & 7 : 0);
}

/* Appends a mapping's file name as Linux's seq_file_path does: a newline
 * in it as the octal escape \012, so that every mapping stays one line. */
static void tb_path(struct tbuf *b, const char *path)
{
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "\n");
		tb_printf(b, "%.*s", (int)n, p);
		p += n;
		if (*p) {
			tb_printf(b, "\\012");
			p++;
		}
	}
}

/* /proc/PID/maps of process p, line for line as Linux's show_map_vma: the
 * name (a file's path, or [heap], [stack], [vvar], [vdso]) starts in
 * column 73, after the header padded with spaces. */
static void gen_maps(struct domain *d, struct process *p, struct tbuf *b)
{
	struct mm *mm = p->mm;
	gva_t vvar = mm && mm->vvar_gva ? mm->vvar_gva : d->vvar_gva;
	struct vmfile *checked = NULL;
	bool gone = false;
	for (int i = 0; mm && i < mm->nvmas; i++) {
		const struct vma *v = &mm->vmas[i];
		const char *name = "";
		if (v->file)
			name = v->file->path;
		else if (vvar && v->start <= vvar && vvar < v->end)
			name = "[vvar]";
		else if (vvar && v->start <= vvar + PAGE_SIZE && vvar + PAGE_SIZE < v->end)
			name = "[vdso]";
		else if (v->start < mm->brk_cur && v->end > mm->brk_start)
			name = "[heap]"; /* Linux's vma_is_initial_heap */
		else if (v->end == mm->stack_top || (v->flags & MAP_GROWSDOWN))
			name = "[stack]";
		unsigned long long dev = v->file ? v->file->dev : 0;
		size_t at = b->len;
		tb_printf(b, "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %llu ",
			  (unsigned long long)v->start, (unsigned long long)v->end,
			  v->prot & PROT_READ ? 'r' : '-', v->prot & PROT_WRITE ? 'w' : '-',
			  v->prot & PROT_EXEC ? 'x' : '-', (v->flags & MAP_SHARED) ? 's' : 'p',
			  (unsigned long long)v->pgoff, major(dev), minor(dev),
			  (unsigned long long)(v->file ? v->file->ino : 0));
		if (*name) {
			size_t used = b->len - at;
			tb_printf(b, "%*s ", used < 72 ? (int)(72 - used) : 0, "");
			if (v->file) {
				/* Mappings of one file come in runs: one
				 * lookup per run. */
				if (v->file != checked)
					gone = vmfile_deleted(v->file, p->files);
				checked = v->file;
				tb_path(b, name);
				if (gone)
					tb_printf(b, " (deleted)");
			} else {
				tb_printf(b, "%s", name);
			}
		}
		tb_printf(b, "\n");
	}
}

/* The auxv the program started with, from its stack (Linux keeps a copy:
 * here a program that overwrote it shows what it wrote). A debugger finds
 * a PIE's entry there. */
static void gen_auxv(struct mm *mm, struct tbuf *b)
{
	uint8_t buf[64 * 16];
	if (!mm || !mm->auxv_start || !mm->auxv_len || mm->auxv_len > sizeof(buf) ||
	    copy_from_mm(mm, buf, mm->auxv_start, mm->auxv_len))
		return;
	/* Binary: the text buffer takes it a byte at a time. */
	for (uint64_t i = 0; i < mm->auxv_len; i++)
		tb_printf(b, "%c", buf[i]);
}

static void gen_meminfo(struct domain *d, struct tbuf *b)
{
	uint64_t total = d->frames.data_limit * PAGE_SIZE, used = rss_bytes(d);
	uint64_t freeb = total > used ? total - used : 0;
	tb_printf(b, "MemTotal:       %8llu kB\nMemFree:        %8llu kB\nMemAvailable:   %8llu kB\n"
		  "Buffers:               0 kB\nCached:                0 kB\nSwapCached:            0 kB\n"
		  "SwapTotal:             0 kB\nSwapFree:              0 kB\nShmem:                 0 kB\n"
		  "CommitLimit:    %8llu kB\nCommitted_AS:   %8llu kB\n",
		  (unsigned long long)(total >> 10), (unsigned long long)(freeb >> 10),
		  (unsigned long long)(freeb >> 10), (unsigned long long)(total >> 10),
		  (unsigned long long)(used >> 10));
}

/* "task/TID/REST" of process p, TID one of its threads: REST (the
 * process's file stands for the thread's); anything else as it is. */
/* After /proc/PID/: "task/TID/" of one of p's threads is skipped, and
 * that thread is *named's. */
static const char *task_rest(struct domain *d, struct process *p, const char *r, struct thread **named)
{
	if (strncmp(r, "task/", 5) || r[5] < '1' || r[5] > '9')
		return r;
	char *end;
	errno = 0;
	long tid = strtol(r + 5, &end, 10);
	struct thread *t = errno || tid > INT32_MAX ? NULL : thread_find(d, (int)tid);
	if (!t || t->proc != p || *end != '/')
		return r;
	*named = t;
	return end + 1;
}

/* procfs_rest, and the thread g names (*named): /proc/thread-self's is
 * self, task/TID's that thread, else NULL (the view is the process's). */
static const char *rest_of(struct domain *d, const char *g, struct process **p, struct thread *self,
			   struct thread **named)
{
	static const char *const pre[] = { "/proc/self", "/proc/thread-self" };
	*named = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(pre); i++) {
		size_t n = strlen(pre[i]);
		if (!strncmp(g, pre[i], n) && (g[n] == '/' || !g[n])) {
			*p = proc_cur(d);
			if (i == 1)
				*named = self;
			return g[n] ? task_rest(d, *p, g + n + 1, named) : "";
		}
	}
	if (strncmp(g, "/proc/", 6) || g[6] < '1' || g[6] > '9')
		return NULL;
	char *end;
	errno = 0;
	long pid = strtol(g + 6, &end, 10);
	if (errno || pid > INT32_MAX || (*end != '/' && *end) || !(*p = proc_find(d, (int)pid)))
		return NULL;
	return *end ? task_rest(d, *p, end + 1, named) : "";
}

const char *procfs_rest(struct domain *d, const char *g, struct process **p)
{
	struct thread *named;
	return rest_of(d, g, p, NULL, &named);
}

bool procfs_is_synthetic(struct domain *d, const char *g)
{
	if (strncmp(g, "/proc/", 6))
		return false; /* every open passes here: the common case first */
	struct process *p;
	const char *r = procfs_rest(d, g, &p);
	/* Of the domain's other processes: the state, for job control (a
	 * stopped child shows T), what their memory holds and the memory
	 * map; what else a caller reads there is the host's, as before. */
	if (r && p != proc_cur(d))
		return !strcmp(r, "status") || !strcmp(r, "stat") || !strcmp(r, "comm") ||
		       !strcmp(r, "cmdline") || !strcmp(r, "environ") || !strcmp(r, "statm") ||
		       !strcmp(r, "maps") || !strcmp(r, "auxv") || !strcmp(r, "mem") || !strcmp(r, "task");
	if (r)
		return !strcmp(r, "cmdline") || !strcmp(r, "comm") || !strcmp(r, "environ") ||
		       !strcmp(r, "status") || !strcmp(r, "stat") || !strcmp(r, "statm") ||
		       !strcmp(r, "maps") || !strcmp(r, "fd") || !strcmp(r, "auxv") || !strcmp(r, "mem") ||
		       !strcmp(r, "task");
	return !strcmp(g, "/proc/meminfo");
}

/* The thread whose view /proc/PID shows: the caller in its own process,
 * else p's main thread, or another of its threads once that one is gone;
 * NULL for a zombie. */
static struct thread *view_thread(struct domain *d, struct process *p, struct thread *t)
{
	if (p == proc_cur(d))
		return t;
	struct thread *m = thread_find(d, p->pid);
	if (m && m->proc == p)
		return m;
	for (int i = 0; i < MAX_THREADS; i++)
		if (d->threads[i] && d->threads[i]->proc == p && !d->threads[i]->exited)
			return d->threads[i];
	return NULL;
}

/* A read-only fd on the bytes: a memfd reopened O_RDONLY. */
static int text_fd(const struct tbuf *b)
{
	int m = memfd_create("pdvm-proc", MFD_CLOEXEC);
	if (m < 0)
		return -errno;
	size_t off = 0;
	while (off < b->len) {
		ssize_t n = write(m, b->p + off, b->len - off);
		if (n < 0) {
			int e = errno;
			close(m);
			return -e;
		}
		off += (size_t)n;
	}
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", m);
	int fd = open(link, O_RDONLY | O_CLOEXEC);
	int e = errno;
	close(m);
	return fd < 0 ? -e : fd;
}

/* A subdirectory `name` of the caller's private directory for listings
 * (made at first use by the calling vCPU thread, so with the domain's
 * identity, cred.c: in $TMPDIR if that user may write there, else /tmp),
 * emptied and opened. */
static int fresh_listing(struct domain *d, const char *name)
{
	struct process *me = proc_cur(d);
	const char *base = getenv("TMPDIR");
	const char *const bases[] = { base && *base ? base : "/tmp", "/tmp" };
	for (int i = 0; i < 2 && !me->procfs_dir[0]; i++) {
		snprintf(me->procfs_dir, sizeof(me->procfs_dir), "%s/pdvm-procfd-XXXXXX", bases[i]);
		if (!mkdtemp(me->procfs_dir)) {
			int e = errno;
			me->procfs_dir[0] = '\0';
			if (i == 1)
				return -e;
		}
	}
	char sub[sizeof(me->procfs_dir) + 16];
	snprintf(sub, sizeof(sub), "%s/%s", me->procfs_dir, name);
	if (mkdir(sub, 0700) < 0 && errno != EEXIST)
		return -errno;
	procfs_cleanup_dir(sub, false);
	int dfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dfd < 0 ? -errno : dfd;
}

/* /proc/self/fd: a directory of symlinks named by the guest's fds, made
 * fresh at every open. */
static int fd_dir(struct domain *d)
{
	struct files *f = proc_cur(d)->files;
	int dfd = fresh_listing(d, "fd");
	if (dfd < 0)
		return dfd;
	for (int i = 0; f && i < f->nfds; i++) {
		if (!f->fds[i].ofd)
			continue;
		char name[16];
		snprintf(name, sizeof(name), "%d", i);
		const char *target = f->fds[i].ofd->path ? f->fds[i].ofd->path : "anon_inode:[unknown]";
		if (symlinkat(target, dfd, name) < 0 && errno != EEXIST) {
			int e = errno;
			close(dfd);
			return -e;
		}
	}
	return dfd;
}

/* /proc/PID/task: a directory of p's thread ids (gdb attaching to a
 * process, ps -L), made fresh at every open; what is below an id is
 * served by its path (task/TID/...). */
static int task_dir(struct domain *d, struct process *p)
{
	int dfd = fresh_listing(d, "task");
	if (dfd < 0)
		return dfd;
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *t = d->threads[i];
		if (!t || t->proc != p || t->exited)
			continue;
		char name[16];
		snprintf(name, sizeof(name), "%d", t->tid);
		if (mkdirat(dfd, name, 0555) < 0 && errno != EEXIST) {
			int e = errno;
			close(dfd);
			return -e;
		}
	}
	return dfd;
}

/* Empties dir: files and links, and subdirectories (the listings, and the
 * thread directories in task/) with what is in them. */
static void cleanup_at(int dfd, int depth)
{
	DIR *dd = fdopendir(dfd);
	if (!dd) {
		close(dfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(dd))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(dd), e->d_name, 0) == 0 || errno != EISDIR || depth > 2)
			continue;
		int sub = openat(dirfd(dd), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			cleanup_at(sub, depth + 1);
		unlinkat(dirfd(dd), e->d_name, AT_REMOVEDIR);
	}
	closedir(dd);
}

void procfs_cleanup_dir(const char *dir, bool remove_dir)
{
	if (!dir || !dir[0])
		return;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0)
		cleanup_at(dfd, 0);
	if (remove_dir)
		rmdir(dir);
}

int procfs_open(struct domain *d, struct thread *t, const char *g, int flags)
{
	if (!procfs_is_synthetic(d, g))
		return PROCFS_NOT_OURS;
	struct process *p = NULL;
	struct thread *n;
	const char *r = rest_of(d, g, &p, t, &n);
	/* /proc/PID/mem: read and written by the VMM (vmm/procmem.c); the
	 * host fd, an empty memfd, only keeps the file position. */
	if (r && !strcmp(r, "mem")) {
		if (flags & O_DIRECTORY)
			return -ENOTDIR;
		int m = memfd_create("pdvm-mem", MFD_CLOEXEC);
		return m < 0 ? -errno : m;
	}
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))
		return -EACCES;
	if (r && !strcmp(r, "fd"))
		return fd_dir(d);
	if (r && !strcmp(r, "task"))
		return task_dir(d, p);
	if (flags & O_DIRECTORY)
		return -ENOTDIR;
	struct tbuf b = { 0 };
	if (!r)
		gen_meminfo(d, &b);
	else if (!strcmp(r, "cmdline"))
		gen_strings(p->mm, &b, p->mm ? p->mm->arg_start : 0, p->mm ? p->mm->arg_end : 0,
			    d->spec ? d->spec->argv : NULL);
	else if (!strcmp(r, "environ"))
		gen_strings(p->mm, &b, p->mm ? p->mm->env_start : 0, p->mm ? p->mm->env_end : 0,
			    d->spec ? d->spec->envp : NULL);
	else if (!strcmp(r, "comm"))
		tb_printf(&b, "%.15s\n", comm_of(d, p));
	else if (!strcmp(r, "status") || !strcmp(r, "stat")) {
		if (r[4])
			gen_status(d, p, n ? n : view_thread(d, p, t), n ? n->tid : p->pid, &b);
		else
			gen_stat(d, p, n ? n : view_thread(d, p, t), n ? n->tid : p->pid, &b);
	}
	else if (!strcmp(r, "statm"))
		tb_printf(&b, "%llu %llu 0 0 0 %llu 0\n", (unsigned long long)(vm_bytes(p->mm) / PAGE_SIZE),
			  (unsigned long long)(rss_bytes(d) / PAGE_SIZE),
			  (unsigned long long)(rss_bytes(d) / PAGE_SIZE));
	else if (!strcmp(r, "auxv"))
		gen_auxv(p->mm, &b);
	else
		gen_maps(d, p, &b);
	int fd = b.oom ? -ENOMEM : text_fd(&b);
	free(b.p);
	return fd;
}
