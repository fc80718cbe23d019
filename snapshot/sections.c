/* sections.c: the one table of image sections and the version and required-section checks every image goes through. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/domain.h"
#include "net/netns.h"
#include "image.h"
#include "sections.h"
#include "snap_state.h"

/* Section bodies are read whole; none comes near this. */
#define SECTION_MAX (256u << 20)

static int put_domain(struct sbuf *b, struct snap_ctx *c) { return snap_put_domain(c->d, b); }
static int put_mm(struct sbuf *b, struct snap_ctx *c) { return snap_put_mm(c->d, b); }
static int put_files(struct sbuf *b, struct snap_ctx *c)
{
	return snap_put_files(c->d, c->freeze, b, c->err, c->errlen);
}
static int put_vcpus(struct sbuf *b, struct snap_ctx *c) { return snap_put_vcpus(c->d, b, c->err, c->errlen); }
static int put_signals(struct sbuf *b, struct snap_ctx *c) { return snap_put_signals(c->d, b, c->err, c->errlen); }
static int put_vdso(struct sbuf *b, struct snap_ctx *c) { return snap_put_vdso(c->d, b, c->err, c->errlen); }
static int put_shmaps(struct sbuf *b, struct snap_ctx *c) { return snap_put_shmaps(c->d, b, c->err, c->errlen); }
static int put_procs(struct sbuf *b, struct snap_ctx *c) { return snap_put_procs(c->d, b, c->err, c->errlen); }
static int put_net(struct sbuf *b, struct snap_ctx *c) { return snap_put_net(c->net, b); }
static int put_locks(struct sbuf *b, struct snap_ctx *c) { return snap_put_locks(c->d, b, c->err, c->errlen); }
static int put_shm(struct sbuf *b, struct snap_ctx *c) { return snap_put_shm(c->d, b, c->err, c->errlen); }
static int get_shm(struct sread *r, struct snap_ctx *c) { return snap_get_shm(r, c->d, c->dry, c->err, c->errlen); }
static int put_tmpfs(struct sbuf *b, struct snap_ctx *c) { return snap_put_tmpfs(c->d, b, c->err, c->errlen); }
static int get_tmpfs(struct sread *r, struct snap_ctx *c) { return snap_get_tmpfs(r, c->d, c->dry, c->err, c->errlen); }
static int put_gfilter(struct sbuf *b, struct snap_ctx *c) { return snap_put_gfilter(c->d, b); }
static int get_gfilter(struct sread *r, struct snap_ctx *c) { return snap_get_gfilter(r, c->d); }

static int get_domain(struct sread *r, struct snap_ctx *c)
{
	/* The spec at its head built the domain already (restore_prepare). */
	struct domain_spec skip;
	snap_get_spec(r, &skip);
	spec_free(&skip);
	return snap_get_domain(r, c->d, c->version);
}
static int get_files(struct sread *r, struct snap_ctx *c)
{
	return snap_get_files(r, c->d, c->rs, c->force, c->err, c->errlen);
}
static int get_vcpus(struct sread *r, struct snap_ctx *c)
{
	return snap_get_vcpus(r, c->d, c->version, c->dry, c->err, c->errlen);
}
static int get_signals(struct sread *r, struct snap_ctx *c) { return snap_get_signals(r, c->d, c->version); }
static int get_vdso(struct sread *r, struct snap_ctx *c) { return snap_get_vdso(r, c->d); }
static int get_shmaps(struct sread *r, struct snap_ctx *c)
{
	return snap_get_shmaps(r, c->d, c->rs, c->version, c->dry, c->err, c->errlen);
}
static int get_procs(struct sread *r, struct snap_ctx *c)
{
	return snap_get_procs(r, c->d, c->rs, c->version, c->dry, c->err, c->errlen);
}
static int get_locks(struct sread *r, struct snap_ctx *c)
{
	return snap_get_locks(r, c->d, c->dry, c->force, c->err, c->errlen);
}

static bool several_procs(const struct snap_ctx *c) { return c->nprocs > 1; }
static bool own_netns(const struct snap_ctx *c) { return c->net && c->net->mode; }
static bool has_locks(const struct snap_ctx *c) { return snap_has_locks(c->d); }
static bool has_tmpfs(const struct snap_ctx *c) { return snap_has_tmpfs(c->d); }
static bool has_gfilter(const struct snap_ctx *c) { return snap_has_gfilter(c->d); }
static bool private_shm(const struct snap_ctx *c) { return c->d->spec->shm_private; }

/* Version history (each reader keeps the older versions):
 *   domain  2: handlers, limits and the reported-syscall bitmap counted
 *   signals 2: siginfo as explicit fields, not the in-memory struct
 *   procs   2: as domain 2 and signals 2 for each process
 *   vcpus   2: each thread's name, parent-death signal, nice value and policy
 *   signals 3: job control (the first process's stop state, each thread's),
 *           timers on CPU clocks (the thread counted; CPU time left) and the
 *           process's ITIMER_VIRTUAL and ITIMER_PROF
 *   procs   3: as signals 3 for each process
 *   files   2: memfds (name, mode, seals, contents) and pidfds
 *   shmaps  2: the memfd description a mapping writes back to
 *   vcpus   3: each thread's working directory and umask: its process's,
 *           its own (unshare(CLONE_FS), clone without CLONE_FS), or an
 *           earlier thread's
 *   mm      2: the files VMAs map (path, device, inode, offset), for
 *           /proc/PID/maps; version 1 reads as anonymous memory
 *   procs   4: as mm 2 for each process's address space
 *   shmaps  3: the page cache — each file (path or memfd, written back
 *           or not) and its pages' frames — instead of ranges of private
 *           copies; read after `procs` (it was read before)
 *   domain  3: the host name (uname's node name)
 *   domain  4: the pids limit (most live threads)
 * (domain 2 and procs 2 also carry each process's dumpable, no_new_privs
 * and personality.)
 *
 * Written in this order; read in this order too, after `mm` and memory
 * (each reader may rely on those before it: threads exist for `signals`
 * and `procs`, descriptions for `shmaps`). Versions: raise `version` when
 * a writer changes and keep reading the old one (or raise min_version,
 * which breaks old images: say so in snapshot/README.md). */
const struct section sections[] = {
	/* name      min ver required always  wanted         put          get */
	{ "domain",  1,  5,  true,    true,   NULL,          put_domain,  get_domain },
	{ "mm",      1,  2,  true,    true,   NULL,          put_mm,      NULL },
	/* Before `files` and `shmaps`, which reopen its files by path. */
	{ "shm",     1,  1,  true,    false,  private_shm,   put_shm,     get_shm },
	/* New with tmpfs volumes; required: files must not be lost. */
	{ "tmpfs",   1,  1,  true,    false,  has_tmpfs,     put_tmpfs,   get_tmpfs },
	{ "files",   1,  2,  true,    true,   NULL,          put_files,   get_files },
	{ "vcpus",   1,  3,  true,    true,   NULL,          put_vcpus,   get_vcpus },
	/* Absent from images of early builds: none pending, no vDSO, no
	 * shared mappings. Required all the same: restoring without them
	 * would drop signals, stop the guest's clock or lose writes. */
	{ "signals", 1,  3,  true,    false,  NULL,          put_signals, get_signals },
	{ "vdso",    1,  1,  true,    false,  NULL,          put_vdso,    get_vdso },
	{ "procs",   1,  4,  true,    false,  several_procs, put_procs,   get_procs },
	/* After `procs`: the cached pages are checked against every
	 * address space's mappings. */
	{ "shmaps",  1,  3,  true,    false,  NULL,          put_shmaps,  get_shmaps },
	/* New with record locks: an image without it holds none. Required:
	 * a pdvm that dropped them would let another process in. */
	{ "locks",   1,  1,  true,    false,  has_locks,     put_locks,   get_locks },
	{ "net",     1,  1,  true,    false,  own_netns,     put_net,     NULL },
	/* New with seccomp profiles: required, so that no pdvm restores a
	 * domain without the profile it ran under. */
	{ "gfilter", 1,  1,  true,    false,  has_gfilter,   put_gfilter, get_gfilter },
	/* snap_mem.c writes and reads these two itself. */
	{ "memory",  1,  1,  true,    true,   NULL,          NULL,        NULL },
	{ "memidx",  1,  1,  true,    true,   NULL,          NULL,        NULL },
};
const size_t nsections = sizeof(sections) / sizeof(sections[0]);

const struct section *section_find(const char *name)
{
	for (size_t i = 0; i < nsections; i++)
		if (!strcmp(sections[i].name, name))
			return &sections[i];
	return NULL;
}

int sections_check(const struct img_reader *img, char *ignored, size_t ilen, char *err, size_t errlen)
{
	if (ilen)
		*ignored = 0;
	for (int i = 0; i < img->nsec; i++) {
		const struct img_section *is = &img->sec[i];
		const struct section *s = section_find(is->name);
		if (!s) {
			/* Format 1 could not say; its writers only wrote what
			 * this table knows. */
			if (is->required || img->meta.format < 2) {
				snprintf(err, errlen, "%s: the image needs section \"%s\", which this pdvm does not "
					 "know (written by a newer pdvm?)", img->dir, is->name);
				return -1;
			}
			size_t n = strlen(ignored);
			if (n + strlen(is->name) + 3 < ilen)
				snprintf(ignored + n, ilen - n, "%s%s", n ? ", " : "", is->name);
			continue;
		}
		if (is->version && (is->version < s->min_version || is->version > s->version)) {
			snprintf(err, errlen, "%s: section \"%s\" is of version %u; this pdvm reads versions %u to %u",
				 img->dir, is->name, is->version, s->min_version, s->version);
			return -1;
		}
	}
	for (size_t k = 0; k < nsections; k++) {
		const struct section *s = &sections[k];
		bool have = false;
		for (int i = 0; i < img->nsec && !have; i++)
			have = !strcmp(img->sec[i].name, s->name);
		if (s->always && !have) {
			snprintf(err, errlen, "%s: not a valid pdvm image: no %s section", img->dir, s->name);
			return -1;
		}
	}
	return 0;
}

int section_write(struct img_writer *w, const struct section *s, struct snap_ctx *c)
{
	struct sbuf b = { 0 };
	sb_u32(&b, s->version);
	int r = s->put(&b, c);
	if (!r && b.oom)
		r = -ENOMEM;
	if (r && !*c->err)
		snprintf(c->err, c->errlen, "%s state: %s", s->name, strerror(-r));
	if (!r)
		r = img_put(w, s->name, s->version, s->required, b.p, b.len, c->err, c->errlen);
	sb_free(&b);
	return r;
}

int section_open(struct img_reader *img, const struct section *s, uint8_t **buf, struct sread *rd,
		 struct snap_ctx *c, char *err, size_t errlen)
{
	size_t len;
	*buf = NULL;
	if (img_get(img, s->name, SECTION_MAX, buf, &len, err, errlen))
		return -1;
	sr_init(rd, *buf, len);
	uint32_t v = sr_u32(rd);
	uint32_t said = 0;
	for (int i = 0; i < img->nsec; i++)
		if (!strcmp(img->sec[i].name, s->name))
			said = img->sec[i].version;
	if (rd->bad || v < s->min_version || v > s->version || (said && said != v)) {
		snprintf(err, errlen, "%s: not a valid pdvm image: section \"%s\" has version %u%s; this pdvm "
			 "reads versions %u to %u", img->dir, s->name, v,
			 said && said != v ? ", not the manifest's" : "", s->min_version, s->version);
		return -1;
	}
	c->version = v;
	return 0;
}
