/* loader.h: loads an ELF program, static or dynamic (with its interpreter), into a domain's address space. */
#ifndef PDVM_LOADER_H
#define PDVM_LOADER_H

#include <linux/kvm.h>
#include <stddef.h>

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

#endif
