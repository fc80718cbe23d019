/* elf_parse.c: reads and validates an x86-64 ELF executable's headers (ET_EXEC, ET_DYN, PT_INTERP) into a struct elf_info. */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_parse.h"
#include "types.h"

/* Where a static PIE goes: Linux's ELF_ET_DYN_BASE without randomisation. */
#define DYN_BASE		0x555555554000UL
#define MAX_SEG_ALIGN		(1UL << 30)

void elf_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int elf_pread_full(int fd, void *buf, size_t n, uint64_t off)
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
	    elf_pread_full(fd, path, ph->p_filesz, ph->p_offset) < 0 ||
	    path[ph->p_filesz - 1] != '\0') {
		path[0] = '\0';
		elf_seterr(err, errlen, "bad interpreter entry (PT_INTERP)");
		return -ENOEXEC;
	}
	for (size_t n = 0; path[n]; n++)
		if ((unsigned char)path[n] < 0x20 || (unsigned char)path[n] > 0x7e) {
			elf_seterr(err, errlen, "interpreter path has unprintable bytes");
			path[0] = '\0';
			return -ENOEXEC;
		}
	return 0;
}

static int check_ehdr(const Elf64_Ehdr *eh, uint64_t fsize, char *err, size_t errlen)
{
	uint64_t phsize, phend;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
		elf_seterr(err, errlen, "not an ELF file");
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		elf_seterr(err, errlen, "not an x86-64 ELF executable (class %u, data %u, machine %u)",
		           eh->e_ident[EI_CLASS], eh->e_ident[EI_DATA], eh->e_machine);
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT) {
		elf_seterr(err, errlen, "unsupported ELF version");
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
		elf_seterr(err, errlen, "not an executable (ELF type %u)", eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
		elf_seterr(err, errlen, "bad program header size %u", eh->e_phentsize);
		return -ENOEXEC;
	}
	/* PN_XNUM (0xffff) falls out here too: Linux reads at most one page. */
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM) {
		elf_seterr(err, errlen, "bad program header count %u", eh->e_phnum);
		return -ENOEXEC;
	}
	phsize = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (__builtin_add_overflow(eh->e_phoff, phsize, &phend) || phend > fsize) {
		elf_seterr(err, errlen, "program headers lie outside the file");
		return -ENOEXEC;
	}
	return 0;
}

/* Validates one PT_LOAD (unbiased) against the file size. */
static int check_load(const Elf64_Phdr *ph, int i, uint64_t fsize, char *err, size_t errlen)
{
	uint64_t end;

	if (ph->p_filesz > ph->p_memsz) {
		elf_seterr(err, errlen, "segment %d: file size exceeds memory size", i);
		return -ENOEXEC;
	}
	if (ph->p_filesz &&
	    (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) || end > fsize)) {
		elf_seterr(err, errlen, "segment %d lies outside the file", i);
		return -ENOEXEC;
	}
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end) || end > USER_MAX) {
		elf_seterr(err, errlen, "segment %d: address range overflows", i);
		return -ENOEXEC;
	}
	/* mmap-style loading needs offset and address congruent modulo the
	 * page; a linker never produces anything else. */
	if (ph->p_filesz && ((ph->p_vaddr ^ ph->p_offset) & (PAGE_SIZE - 1))) {
		elf_seterr(err, errlen, "segment %d: offset and address not congruent", i);
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
		elf_seterr(err, errlen, "cannot stat the executable: %s", strerror(errno));
		return -EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		elf_seterr(err, errlen, "not a regular file");
		return -EACCES;
	}
	fsize = (uint64_t)st.st_size;
	if (fsize < sizeof(eh)) {
		elf_seterr(err, errlen, "not an ELF file (too short)");
		return -ENOEXEC;
	}
	rc = elf_pread_full(fd, &eh, sizeof(eh), 0);
	if (rc < 0) {
		elf_seterr(err, errlen, "cannot read the ELF header");
		return -EIO;
	}
	rc = check_ehdr(&eh, fsize, err, errlen);
	if (rc < 0)
		return rc;
	rc = elf_pread_full(fd, ph, (size_t)eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff);
	if (rc < 0) {
		elf_seterr(err, errlen, "cannot read the program headers");
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
				elf_seterr(err, errlen, "segment %d overlaps or is out of order", i);
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
		elf_seterr(err, errlen, "no loadable segments");
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
			elf_seterr(err, errlen, "segment %d lies outside the user address space", i);
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
			elf_seterr(err, errlen, "bad PT_PHDR address");
			return -ENOEXEC;
		}
		info->phdr = a;
	}
	if (__builtin_add_overflow(eh.e_entry, info->bias, &info->entry) ||
	    info->entry < USER_MIN || info->entry >= USER_MAX) {
		elf_seterr(err, errlen, "entry point outside the user address space");
		return -ENOEXEC;
	}
	return 0;
}
