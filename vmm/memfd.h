/* memfd.h: anonymous memory files (memfd_create) — host memfds the domain owns, their seals against pdvm's shared mappings, and their making again on restore. */
#ifndef PDVM_MEMFD_H
#define PDVM_MEMFD_H

#include <stdbool.h>
#include <stdint.h>

struct domain;
struct ofd;

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
/*
 * A bound on the host memory memfds hold: together, the domain's memfds
 * may hold as many bytes as its memory limit (its guest memory counts
 * apart). memfd_room: how much of `growth` more bytes fits, for o (any
 * other kind: all of it). Writes past it are short or ENOSPC, as on a
 * full tmpfs; fallocate and mmap that do not fit fail (ENOSPC, ENOMEM).
 */
uint64_t memfd_room(struct domain *d, struct ofd *o, uint64_t growth);
/* What a write of len bytes at off (-1: the file position) may add to
 * memfd o; 0 for any other kind. */
uint64_t memfd_write_growth(struct ofd *o, int64_t off, uint64_t len);
/* How many of len bytes written at off (-1: the file position) fit:
 * len for anything but a memfd; -ENOSPC when none does. */
long memfd_write_room(struct domain *d, struct ofd *o, int64_t off, uint64_t len);
/* What a writable shared mapping of len bytes of memfd o may add when
 * written back; 0 for any other kind. */
uint64_t memfd_map_growth(struct ofd *o, uint64_t len);

#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
/*
 * A bound on the host memory memfds hold: together, the domain's memfds
 * may hold as many bytes as its memory limit (its guest memory counts
 * apart). memfd_room: how much of `growth` more bytes fits, for o (any
 * other kind: all of it). Writes past it are short or ENOSPC, as on a
 * full tmpfs; fallocate and mmap that do not fit fail (ENOSPC, ENOMEM).
 */
uint64_t memfd_room(struct domain *d, struct ofd *o, uint64_t growth);
/* What a write of len bytes at off (-1: the file position) may add to
 * memfd o; 0 for any other kind. */
uint64_t memfd_write_growth(struct ofd *o, int64_t off, uint64_t len);
/* How many of len bytes written at off (-1: the file position) fit:
 * len for anything but a memfd; -ENOSPC when none does. */
long memfd_write_room(struct domain *d, struct ofd *o, int64_t off, uint64_t len);
/* What a writable shared mapping of len bytes of memfd o may add when
 * written back; 0 for any other kind. */
uint64_t memfd_map_growth(struct ofd *o, uint64_t len);

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

/*
 * A bound on the host memory memfds hold: together, the domain's memfds
 * may hold as many bytes as its memory limit (its guest memory counts
 * apart). memfd_room: how much of `growth` more bytes fits, for o (any
 * other kind: all of it). Writes past it are short or ENOSPC, as on a
 * full tmpfs; fallocate and mmap that do not fit fail (ENOSPC, ENOMEM).
 */
uint64_t memfd_room(struct domain *d, struct ofd *o, uint64_t growth);
/* What a write of len bytes at off (-1: the file position) may add to
 * memfd o; 0 for any other kind. */
uint64_t memfd_write_growth(struct ofd *o, int64_t off, uint64_t len);
/* How many of len bytes written at off (-1: the file position) fit:
 * len for anything but a memfd; -ENOSPC when none does. */
long memfd_write_room(struct domain *d, struct ofd *o, int64_t off, uint64_t len);
/* What a writable shared mapping of len bytes of memfd o may add when
 * written back; 0 for any other kind. */
uint64_t memfd_map_growth(struct ofd *o, uint64_t len);

#endif
