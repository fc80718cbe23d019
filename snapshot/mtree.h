/* mtree.h: `pdvm migrate --copy-writable` — the domain's writable trees copied to the target, once while it runs and what changed since while it is paused (snapshot/mtree.c). */
#ifndef PDVM_MTREE_H
#define PDVM_MTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "mstream.h"

struct domain;
struct restore_opts;

/* ---- source ---- */

/* What the first pass sent: each entry with the size, time and mode it
 * had, to find what changed since. */
struct mtree;

/* Sends every directory, regular file and symlink in the domain's writable
 * paths (read as the domain; other kinds are left out), then MS_TREE_END.
 * *sent gets what went (mtree_free it). 0 or -errno with err. */
int mtree_send(struct domain *d, struct mstream *s, struct mtree **sent, char *err, size_t errlen);
/* The domain paused: sends what is new or changed (size, time, mode, kind)
 * since, and what is gone, then MS_TREE_END. 0 or -errno with err. */
int mtree_resend(struct domain *d, struct mstream *s, struct mtree *sent, char *err, size_t errlen);
void mtree_free(struct mtree *t);

/* ---- target (one migration per process) ---- */

/* Whether t is one of the tree's messages (MS_TREE, MS_TREE_DATA, MS_TREE_END). */
bool mtree_msg(enum ms_type t);
/* Ready to write the trees under the domain's root rootfd (an O_PATH fd,
 * dup'ed), where this operator lets the domain write: o->writable under
 * o->root, as the domain (o->cred). 0 or -errno with err. */
int mtree_begin(int rootfd, const struct restore_opts *o, char *err, size_t errlen);
/* Applies one tree message (b, n: its body). 1 after MS_TREE_END, else 0,
 * or -errno with err. Paths are confined: no "..", no symlink followed
 * below the writable path, nothing outside the operator's writable paths. */
int mtree_recv(enum ms_type t, const uint8_t *b, size_t n, char *err, size_t errlen);
/* Drops the state (the last pass is over, or the migration failed). */
void mtree_end(void);

#endif
