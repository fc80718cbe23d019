/* mfiles.h: a migration's files — the target checks, while the domain still runs at the source, that the files it has open are there and the same (snapshot/mfiles.c). */
#ifndef PDVM_MFILES_H
#define PDVM_MFILES_H

#include <stdbool.h>
#include <stddef.h>

#include "mstream.h"

struct domain;
struct restore_opts;

/* At most this many files are listed (more is refused by the target). */
#define MF_MAX_FILES    65536

struct mtree;

/*
 * Source, right after the hello, the domain running: lists the regular
 * files its processes have open or map shared (guest path; for one open
 * read-only its size and CRC-32) — with copy_writable, not those inside its
 * writable paths, whose contents it then sends (mtree_send: *tree gets what
 * went, for mtree_resend once paused; mtree_free it) — and waits for the
 * target's verdict. 0, or -errno with the reason (the target's, if it gave
 * one) in err; the stream is then finished with.
 */
int mfiles_check(struct domain *d, struct mstream *s, bool copy_writable, struct mtree **tree, char *err,
		 size_t errlen);

/*
 * Target, after the hello: receives that list (and with copy-writable the
 * writable paths' contents, written as mtree_recv does, which then takes
 * the second pass) and checks each file under
 * the domain's root (the source's, which must lie inside this operator's
 * root, o->root), opened as the domain (o->cred) the way restore reopens
 * it: it must exist and be a regular file, and one open read-only must
 * have the same size and content (a CRC-32 of it; device, inode and time
 * differ between hosts). 0 (the source has been told) or -errno with the
 * reason in err, which the source has been sent too.
 */
int mfiles_verify(struct mstream *s, const struct restore_opts *o, char *err, size_t errlen);

#endif
