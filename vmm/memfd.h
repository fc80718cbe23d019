/* memfd.h: anonymous memory files (memfd_create) — host memfds the domain owns, their seals against pdvm's shared mappings, and their making again on restore. */
#ifndef PDVM_MEMFD_H
#define PDVM_MEMFD_H

#include <stdbool.h>

struct domain;
struct ofd;

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

/* Whether host fd `fd` is a memfd: an unlinked shmem file the kernel names
 * "/memfd:NAME (deleted)" (also a second description of one, reopened
 * through /proc/self/fd). */
bool memfd_is(int fd);

/* A new memfd description named NAME (the part after "memfd:") with host
 * memfd_create flags (MFD_CLOEXEC is added), made with the domain's
 * identity by the calling thread. NULL with *err = -errno. */
struct ofd *memfd_new(const char *name, unsigned int mfd_flags, int *err);

/* The seals of host fd `fd` (0 for a file that has none). */
int memfd_seals(int fd);

/* mmap of a file with MAP_SHARED: -EPERM if writable and the file is
 * sealed against writing, else 0; *maywrite false when the mapping may
 * never write the file back (Linux clears VM_MAYWRITE then). */
int memfd_mmap_check(int fd, bool writable, bool *maywrite);

/* F_ADD_SEALS: -EBUSY where a seal against writing would strand a shared
 * mapping of the domain that writes back (see memfd.c), else 0 and the
 * host adds the seals. */
int memfd_add_seals_check(struct domain *d, struct ofd *o, unsigned int seals);

#endif
