/* loader.c: loads static ELF executables (ET_EXEC, static-PIE) and builds the Linux initial stack. */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "domain.h"
#include "mm.h"
#include "files.h"
#include "vdso.h"

/* Where a static PIE goes: Linux's ELF_ET_DYN_BASE without randomisation. */
#define DYN_BASE		0x555555554000UL
#define STACK_SIZE		(8UL << 20)
#define DEFAULT_STACK_TOP	0x7ffffffff000UL
/* Linux: MAX_ARG_STRLEN (32 pages) per string; total capped at a quarter of
 * the 8 MiB stack rlimit. */
#define MAX_ARG_STRLEN		(32 * PAGE_SIZE)
#define MAX_ARG_TOTAL		(2UL << 20)
#define MAX_SEG_ALIGN		(1UL << 30)
#define PLATFORM		"x86_64"
/* Number of auxv pairs elf_build_stack emits, AT_NULL included. */
#define AUXV_PAIRS		20
#define COPY_CHUNK		(256UL << 10)

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* pread that insists on the whole range: a short read of a range we have
 * already checked against st_size means the file changed under us. */
static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int pf_to_prot(uint32_t f)
{
	return ((f & PF_R) ? PROT_READ : 0) | ((f & PF_W) ? PROT_WRITE : 0) |
	       ((f & PF_X) ? PROT_EXEC : 0);
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Reads the PT_INTERP path into info->interp. Linux: p_filesz in
 * [2, PATH_MAX], inside the file and NUL-terminated, else ENOEXEC. */
static int read_interp(int fd, const Elf64_Phdr *ph, uint64_t fsize,
		       struct elf_info *info, char *err, size_t errlen)
{
	char *path = info->interp;

	if (ph->p_filesz < 2 || ph->p_filesz > PATH_MAX ||
	    ph->p_offset > fsize || ph->p_filesz > fsize - ph->p_offset ||
	    pread_full(fd, path, ph->p_filesz, ph->p_offset) < 0 ||
	    path[ph->p_filesz - 1] != '\0') {
		path[0] = '\0';
		seterr(err, errlen, "bad interpreter entry (PT_INTERP)");
		return -ENOEXEC;
	}
	for (size_t n = 0; path[n]; n++)
		if ((unsigned char)path[n] < 0x20 || (unsigned char)path[n] > 0x7e) {
			seterr(err, errlen, "interpreter path has unprintable bytes");
			path[0] = '\0';
			return -ENOEXEC;
		}
	return 0;
}

static int check_ehdr(const Elf64_Ehdr *eh, uint64_t fsize, char *err, size_t errlen)
{
	uint64_t phsize, phend;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
		seterr(err, errlen, "not an ELF file");
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		seterr(err, errlen, "not an x86-64 ELF executable (class %u, data %u, machine %u)",
		       eh->e_ident[EI_CLASS], eh->e_ident[EI_DATA], eh->e_machine);
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT) {
		seterr(err, errlen, "unsupported ELF version");
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
		seterr(err, errlen, "not an executable (ELF type %u)", eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
		seterr(err, errlen, "bad program header size %u", eh->e_phentsize);
		return -ENOEXEC;
	}
	/* PN_XNUM (0xffff) falls out here too: Linux reads at most one page. */
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM) {
		seterr(err, errlen, "bad program header count %u", eh->e_phnum);
		return -ENOEXEC;
	}
	phsize = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (__builtin_add_overflow(eh->e_phoff, phsize, &phend) || phend > fsize) {
		seterr(err, errlen, "program headers lie outside the file");
		return -ENOEXEC;
	}
	return 0;
}

/* Validates one PT_LOAD (unbiased) against the file size. */
static int check_load(const Elf64_Phdr *ph, int i, uint64_t fsize, char *err, size_t errlen)
{
	uint64_t end;

	if (ph->p_filesz > ph->p_memsz) {
		seterr(err, errlen, "segment %d: file size exceeds memory size", i);
		return -ENOEXEC;
	}
	if (ph->p_filesz &&
	    (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) || end > fsize)) {
		seterr(err, errlen, "segment %d lies outside the file", i);
		return -ENOEXEC;
	}
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end) || end > USER_MAX) {
		seterr(err, errlen, "segment %d: address range overflows", i);
		return -ENOEXEC;
	}
	/* mmap-style loading needs offset and address congruent modulo the
	 * page; a linker never produces anything else. */
	if (ph->p_filesz && ((ph->p_vaddr ^ ph->p_offset) & (PAGE_SIZE - 1))) {
		seterr(err, errlen, "segment %d: offset and address not congruent", i);
		return -ENOEXEC;
	}
	return 0;
}

/* Picks the load bias: ET_DYN goes near DYN_BASE, aligned to the largest
 * power-of-two p_align (as Linux does since 5.10). */
static uint64_t choose_bias(const Elf64_Ehdr *eh, const Elf64_Phdr *ph)
{
	uint64_t align = PAGE_SIZE, lo = UINT64_MAX, base;

	if (eh->e_type != ET_DYN)
		return 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		if (is_pow2(ph[i].p_align) && ph[i].p_align > align &&
		    ph[i].p_align <= MAX_SEG_ALIGN)
			align = ph[i].p_align;
		lo = MIN(lo, ph[i].p_vaddr);
	}
	if (lo == UINT64_MAX)
		lo = 0;
	lo &= ~(align - 1);
	base = (DYN_BASE + align - 1) & ~(align - 1);
	/* A PIE linked above the base (prelinked) stays where it was linked:
	 * its addresses were checked to lie below USER_MAX. */
	return lo >= base ? 0 : base - lo;
}

int elf_parse(int fd, struct elf_info *info, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELF_MAX_PHNUM];
	struct stat st;
	uint64_t fsize, prev_end = 0;
	int rc, phdr_idx = -1;

	memset(info, 0, sizeof(*info));
	if (fstat(fd, &st) < 0) {
		seterr(err, errlen, "cannot stat the executable: %s", strerror(errno));
		return -EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "not a regular file");
		return -EACCES;
	}
	fsize = (uint64_t)st.st_size;
	if (fsize < sizeof(eh)) {
		seterr(err, errlen, "not an ELF file (too short)");
		return -ENOEXEC;
	}
	rc = pread_full(fd, &eh, sizeof(eh), 0);
	if (rc < 0) {
		seterr(err, errlen, "cannot read the ELF header");
		return -EIO;
	}
	rc = check_ehdr(&eh, fsize, err, errlen);
	if (rc < 0)
		return rc;
	rc = pread_full(fd, ph, (size_t)eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff);
	if (rc < 0) {
		seterr(err, errlen, "cannot read the program headers");
		return -EIO;
	}

	/* The first PT_INTERP names the dynamic loader, as in binfmt_elf. */
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_INTERP) {
			rc = read_interp(fd, &ph[i], fsize, info, err, errlen);
			if (rc < 0)
				return rc;
			break;
		}
	}

	for (int i = 0; i < eh.e_phnum; i++) {
		switch (ph[i].p_type) {
		case PT_LOAD:
			rc = check_load(&ph[i], i, fsize, err, errlen);
			if (rc < 0)
				return rc;
			if (!ph[i].p_memsz)
				break;
			/* The ELF spec sorts PT_LOADs by address; overlapping
			 * segments would make the file contents ambiguous. */
			if (ph[i].p_vaddr < prev_end) {
				seterr(err, errlen, "segment %d overlaps or is out of order", i);
				return -ENOEXEC;
			}
			prev_end = ph[i].p_vaddr + ph[i].p_memsz;
			break;
		case PT_PHDR:
			phdr_idx = i;
			break;
		case PT_GNU_STACK:
			info->exec_stack = (ph[i].p_flags & PF_X) != 0;
			break;
		default:
			/* PT_TLS, PT_DYNAMIC, notes...: nothing for the loader. */
			break;
		}
	}
	if (prev_end == 0) {
		seterr(err, errlen, "no loadable segments");
		return -ENOEXEC;
	}

	info->type = eh.e_type;
	info->bias = choose_bias(&eh, ph);
	info->phent = eh.e_phentsize;
	info->phnum = eh.e_phnum;
	info->start = UINT64_MAX;
	for (int i = 0; i < eh.e_phnum; i++) {
		struct elf_seg *s;
		uint64_t va, end;

		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		if (__builtin_add_overflow(ph[i].p_vaddr, info->bias, &va) ||
		    __builtin_add_overflow(va, ph[i].p_memsz, &end) ||
		    va < USER_MIN || end > USER_MAX) {
			seterr(err, errlen, "segment %d lies outside the user address space", i);
			return -ENOEXEC;
		}
		s = &info->segs[info->nsegs++];
		s->vaddr = va;
		s->memsz = ph[i].p_memsz;
		s->offset = ph[i].p_offset;
		s->filesz = ph[i].p_filesz;
		s->prot = pf_to_prot(ph[i].p_flags);
		info->start = MIN(info->start, va & PAGE_MASK);
		info->end = MAX(info->end, PAGE_ALIGN(end));
		/* AT_PHDR from the segment that holds the header table (what
		 * Linux does when there is no PT_PHDR). */
		if (phdr_idx < 0 && !info->phdr && eh.e_phoff >= ph[i].p_offset &&
		    eh.e_phoff - ph[i].p_offset < ph[i].p_filesz &&
		    eh.e_phnum * sizeof(Elf64_Phdr) <=
			    ph[i].p_filesz - (eh.e_phoff - ph[i].p_offset))
			info->phdr = va + (eh.e_phoff - ph[i].p_offset);
	}
	if (phdr_idx >= 0) {
		uint64_t a = ph[phdr_idx].p_vaddr + info->bias;

		if (a < ph[phdr_idx].p_vaddr || a < USER_MIN || a >= USER_MAX) {
			seterr(err, errlen, "bad PT_PHDR address");
			return -ENOEXEC;
		}
		info->phdr = a;
	}
	if (__builtin_add_overflow(eh.e_entry, info->bias, &info->entry) ||
	    info->entry < USER_MIN || info->entry >= USER_MAX) {
		seterr(err, errlen, "entry point outside the user address space");
		return -ENOEXEC;
	}
	return 0;
}

/* ---- initial stack ---- */

static size_t vec_count(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Linux (since 5.18) runs a program given an empty argv with argv = {""}. */
static char *const empty_argv[] = { "", NULL };

static char *const *effective_argv(const struct elf_stack_params *p)
{
	return vec_count(p->argv) ? p->argv : empty_argv;
}

/* Bytes for the strings of argv and envp, or -E2BIG. */
static long strings_size(char *const *argv, char *const *envp)
{
	size_t total = 0, n;
	char *const *vecs[2] = { argv, envp };

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; vecs[k] && vecs[k][i]; i++) {
			n = strnlen(vecs[k][i], MAX_ARG_STRLEN) + 1;
			if (n > MAX_ARG_STRLEN)
				return -E2BIG;
			total += n + sizeof(uint64_t); /* string and its pointer */
			if (total > MAX_ARG_TOTAL)
				return -E2BIG;
		}
	}
	return (long)total;
}

/* auxv entries including AT_NULL: AT_SYSINFO_EHDR only with a vDSO. */
static size_t auxv_pairs(const struct elf_stack_params *p)
{
	return AUXV_PAIRS + (p->sysinfo_ehdr ? 1 : 0);
}

long elf_stack_size(const struct elf_stack_params *p)
{
	char *const *argv = effective_argv(p);
	long s = strings_size(argv, p->envp);
	size_t fn;

	if (s < 0)
		return s;
	fn = strnlen(p->execfn ? p->execfn : "", MAX_ARG_STRLEN) + 1;
	if (fn > MAX_ARG_STRLEN)
		return -E2BIG;
	/* strings + execfn + top NULL + alignment + platform + random +
	 * alignment + argc + two NULLs + auxv */
	return s + (long)fn + 8 + 16 + sizeof(PLATFORM) + 16 + 16 +
	       8 + 16 + (long)auxv_pairs(p) * 16;
}

int elf_build_stack(void *buf, size_t len, gva_t top,
		    const struct elf_stack_params *p, gva_t *sp_out)
{
	char *const *argv = effective_argv(p);
	const char *execfn = p->execfn ? p->execfn : "";
	size_t argc = vec_count(argv), envc = vec_count(p->envp);
	long need = elf_stack_size(p);
	gva_t base = top - len, pos, u_execfn, u_platform, u_random, sp;
	uint64_t *w;
	size_t items, k = 0;
	uint8_t *b = buf;

	if (need < 0)
		return (int)need;
	if ((size_t)need > len || len > top)
		return -E2BIG;
	memset(buf, 0, len);

/* Host pointer of guest address a inside the image. */
#define HOST(a) (b + ((a) - base))

	/* Linux keeps one NULL pointer at the very top, then the file name. */
	pos = top - sizeof(uint64_t);
	pos -= strlen(execfn) + 1;
	u_execfn = pos;
	memcpy(HOST(pos), execfn, strlen(execfn) + 1);

	/* Strings of envp then argv going down, so that in memory argv[0] is
	 * lowest and the order is argv..., envp..., execfn. */
	size_t strbytes = 0;
	for (size_t i = 0; i < argc; i++)
		strbytes += strlen(argv[i]) + 1;
	for (size_t i = 0; i < envc; i++)
		strbytes += strlen(p->envp[i]) + 1;
	pos -= strbytes;
	gva_t str = pos;

	/* create_elf_tables: align, platform string, 16 random bytes. */
	pos &= ~15UL;
	pos -= sizeof(PLATFORM);
	u_platform = pos;
	memcpy(HOST(pos), PLATFORM, sizeof(PLATFORM));
	pos -= 16;
	u_random = pos;
	memcpy(HOST(pos), p->random, 16);

	/* argc, argv[], NULL, envp[], NULL, auxv: RSP at argc 16-aligned. */
	items = 1 + (argc + 1) + (envc + 1) + auxv_pairs(p) * 2;
	sp = (pos - items * 8) & ~15UL;
	if (sp < base)
		return -E2BIG;
	w = (uint64_t *)(void *)HOST(sp);

	w[k++] = argc;
	for (size_t i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		memcpy(HOST(str), argv[i], n);
		w[k++] = str;
		str += n;
	}
	w[k++] = 0;
	for (size_t i = 0; i < envc; i++) {
		size_t n = strlen(p->envp[i]) + 1;

		memcpy(HOST(str), p->envp[i], n);
		w[k++] = str;
		str += n;
	}
	w[k++] = 0;

#define AUX(type, val) do { w[k++] = (type); w[k++] = (val); } while (0)
	/* x86-64 ARCH_DLINFO comes first. */
	if (p->sysinfo_ehdr)
		AUX(AT_SYSINFO_EHDR, p->sysinfo_ehdr);
	AUX(AT_MINSIGSTKSZ, p->minsigstksz);
	AUX(AT_HWCAP, p->hwcap);
	AUX(AT_PAGESZ, PAGE_SIZE);
	AUX(AT_CLKTCK, 100);
	AUX(AT_PHDR, p->phdr);
	AUX(AT_PHENT, p->phent);
	AUX(AT_PHNUM, p->phnum);
	AUX(AT_BASE, p->base);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, p->entry);
	AUX(AT_UID, p->uid);
	AUX(AT_EUID, p->euid);
	AUX(AT_GID, p->gid);
	AUX(AT_EGID, p->egid);
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, u_random);
	AUX(AT_HWCAP2, p->hwcap2);
	AUX(AT_EXECFN, u_execfn);
	AUX(AT_PLATFORM, u_platform);
	AUX(AT_NULL, 0);
#undef AUX
#undef HOST
	if (k != items)
		return -E2BIG; /* cannot happen: AUXV_PAIRS out of date */
	*sp_out = sp;
	return 0;
}

/* ---- loading into the domain ---- */

static int map_run(struct domain *d, uint64_t start, uint64_t end, int prot,
		   char *err, size_t errlen)
{
	long r = mm_map(d, start, end - start, prot,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);

	if (r < 0) {
		seterr(err, errlen, "cannot map %#lx-%#lx: %s", (unsigned long)start,
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
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < info->nsegs; i++) {
		const struct elf_seg *s = &info->segs[i];

		for (uint64_t off = 0; off < s->filesz; off += COPY_CHUNK) {
			size_t n = (size_t)MIN(COPY_CHUNK, s->filesz - off);
			int rc = pread_full(fd, buf, n, s->offset + off);

			if (rc == 0)
				rc = mm_poke(d, s->vaddr + off, buf, n);
			if (rc < 0) {
				seterr(err, errlen, "cannot load segment %d: %s", i,
				       strerror(-rc));
				free(buf);
				return rc == -EFAULT ? -ENOMEM : -EIO;
			}
		}
	}
	free(buf);
	return 0;
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
		.uid = getuid(), .euid = geteuid(), .gid = getgid(), .egid = getegid(),
		.minsigstksz = 2048,
	};
	long need, r;
	size_t len;
	void *img;
	int rc;

	if (getrandom(p.random, sizeof(p.random), 0) != (ssize_t)sizeof(p.random)) {
		seterr(err, errlen, "getrandom failed: %s", strerror(errno));
		return -EIO;
	}
	need = elf_stack_size(&p);
	if (need < 0) {
		seterr(err, errlen, "argument list too long");
		return (int)need;
	}
	len = PAGE_ALIGN((size_t)need);

	r = mm_map(d, top - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN);
	if (r == -EINVAL) /* an mm without growsdown support: a plain stack */
		r = mm_map(d, top - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	if (r < 0) {
		seterr(err, errlen, "cannot map the stack: %s", strerror((int)-r));
		return (int)r;
	}
	img = malloc(len);
	if (!img) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = elf_build_stack(img, len, top, &p, sp);
	if (rc == 0)
		rc = mm_poke(d, *sp, (uint8_t *)img + (*sp - (top - len)), top - *sp);
	if (rc == 0) {
		/* Where argv and envp strings lie (below execfn and the top NULL),
		 * for /proc/self/cmdline and environ, as mm->arg_start. */
		char *const *av = effective_argv(&p);
		size_t ab = 0, eb = 0;
		for (size_t i = 0; av[i]; i++)
			ab += strlen(av[i]) + 1;
		for (size_t i = 0; envp && envp[i]; i++)
			eb += strlen(envp[i]) + 1;
		struct mm *mm = dom_mm(d);
		mm->arg_start = top - sizeof(uint64_t) - (strlen(execfn ? execfn : "") + 1) - ab - eb;
		mm->arg_end = mm->env_start = mm->arg_start + ab;
		mm->env_end = mm->env_start + eb;
	}
	free(img);
	if (rc < 0) {
		seterr(err, errlen, "cannot build the initial stack: %s", strerror(-rc));
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
		seterr(err, errlen, "out of memory");
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
		seterr(err, errlen, "interpreter %s: %s", path, strerror(-fd));
		rc = fd == -ENOENT || fd == -ENOTDIR ? -ENOENT : -ENOEXEC;
		goto out;
	}
	rc = elf_parse(fd, ii, ierr, sizeof(ierr));
	if (rc == 0 && ii->interp[0]) {
		snprintf(ierr, sizeof(ierr), "it names an interpreter itself");
		rc = -ENOEXEC;
	}
	if (rc < 0) {
		seterr(err, errlen, "interpreter %s: %s", path, ierr);
		rc = rc == -EIO ? -EIO : -ENOEXEC;
		goto out;
	}
	if (ii->type == ET_DYN) {
		/* Reserve the whole extent where mmap would put it; the
		 * segments replace the reservation, the gaps stay PROT_NONE. */
		long a = mm_map(d, 0, ii->end - ii->start, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS);
		if (a < 0) {
			seterr(err, errlen, "no room for the interpreter: %s", strerror((int)-a));
			rc = (int)a;
			goto out;
		}
		elf_rebase(ii, (uint64_t)a - ii->start);
	}
	rc = map_segments(d, ii, err, errlen);
	if (rc == 0)
		rc = copy_segments(d, fd, ii, err, errlen);
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
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = elf_parse(fd, info, err, errlen);
	if (rc < 0)
		goto out;
	if (info->end > top - STACK_SIZE) {
		seterr(err, errlen, "program overlaps the stack area");
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
