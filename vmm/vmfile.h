/* vmfile.h: the file behind a file-backed mapping — guest path, device and inode — shared by reference between the VMAs that map it (vmm/vmfile.c). */
#ifndef PDVM_VMFILE_H
#define PDVM_VMFILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct files;

/* What /proc/PID/maps names a file mapping by, as Linux's vm_file: one per
 * open file description that is mapped, so that ld.so's several mmaps of
 * one fd are "the same file" and merge where Linux merges them; VMAs
 * split from one another and a forked child's share it by reference.
 * Immutable once made, except that `gone` may become true. */
struct vmfile {
	atomic_int refs;
	atomic_bool gone;       /* known deleted: shown with " (deleted)" for good */
	uint64_t dev, ino;      /* the host file's st_dev (user-space encoding) and st_ino */
	char path[];            /* absolute guest path ("/memfd:NAME" for a memfd) */
};

/* A new reference-counted record (refs = 1), or NULL on ENOMEM. */
struct vmfile *vmfile_new(const char *path, uint64_t dev, uint64_t ino, bool gone);
/* The record of the file open on host fd `hostfd`: its canonical path as
 * the domain sees it (the kernel's path of the fd inside root `f`, as
 * Linux's d_path; a memfd's "/memfd:NAME"), else `fallback`. NULL on
 * ENOMEM or when fstat fails. */
struct vmfile *vmfile_of_fd(struct files *f, int hostfd, const char *fallback);
/* Restore: names v by the file now at its path in root `f` (this host's
 * device and inode numbers for it); with no file there it is deleted. */
void vmfile_rebind(struct vmfile *v, struct files *f);
/* Both take NULL (anonymous memory) and give it back. */
struct vmfile *vmfile_get(struct vmfile *v);
void vmfile_put(struct vmfile *v);
/* Whether the file was removed (its path in root `f` now names no file or
 * another one), as Linux marks a mapping of an unlinked file. One lookup
 * per call until it is known gone; f NULL: only what is known. */
bool vmfile_deleted(struct vmfile *v, struct files *f);

#endif
