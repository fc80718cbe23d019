/* pcache.h: the domain's page cache — one guest frame per (file, page) shared by every MAP_SHARED mapping of it (vmm/pcache.c). */
#ifndef PDVM_PCACHE_H
#define PDVM_PCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "types.h"

struct domain;
struct mm;
struct pcpage;

/* One file that has cached pages, keyed by the host's (st_dev, st_ino). */
struct pcfile {
	struct pcfile *hnext;   /* hash chain of pcache.files */
	struct pcfile *next;    /* every file, for exit and snapshots */
	uint64_t dev, ino;
	int fd;                 /* a dup: fills and (when rw) write-back */
	bool rw;                /* fd is open for writing */
	int pins;               /* callers between attach and unpin */
	uint64_t npages;        /* cached pages */
	uint64_t nwmap;         /* page mappings by VMAs that may write (seals) */
	uint64_t stamp;         /* last msync pass that fdatasync'ed it */
	struct pcpage *pages;   /* every cached page of the file */
	char *path;             /* guest path, for messages and images */
};

/* One cached page: a guest data frame the cache holds one use of; each
 * page-table entry that maps it holds another (frames_ref). */
struct pcpage {
	struct pcpage *hnext;   /* hash chain of pcache.pages */
	struct pcpage *next, *prev; /* on file->pages */
	struct pcfile *file;
	uint64_t idx;           /* page index in the file */
	gpa_t gpa;
	uint32_t maps;          /* VMA pages mapping it */
	uint64_t stamp;         /* last write-back pass that saw it */
};

#define PCACHE_FBUCKETS 64

struct pcache {
	struct pcfile *fbucket[PCACHE_FBUCKETS];
	struct pcfile *files;
	int nfiles;
	struct pcpage **pbucket; /* (file, idx) hash; size pmask + 1 */
	uint64_t pmask, npages;
	uint64_t stamp;
};

/* The file's record for a shared mapping of host fd `hostfd` (created
 * without pages; upgraded to a write-back fd when `maywrite`), pinned until
 * pcache_unpin. NULL with *err set (-ENOMEM, -errno of fstat/dup). */
struct pcfile *pcache_attach(struct domain *d, int hostfd, const char *path, bool maywrite, int *err);
void pcache_unpin(struct domain *d, struct pcfile *f);
/* The record for (dev, ino), or NULL. */
struct pcfile *pcache_find(struct domain *d, uint64_t dev, uint64_t ino);

/* A VMA page range [idx, idx + n) of f comes to exist: each page is made
 * (filled from the file) if it is not cached yet and counts one more
 * mapping. 0, or -ENOMEM with nothing held. */
int pcache_hold(struct domain *d, struct pcfile *f, uint64_t idx, uint64_t n, bool maywrite);
/* The same for pages known cached (a fork child's copy of a VMA). */
void pcache_dup(struct domain *d, struct pcfile *f, uint64_t idx, uint64_t n, bool maywrite);
/* Maps the held pages [idx, idx + n) at va in mm (PROT_NONE: kept held). 0 or -ENOMEM. */
int pcache_install(struct domain *d, struct mm *mm, struct pcfile *f, gva_t va, uint64_t idx, uint64_t n, int prot);
/* A VMA page range goes away: one mapping less each; a page's last goes
 * back to the file (what changed) and leaves the cache. */
void pcache_release(struct domain *d, struct pcfile *f, uint64_t idx, uint64_t n, bool maywrite);

/* msync: writes back what changed in [idx, idx + n) of f (each page, and
 * with `wait` each file's fdatasync, once per pass `stamp`, from
 * pcache_stamp). 0 or -EIO. */
uint64_t pcache_stamp(struct domain *d);
int pcache_sync(struct domain *d, struct pcfile *f, uint64_t idx, uint64_t n, uint64_t stamp, bool wait);
/* Every cached page of every file; fdatasync too when `wait`. 0 or -EIO. */
int pcache_sync_all(struct domain *d, bool wait);

/* The VMM's own reads and writes of a file (read, write, sendfile,
 * copy_file_range, splice, truncate, fallocate) stay coherent with the
 * cache: pcio_begin writes cached pages of the byte range back first
 * (off < 0: the fd's position), pcio_end refreshes them from the file
 * after a write (pages past EOF read as zero). Cheap when nothing is
 * cached. */
struct pcio {
	struct pcfile *f;
	uint64_t first, last;   /* page range */
	bool wr;
};
void pcio_begin(struct domain *d, int hostfd, int64_t off, uint64_t len, bool wr, struct pcio *io);
void pcio_end(struct domain *d, struct pcio *io);
/* The same around a truncation of the file open on hostfd (O_PATH will
 * do) to `size`: the bytes between the old and the new end change. */
void pcio_truncate_begin(struct domain *d, int hostfd, int64_t size, struct pcio *io);

/* The end of the domain: write back and close (pcache_exit), or only
 * close (pcache_free: a domain that never ran). */
void pcache_exit(struct domain *d);
void pcache_free(struct domain *d);

/* Restore: a file record over an open host fd (taken over; -1: a record
 * of no file, for checking an image), and a page of it at an existing
 * frame (no fill). NULL / -errno. */
struct pcfile *pcache_adopt_file(struct domain *d, int fd, bool rw, const char *path, int *err);
int pcache_adopt_page(struct domain *d, struct pcfile *f, uint64_t idx, gpa_t gpa, struct pcpage **out);
struct pcpage *pcache_page(struct domain *d, struct pcfile *f, uint64_t idx);
/* Drops a file's record if it has no pages and no pins. */
void pcache_gc(struct domain *d, struct pcfile *f);

#endif
