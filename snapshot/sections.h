/* sections.h: the one table of image sections — name, versions read and written, required or optional, writer and reader — and the checks a reader makes of an image's section list. */
#ifndef PDVM_SECTIONS_H
#define PDVM_SECTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

struct domain;
struct net_spec;
struct img_reader;
struct snap_freeze;
struct snap_restore;

/* What a section's writer and reader work on. */
struct snap_ctx {
	struct domain *d;
	const struct net_spec *net;     /* writing: the domain's network (NULL: the host's) */
	int nprocs;                     /* writing: live processes */
	const struct snap_freeze *freeze; /* writing: the TCP connections frozen for it */
	struct snap_restore *rs;        /* reading: what the sections of one load share */
	bool dry;                       /* reading: validate only, touch no vCPU or host state */
	bool force;                     /* reading: accept changed files */
	uint32_t version;               /* reading: the section's version, within the table's range */
	char *err;                      /* a host error's reason (image errors go in sread.bad) */
	size_t errlen;
};

struct section {
	const char *name;
	uint32_t min_version;   /* the oldest this pdvm reads */
	uint32_t version;       /* what it writes */
	/* A reader that does not know a required section must refuse the
	 * image; an optional one it may ignore (the state it holds is lost). */
	bool required;
	bool always;            /* in every full image */
	/* Whether this domain's image has the section (NULL: always). */
	bool (*wanted)(const struct snap_ctx *c);
	/* Appends the body (after the version word, which the table writes).
	 * 0 or -errno with c->err. NULL: written elsewhere (memory). */
	int (*put)(struct sbuf *b, struct snap_ctx *c);
	/* Reads the body. 0; -1 with r->bad (an image error) or with c->err
	 * (a host error). NULL: read elsewhere (the spec and net before the
	 * domain exists, memory, mm before memory). */
	int (*get)(struct sread *r, struct snap_ctx *c);
};

extern const struct section sections[];
extern const size_t nsections;

/* The table's entry for a name, or NULL. */
const struct section *section_find(const char *name);

/* Checks an image's section list against the table: a section this pdvm
 * does not know is refused by name if the image says it is required, and
 * reported in *ignored (comma-separated, for the log) if optional; a known
 * section's version must lie in the table's range, and every section the
 * table says is always there must be (parents of an incremental image
 * hold every section too). 0, or -1 with the reason in err. */
int sections_check(const struct img_reader *img, char *ignored, size_t ilen, char *err, size_t errlen);

/* Writes one section (its version word, then the body) into the image. */
struct img_writer;
int section_write(struct img_writer *w, const struct section *s, struct snap_ctx *c);
/* Opens one section of an image for reading: its whole body checked by
 * size and CRC, the version word read and range-checked into c->version.
 * *buf must be freed. 0, or -1 with the reason in err. */
int section_open(struct img_reader *img, const struct section *s, uint8_t **buf, struct sread *rd,
		 struct snap_ctx *c, char *err, size_t errlen);

#endif
