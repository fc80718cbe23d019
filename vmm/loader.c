/* loader.c: loads an ELF program into a domain: its segments, for a dynamic one its PT_INTERP interpreter, the stack, the vDSO and the entry registers. */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "loader.h"
#include "domain.h"
#include "elf_parse.h"
#include "elf_stack.h"
#include "files.h"
#include "mm.h"
#include "vdso.h"
#include "vmfile.h"

#define STACK_SIZE		(8UL << 20)
#define DEFAULT_STACK_TOP	0x7ffffffff000UL
#define COPY_CHUNK		(256UL << 10)

static int map_run(struct domain *d, uint64_t start, uint64_t end, int prot,
		   char *err, size_t errlen)
{
	long r = mm_map(d, start, end - start, prot,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);

	if (r < 0) {
		elf_seterr(err, errlen, "cannot map %#lx-%#lx: %s", (unsigned long)start,
		           (unsigned long)end, strerror((int)-r));
		return (int)r;
	}
	return 0;
}

/* Maps the union of the segments' pages, each page with the union of the
 * protections of the segments touching it, so that segments sharing a page
 * are mapped once. */
static int map_segments(struct domain *d, const struct elf_info *info,
			char *err, size_t errlen)
{
	uint64_t pts[2 * ELF_MAX_PHNUM];
	uint64_t run_start = 0, run_end = 0;
	int npts = 0, run_prot = -1, rc;

	for (int i = 0; i < info->nsegs; i++) {
		pts[npts++] = info->segs[i].vaddr & PAGE_MASK;
		pts[npts++] = PAGE_ALIGN(info->segs[i].vaddr + info->segs[i].memsz);
	}
	/* Insertion sort: at most 146 points. */
	for (int i = 1; i < npts; i++)
		for (int j = i; j > 0 && pts[j - 1] > pts[j]; j--) {
			uint64_t t = pts[j];

			pts[j] = pts[j - 1];
			pts[j - 1] = t;
		}

	/* Walk the elementary intervals between consecutive boundaries. */
	for (int i = 0; i + 1 < npts; i++) {
		uint64_t a = pts[i], e = pts[i + 1];
		int prot = -1;

		if (a == e)
			continue;
		for (int s = 0; s < info->nsegs; s++) {
			const struct elf_seg *g = &info->segs[s];

			if ((g->vaddr & PAGE_MASK) < e && PAGE_ALIGN(g->vaddr + g->memsz) > a)
				prot = (prot < 0 ? 0 : prot) | g->prot;
		}
		if (prot >= 0 && prot == run_prot && a == run_end) {
			run_end = e;
			continue;
		}
		if (run_prot >= 0) {
			rc = map_run(d, run_start, run_end, run_prot, err, errlen);
			if (rc < 0)
				return rc;
		}
		run_prot = prot;
		run_start = a;
		run_end = e;
	}
	if (run_prot >= 0)
		return map_run(d, run_start, run_end, run_prot, err, errlen);
	return 0;
}

static int copy_segments(struct domain *d, int fd, const struct elf_info *info,
			 char *err, size_t errlen)
{
	uint8_t *buf = malloc(COPY_CHUNK);

	if (!buf) {
		elf_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < info->nsegs; i++) {
		const struct elf_seg *s = &info->segs[i];

		for (uint64_t off = 0; off < s->filesz; off += COPY_CHUNK) {
			size_t n = (size_t)MIN(COPY_CHUNK, s->filesz - off);
			int rc = elf_pread_full(fd, buf, n, s->offset + off);

			if (rc == 0)
				rc = mm_poke(d, s->vaddr + off, buf, n);
			if (rc < 0) {
				elf_seterr(err, errlen, "cannot load segment %d: %s", i,
				           strerror(-rc));
				free(buf);
				return rc == -EFAULT ? -ENOMEM : -EIO;
			}
		}
	}
	free(buf);
	return 0;
}

/* Names the pages each segment maps from the file as that file at the
 * segment's offset, as Linux's elf_map leaves them: /proc/PID/maps shows
 * the program and ld.so by path, offset and inode (pprof symbolizes by
 * them). Where segments share a page, the later one names it, as its
 * MAP_FIXED mapping would; what lies beyond a segment's file pages (its
 * bss) stays anonymous. A program whose file cannot be named runs all the
 * same. */
static void name_segments(struct domain *d, int fd, const char *fallback, const struct elf_info *info)
{
	struct vmfile *file = vmfile_of_fd(proc_cur(d)->files, fd, fallback);
	if (!file)
		return;
	for (int i = 0; i < info->nsegs; i++) {
		const struct elf_seg *s = &info->segs[i];
		uint64_t start = s->vaddr & PAGE_MASK, head = s->vaddr - start;
		if (!s->filesz || s->offset < head)
			continue;
		mm_name_range(d, start, PAGE_ALIGN(s->vaddr + s->filesz), file, s->offset - head);
	}
	vmfile_put(file);
}

static uint64_t host_hwcap(void)
{
	unsigned int a, b, c, dx;

	if (!__get_cpuid(1, &a, &b, &c, &dx))
		return 0;
	return dx;
}

static int setup_stack(struct domain *d, const struct elf_info *info, uint64_t base, uint64_t vdso,
		       const char *execfn, char *const argv[], char *const envp[],
		       gva_t top, gva_t *sp, char *err, size_t errlen)
{
	struct elf_stack_params p = {
		.argv = argv, .envp = envp, .execfn = execfn,
		.hwcap = host_hwcap(), .hwcap2 = 0,
		.phdr = info->phdr, .phent = info->phent, .phnum = info->phnum,
		.entry = info->entry, .base = base, .sysinfo_ehdr = vdso,
		.uid = cred_uid_out(&d->cred, getuid()), .euid = cred_uid_out(&d->cred, geteuid()),
		.gid = cred_gid_out(&d->cred, getgid()), .egid = cred_gid_out(&d->cred, getegid()),
		.minsigstksz = 2048,
	};
	long need, r;
	size_t len;
	void *img;
	int rc;

	if (d->spec->deterministic) {
		/* A replay must build the same stack (vmm/rr.h). */
		memcpy(p.random, d->spec->at_random, sizeof(p.random));
	} else if (getrandom(p.random, sizeof(p.random), 0) != (ssize_t)sizeof(p.random)) {
		elf_seterr(err, errlen, "getrandom failed: %s", strerror(errno));
		return -EIO;
	}
	need = elf_stack_size(&p);
	if (need < 0) {
		elf_seterr(err, errlen, "argument list too long");
		return (int)need;
	}
	len = PAGE_ALIGN((size_t)need);

	r = mm_map(d, top - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN);
	if (r == -EINVAL) /* an mm without growsdown support: a plain stack */
		r = mm_map(d, top - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	if (r < 0) {
		elf_seterr(err, errlen, "cannot map the stack: %s", strerror((int)-r));
		return (int)r;
	}
	img = malloc(len);
	if (!img) {
		elf_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = elf_build_stack(img, len, top, &p, sp);
	if (rc == 0)
		rc = mm_poke(d, *sp, (uint8_t *)img + (*sp - (top - len)), top - *sp);
	if (rc == 0) {
		/* Where the argv and envp strings lie, for /proc/self/cmdline
		 * and environ. */
		struct mm *mm = dom_mm(d);
		elf_stack_strings(&p, top, &mm->arg_start, &mm->env_start, &mm->env_end);
		mm->arg_end = mm->env_start;
		/* And its auxv, for /proc/PID/auxv (a debugger finds the
		 * program's entry there): after argc, argv and envp. */
		const uint64_t *w = (const uint64_t *)(const void *)((uint8_t *)img + (*sp - (top - len)));
		size_t i = 1 + w[0] + 1, words = (top - *sp) / 8;
		while (i < words && w[i])
			i++;
		size_t a = ++i;
		while (i + 1 < words && w[i])
			i += 2;
		mm->auxv_start = *sp + a * 8;
		mm->auxv_len = (i + 2 - a) * 8;
	}
	free(img);
	if (rc < 0) {
		elf_seterr(err, errlen, "cannot build the initial stack: %s", strerror(-rc));
		return rc == -EFAULT ? -ENOMEM : rc;
	}
	return 0;
}

/* Moves every address of a parsed ELF by delta. */
static void elf_rebase(struct elf_info *info, uint64_t delta)
{
	for (int i = 0; i < info->nsegs; i++)
		info->segs[i].vaddr += delta;
	info->bias += delta;
	info->entry += delta;
	if (info->phdr)
		info->phdr += delta;
	info->start += delta;
	info->end += delta;
}

/* Loads the dynamic loader named by PT_INTERP: opened inside the domain's
 * root, an ET_DYN goes to a free range of the mmap area (as Linux's
 * load_elf_interp does). Returns its entry point and bias. */
static int load_interp(struct domain *d, const char *path, uint64_t *entry,
		       uint64_t *bias, char *err, size_t errlen)
{
	struct elf_info *ii = malloc(sizeof(*ii));
	char ierr[256] = "";
	int rc, fd;

	if (!ii) {
		elf_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	char *resolved = NULL;

	/* Opened like the program itself: inside the root, needs x permission.
	 * /proc/self/exe stays the program's, not the interpreter's. */
	struct files *fl = proc_cur(d)->files;
	char *exe = fl && fl->exe ? strdup(fl->exe) : NULL;
	fd = files_open_exec(d, path, NULL, &resolved);
	free(resolved);
	if (fl) {
		free(fl->exe);
		fl->exe = exe;
	} else {
		free(exe);
	}
	if (fd < 0) {
		elf_seterr(err, errlen, "interpreter %s: %s", path, strerror(-fd));
		rc = fd == -ENOENT || fd == -ENOTDIR ? -ENOENT : -ENOEXEC;
		goto out;
	}
	rc = elf_parse(fd, ii, ierr, sizeof(ierr));
	if (rc == 0 && ii->interp[0]) {
		snprintf(ierr, sizeof(ierr), "it names an interpreter itself");
		rc = -ENOEXEC;
	}
	if (rc < 0) {
		elf_seterr(err, errlen, "interpreter %s: %s", path, ierr);
		rc = rc == -EIO ? -EIO : -ENOEXEC;
		goto out;
	}
	if (ii->type == ET_DYN) {
		/* Reserve the whole extent where mmap would put it; the
		 * segments replace the reservation, the gaps stay PROT_NONE. */
		long a = mm_map(d, 0, ii->end - ii->start, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS);
		if (a < 0) {
			elf_seterr(err, errlen, "no room for the interpreter: %s", strerror((int)-a));
			rc = (int)a;
			goto out;
		}
		elf_rebase(ii, (uint64_t)a - ii->start);
	}
	rc = map_segments(d, ii, err, errlen);
	if (rc == 0)
		rc = copy_segments(d, fd, ii, err, errlen);
	if (rc == 0)
		name_segments(d, fd, path, ii);
	*entry = ii->entry;
	*bias = ii->bias;
out:
	if (fd >= 0)
		close(fd);
	free(ii);
	return rc;
}

int elf_load(struct domain *d, int fd, const char *execfn, char *const argv[],
	     char *const envp[], struct kvm_regs *regs, char *err, size_t errlen)
{
	struct elf_info *info = malloc(sizeof(*info));
	gva_t top = dom_mm(d)->stack_top ? dom_mm(d)->stack_top : DEFAULT_STACK_TOP;
	gva_t sp = 0;
	uint64_t entry, base = 0;
	int rc;

	if (!info) {
		elf_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = elf_parse(fd, info, err, errlen);
	if (rc < 0)
		goto out;
	if (info->end > top - STACK_SIZE) {
		elf_seterr(err, errlen, "program overlaps the stack area");
		rc = -ENOMEM;
		goto out;
	}
	if (info->exec_stack)
		dom_log(d, "loader: program asks for an executable stack; "
			"the stack stays non-executable");

	rc = map_segments(d, info, err, errlen);
	if (rc < 0)
		goto out;
	rc = copy_segments(d, fd, info, err, errlen);
	if (rc < 0)
		goto out;
	name_segments(d, fd, execfn, info);
	/* brk starts right after the highest segment, as with Linux without
	 * brk randomisation; mm_brk grows it from here. */
	dom_mm(d)->brk_start = dom_mm(d)->brk_cur = dom_mm(d)->brk_end = info->end;

	entry = info->entry;
	if (info->interp[0]) {
		rc = load_interp(d, info->interp, &entry, &base, err, errlen);
		if (rc < 0)
			goto out;
	}

	/* The vDSO goes last, as Linux's arch_setup_additional_pages. */
	uint64_t vdso = vdso_map(d);

	rc = setup_stack(d, info, base, vdso, execfn, argv, envp, top, &sp, err, errlen);
	if (rc < 0)
		goto out;

	/* ELF_PLAT_INIT: every register zero (rdx = 0: no atexit hook). */
	memset(regs, 0, sizeof(*regs));
	regs->rip = entry;
	regs->rsp = sp;
	regs->rflags = 0x202;
out:
	free(info);
	return rc;
}
