/* elf_parse.h: reading and validating an x86-64 ELF executable's headers, before anything is mapped. */
#ifndef PDVM_ELF_PARSE_H
#define PDVM_ELF_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
 * on `fd` (pread only). Returns 0, or -ENOEXEC/-EACCES/-EIO with a reason.
 * Pure (no domain): unit-tested in tests/unit/test_loader.c. */
int elf_parse(int fd, struct elf_info *info, char *err, size_t errlen);

/* Shared with the loader, which reads the segments' bytes after parsing. */

/* pread of exactly n bytes at off: 0, -errno, or -EIO for a short read (of
 * a range already checked against the file's size: it changed under us). */
int elf_pread_full(int fd, void *buf, size_t n, uint64_t off);
/* The exec path's one-line reason: formats into err unless err is NULL or
 * errlen 0 (callers that only want the -errno pass no buffer). */
void elf_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
