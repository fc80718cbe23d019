/* loader.h: loads a static ELF executable and builds the initial stack. */
#ifndef PDVM_LOADER_H
#define PDVM_LOADER_H

#include <linux/kvm.h>

#include "types.h"

struct domain;

/* Loads the executable open on host fd `fd` into the domain's (empty)
 * address space — and, for a dynamic one, its PT_INTERP loader, opened
 * inside the domain's root and placed in the mmap area — maps the stack,
 * writes argv/envp/auxv, sets up brk, and fills regs->rip (the loader's
 * entry for a dynamic program) and regs->rsp. `execfn` is the guest path
 * (AT_EXECFN). Returns 0, or -errno with a one-line reason in err:
 * -ENOEXEC for not-an-ELF/wrong arch/bad interpreter, -ENOENT for a
 * missing interpreter, -ENOMEM, -EIO. */
int elf_load(struct domain *d, int fd, const char *execfn, char *const argv[],
	     char *const envp[], struct kvm_regs *regs, char *err, size_t errlen);

/* ---- Pure parts, exposed for unit tests (tests/unit/test_loader.c). ---- */

/* Linux refuses program header tables larger than one page. */
#define ELF_MAX_PHNUM	(4096 / 56)

struct elf_seg {
	uint64_t vaddr, memsz;      /* load address (bias applied) and size */
	uint64_t offset, filesz;    /* file bytes copied to vaddr */
	int prot;                   /* PROT_* from p_flags */
};

struct elf_info {
	int type;                   /* ET_EXEC or ET_DYN */
	uint64_t bias;              /* 0 for ET_EXEC */
	uint64_t entry;             /* bias applied */
	uint64_t phdr;              /* AT_PHDR (bias applied), 0 if unknown */
	uint64_t phent, phnum;
	uint64_t start, end;        /* page-aligned extent of all segments */
	bool exec_stack;            /* PT_GNU_STACK asked for PF_X */
	char interp[4096 + 1];      /* PT_INTERP path, "" for a static program */
	int nsegs;
	struct elf_seg segs[ELF_MAX_PHNUM];
};

/* Reads and validates the ELF header and program headers of the file open
 * on `fd` (pread only). Returns 0, or -ENOEXEC/-EACCES/-EIO with a reason. */
int elf_parse(int fd, struct elf_info *info, char *err, size_t errlen);

struct elf_stack_params {
	char *const *argv;          /* NULL-terminated; NULL or empty -> {""} */
	char *const *envp;          /* NULL-terminated; NULL = none */
	const char *execfn;
	uint8_t random[16];         /* AT_RANDOM bytes */
	uint64_t hwcap, hwcap2, phdr, phent, phnum, entry;
	uint64_t base;              /* AT_BASE: the interpreter's load bias */
	uint64_t sysinfo_ehdr;      /* AT_SYSINFO_EHDR: the vDSO, 0 = none */
	uint64_t uid, euid, gid, egid, minsigstksz;
};

/* Bytes of stack the initial image needs (an upper bound), or -E2BIG when
 * the arguments exceed the limits. */
long elf_stack_size(const struct elf_stack_params *p);

/* Writes the initial stack image (strings, AT_RANDOM, platform, auxv, envp,
 * argv, argc, as fs/binfmt_elf.c lays it out) into buf, which stands for
 * guest memory [top - len, top). *sp gets the initial RSP (16-aligned,
 * pointing at argc). Returns 0 or -E2BIG. */
int elf_build_stack(void *buf, size_t len, gva_t top,
		    const struct elf_stack_params *p, gva_t *sp);

#endif
