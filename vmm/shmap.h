/* shmap.h: write-back of MAP_SHARED file mappings (vmm/shmap.c). */
#ifndef PDVM_SHMAP_H
#define PDVM_SHMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "types.h"

struct domain;

#define MAX_SHMAPS 256

/* One MAP_SHARED mapping of a file opened for writing. */
struct shmap {
	gva_t start, end;
	int fd;                 /* a dup of the host fd: the mapping outlives close() */
	uint64_t off;           /* file offset of start */
	char *path;             /* guest path, for messages and snapshots */
};

/* Records [start, end) as a shared mapping of hostfd at off. 0 or -errno. */
int shmap_add(struct domain *d, gva_t start, gva_t end, int hostfd, uint64_t off, const char *path);
/* msync: pages in [start, end) that differ from the file are written to
 * it (and fdatasync'ed when wait). 0 or -errno. */
int shmap_sync(struct domain *d, gva_t start, gva_t end, bool wait);
/* Before [start, end) is unmapped or replaced: write back, then forget. */
void shmap_unmap(struct domain *d, gva_t start, gva_t end);
/* At the end of the domain: write back everything and close. */
void shmap_exit(struct domain *d);
/* The same for one address space that is going away. */
struct mm;
void shmap_exit_mm(struct domain *d, struct mm *mm);
void shmap_release_mm(struct mm *mm);
/* Forgets every mapping without writing back (a domain that never ran). */
void shmap_release(struct domain *d);

#endif
