/* procmem.h: another process's memory as the VMM reaches it — ptrace's PEEK/POKE, process_vm_readv/writev and /proc/PID/mem (vmm/procmem.c). */
#ifndef PDVM_PROCMEM_H
#define PDVM_PROCMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

struct domain;
struct process;
struct thread;
struct ofd;
struct gseg;

/* Copies n bytes between buf and address addr of process p's memory.
 * `force`: a write goes into read-only private memory too (breakpoints in
 * text), as Linux's FOLL_FORCE does. 0 or -EFAULT. */
int procmem_access(struct domain *d, struct process *p, gva_t addr, void *buf, size_t n, bool write, bool force);

/* The pid of the domain process whose memory the guest path g names
 * (/proc/self/mem, /proc/PID/mem, .../task/TID/mem), or 0. */
int procmem_target(struct domain *d, const char *g);

/* read/write of an OFD_PROCMEM description (aux: the pid): at offset off,
 * or at its file position when off < 0, which then advances. The byte
 * count, or -EIO when the first page is not there, as Linux's mem_rw. */
long procmem_io(struct thread *t, struct ofd *o, const struct gseg *seg, int nseg, int64_t off, bool write);

#endif
