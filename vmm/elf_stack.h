/* elf_stack.h: the initial stack image of a new program (argv, envp, auxv), built in a host buffer. */
#ifndef PDVM_ELF_STACK_H
#define PDVM_ELF_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

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

/* Pure (no domain), so that the layout is unit-tested on its own
 * (tests/unit/test_loader.c); the loader copies the image into the guest. */

/* Bytes of stack the initial image needs (an upper bound), or -E2BIG when
 * the arguments exceed the limits. */
long elf_stack_size(const struct elf_stack_params *p);

/* Writes the initial stack image (strings, AT_RANDOM, platform, auxv, envp,
 * argv, argc, as fs/binfmt_elf.c lays it out) into buf, which stands for
 * guest memory [top - len, top). *sp gets the initial RSP (16-aligned,
 * pointing at argc). Returns 0 or -E2BIG. */
int elf_build_stack(void *buf, size_t len, gva_t top,
		    const struct elf_stack_params *p, gva_t *sp);

/* Where elf_build_stack puts the strings in an image that ends at top: argv's
 * in [*arg_start, *env_start), envp's in [*env_start, *env_end) (the mm's
 * bounds for /proc/self/cmdline and environ). */
void elf_stack_strings(const struct elf_stack_params *p, gva_t top, gva_t *arg_start,
		       gva_t *env_start, gva_t *env_end);

#endif
