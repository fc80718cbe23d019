/* restore.c: rebuilds a domain from an image chain — config, memory, page tables, files, threads — and runs it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "vmm/status.h"
#include "net/netns.h"
#include "vmm/clock.h"
#include "vmm/domain.h"
#include "vmm/vdso.h"
#include "vmm/trap.h"
#include "vmm/files.h"
#include "image.h"
#include "lazy.h"
#include "postcopy.h"
#include "restore.h"
#include "sections.h"
#include "snap_mem.h"
#include "snap_state.h"
#include "tcp_repair.h"

#define MAX_CHAIN       64

/* The image and its parents, top first. */
struct chain {
	struct img_reader img[MAX_CHAIN];
	int n;
	char ignored[256];      /* optional sections of the top image this pdvm does not know */
};

static void chain_close(struct chain *c)
{
	for (int i = 0; i < c->n; i++)
		img_close(&c->img[i]);
}

static int chain_open(struct chain *c, const char *dir, char *err, size_t errlen)
{
	c->n = 0;
	const char *next = dir;
	while (next) {
		if (c->n == MAX_CHAIN) {
			snprintf(err, errlen, "%s: incremental chain longer than %d images", dir, MAX_CHAIN);
			return -1;
		}
		struct img_reader *r = &c->img[c->n];
		if (img_open(r, next, err, errlen))
			return -1;
		c->n++;
		char ign[256];
		if (sections_check(r, ign, sizeof(ign), err, errlen))
			return -1;
		if (c->n == 1)
			snprintf(c->ignored, sizeof(c->ignored), "%s", ign);
		if (c->n > 1 && strcmp(r->meta.id, c->img[c->n - 2].meta.parent_id)) {
			snprintf(err, errlen, "%s: parent image %s is not the one it was taken against "
				 "(it was replaced since)", c->img[c->n - 2].dir, next);
			return -1;
		}
		next = r->meta.parent_id[0] ? r->meta.parent_dir : NULL;
	}
	return 0;
}

/* Opens section `name` (of the table) for reading; the caller frees *buf. */
static int section(struct img_reader *img, const char *name, uint8_t **buf, struct sread *rd,
		   struct snap_ctx *c, char *err, size_t errlen)
{
	return section_open(img, section_find(name), buf, rd, c, err, errlen);
}

static bool has_section(const struct img_reader *img, const char *name)
{
	for (int i = 0; i < img->nsec; i++)
		if (!strcmp(img->sec[i].name, name))
			return true;
	return false;
}

static int image_error(const char *dir, const char *why)
{
	fprintf(stderr, "pdvm restore: %s: not a valid pdvm image: %s\n", dir, why);
	return EXIT_BAD_IMAGE;
}

/* Zeroes the frames not in use: parents may hold data for frames the top
 * image has since freed, and the allocator counts on free frames being 0. */
static void punch_unused(struct frames *f)
{
	uint64_t i = 0;
	while (i < f->nframes) {
		while (i < f->nframes && (f->used[i / 64] & (1ULL << (i % 64))))
			i++;
		uint64_t start = i;
		while (i < f->nframes && !(f->used[i / 64] & (1ULL << (i % 64)))) {
			if (i % 64 == 0 && f->used[i / 64] == 0 && i + 64 <= f->nframes)
				i += 64;
			else
				i++;
		}
		/* One call per run of free frames, and only over data: the
		 * memory was all hole before the images were loaded. */
		if (i > start && fallocate(f->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					   (off_t)(start * 4096), (off_t)((i - start) * 4096)) < 0)
			memset(f->host + start * 4096, 0, (i - start) * 4096);
	}
}

/* Guest memory becomes the file fd (a migration's pre-copy) in place of
 * the domain's own: mapped over it at the same address, which KVM's slot
 * names. 0 or -1 with err. */
static int adopt_memory(struct frames *f, int fd, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != f->size) {
		snprintf(err, errlen, "the migrated memory is %lld bytes, the domain's %llu",
			 (long long)st.st_size, (unsigned long long)f->size);
		return -1;
	}
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (nfd < 0 || mmap(f->host, f->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE, nfd,
			    0) == MAP_FAILED) {
		snprintf(err, errlen, "taking the migrated memory: %s", strerror(errno));
		if (nfd >= 0)
			close(nfd);
		return -1;
	}
	close(f->memfd);
	f->memfd = nfd;
	return 0;
}

/* Everything after dom_boot: the domain's state from the chain. Returns
 * 0, EXIT_BAD_IMAGE or EXIT_PDVM_ERROR, having printed why. */
static int load(struct domain *d, struct chain *ch, const struct restore_opts *o, bool dry, struct restore *out)
{
	struct img_reader *top = &ch->img[0];
	char err[1024] = "";
	uint8_t *buf = NULL;
	struct sread rd;
	int ret = EXIT_BAD_IMAGE;
	struct frames *f = &d->frames;

	/* The program sized its XSAVE areas (signal frames, ld.so's lazy
	 * binding) for the features it started with, and may use their
	 * instructions: on a host whose guests run with other ones it would
	 * overrun its stack or fault (a ring-0 image on a PVM host with
	 * AVX-512, whose guests run with the host's XCR0). Like CRIU's
	 * --cpu-cap, refused unless asked. */
	if (!dry && top->meta.xcr0 && top->meta.xcr0 != d->guest_xcr0) {
		if (!o->any_cpu) {
			fprintf(stderr, "pdvm restore: %s: the program ran with XSAVE features (XCR0) %#llx and "
				"this host's guests run with %#llx: it cannot go on here safely "
				"(--cpu-cap none restores it anyway)\n", top->dir,
				(unsigned long long)top->meta.xcr0, (unsigned long long)d->guest_xcr0);
			return EXIT_BAD_IMAGE;
		}
		dom_log(d, "XSAVE features differ: image %#llx, this host %#llx; restoring anyway (--cpu-cap none)",
			(unsigned long long)top->meta.xcr0, (unsigned long long)d->guest_xcr0);
	}
	/* Fresh memory: the boot's own frames (probe, kernel area) go, or a
	 * migration's pre-copied memory takes their place. */
	if (o->premem && !dry) {
		if (o->lazy || ch->n != 1) {
			fprintf(stderr, "pdvm restore: pre-copied memory goes with one image, loaded eagerly\n");
			return EXIT_PDVM_ERROR;
		}
		if (adopt_memory(f, o->premem_fd, err, sizeof(err))) {
			fprintf(stderr, "pdvm restore: %s\n", err);
			return EXIT_BAD_IMAGE;
		}
	} else if (fallocate(f->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)f->size) < 0) {
		memset(f->host, 0, f->size);
	}
	struct snap_restore *rs = calloc(1, sizeof(*rs)); /* large: keep it off the stack */
	if (!rs)
		return EXIT_PDVM_ERROR;
	rs->fresh_net = has_section(top, "net");
	rs->hold_tcp = o->hold_tcp && !dry;
	rs->migration = o->premem;
	struct snap_ctx ctx = { .d = d, .dry = dry, .force = o->force, .rs = rs, .err = err, .errlen = sizeof(err) };
	if (section(top, "mm", &buf, &rd, &ctx, err, sizeof(err)))
		goto msg;
	if (snap_get_mm(&rd, d, ctx.version)) {
		ret = image_error(top->dir, rd.bad);
		goto out;
	}
	free(buf);
	buf = NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (o->lazy && !dry) {
		if (lazy_start(d, ch->img, ch->n, err, sizeof(err)))
			goto msg;
	} else {
		for (int i = ch->n - 1; i >= 0; i--)
			if (snap_mem_read(&ch->img[i], f, (int)(ncpu > 0 ? ncpu : 1), err, sizeof(err)))
				goto msg;
		punch_unused(f);
		/* The pages still to come are holes: a touch asks for them,
		 * from the page-table check below on. */
		if (o->postcopy && !dry && postcopy_start(o->postcopy, d, err, sizeof(err)))
			goto msg;
	}
	const char *why;
	if (snap_check_pgtables(d, &why)) {
		ret = image_error(top->dir, why);
		goto out;
	}
	/* The boot's exitless pages are gone with its memory; the image's
	 * are taken over when the restored threads attach (vmm/exl.c). */
	exl_free(d);
	/* New address spaces (fork after the restore) map the kernel area
	 * the image's tables hold. */
	if (trap_kpages_rebuild(d, dom_mm(d))) {
		ret = image_error(top->dir, "the kernel area is malformed (too many pages, user-accessible, "
				  "or outside memory)");
		goto out;
	}
	/* KVM may have shadowed the boot's tables in frames that now hold
	 * other data: drop every shadow. */
	if (!dry)
		kvm_resync(&d->vm);

	/* Then every section the table reads, in its order. */
	for (size_t k = 0; k < nsections; k++) {
		const struct section *sec = &sections[k];
		if (!sec->get || !has_section(top, sec->name))
			continue;
		free(buf);
		buf = NULL;
		if (section_open(top, sec, &buf, &rd, &ctx, err, sizeof(err)))
			goto msg;
		int r = sec->get(&rd, &ctx);
		if (r == -1 && rd.bad) {
			ret = image_error(top->dir, rd.bad);
			goto out;
		}
		if (r) {
			/* A changed or vanished file: the image no longer fits
			 * this host, which restore refuses like a bad image;
			 * vCPUs that KVM will not take are pdvm's failure. */
			fprintf(stderr, "pdvm restore: %s: %s\n", top->dir, err);
			if (!strcmp(sec->name, "vcpus"))
				ret = EXIT_PDVM_ERROR;
			goto out;
		}
	}
	ret = 0;
	if (dry)
		goto out;
	vdso_calibrate(d);
	/* The restored domain can take incremental snapshots against this
	 * image straight away. */
	memcpy(d->last_snap, top->meta.id, sizeof(d->last_snap));
	memset(f->vdirty, 0, (f->nframes + 63) / 64 * 8);
	if (kvm_set_dirty_log(&d->vm, true))
		dom_log(d, "dirty logging unavailable: incremental snapshots will fail");
	out->held = rs->held;
	out->nheld = rs->nheld;
	rs->held = NULL;
	rs->nheld = 0;
	ret = 0;
	goto out;
msg:
	fprintf(stderr, "pdvm restore: %s\n", err);
out:
	snap_restore_release(rs);
	free(rs);
	free(buf);
	return ret;
}

/* Whether host path a is b or lies below it. */
static bool path_within(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (!strcmp(b, "/"))
		return a[0] == '/';
	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
}

/* realpath of root/guest (guest may be NULL): 0, or -errno. */
static int host_of(const char *root, const char *guest, char out[PATH_MAX])
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", root, guest ? guest : "");
	return realpath(p, out) ? 0 : -errno;
}

/*
 * What the domain may reach is the operator's to say (restore's --root and
 * --writable; pdvm run's defaults without them), never the image's: the
 * image's root must lie inside the allowed root, and each path it may write
 * inside one the operator lets it write. The image only narrows. 0, or
 * EXIT_BAD_IMAGE having said why.
 */
static int check_policy(const struct domain_spec *cfg, const struct restore_opts *o, const char *dir)
{
	char oroot[PATH_MAX], iroot[PATH_MAX], ip[PATH_MAX], op[PATH_MAX];
	int r = host_of(o->root ? o->root : "/", NULL, oroot);
	if (r) {
		fprintf(stderr, "pdvm restore: --root %s: %s\n", o->root, strerror(-r));
		return EXIT_PDVM_ERROR;
	}
	if ((r = host_of(cfg->root, NULL, iroot)) || !path_within(iroot, oroot)) {
		fprintf(stderr, "pdvm restore: %s: the image's root %s %s the allowed root %s (--root)\n", dir,
			cfg->root, r ? "does not exist here, so it is not inside" : "lies outside", oroot);
		return EXIT_BAD_IMAGE;
	}
	for (char **w = cfg->writable; w && *w; w++) {
		bool ok = false;
		if (host_of(iroot, *w, ip) == 0)
			for (char **a = o->writable; a && *a && !ok; a++)
				ok = host_of(oroot, *a, op) == 0 && path_within(ip, op);
		if (!ok) {
			fprintf(stderr, "pdvm restore: %s: the image writes to %s%s, which the operator does not allow; "
				"restore with --writable (and --root) to allow it\n", dir, iroot, *w);
			return EXIT_BAD_IMAGE;
		}
	}
	return 0;
}

int restore_prepare(const char *dir, const struct restore_opts *o, struct restore *rs)
{
	static struct chain ch;   /* large: keep it off the stack */
	char err[1024] = "";
	uint8_t *buf = NULL;
	struct sread rd;
	struct domain_spec *cfg = &rs->spec;
	int status = EXIT_BAD_IMAGE;
	memset(rs, 0, sizeof(*rs));
	uint64_t t0 = host_mono_ns();
	struct snap_ctx ctx = { .err = err, .errlen = sizeof(err) };
	if (chain_open(&ch, dir, err, sizeof(err)) ||
	    section(&ch.img[0], "domain", &buf, &rd, &ctx, err, sizeof(err))) {
		fprintf(stderr, "pdvm restore: %s\n", err);
		goto out;
	}
	if (ch.ignored[0])
		fprintf(stderr, "pdvm restore: %s: ignoring optional section(s) %s, which this pdvm does not know\n",
			dir, ch.ignored);
	if (snap_get_spec(&rd, cfg)) {
		status = image_error(dir, rd.bad);
		goto out;
	}
	/* A container's root moves with its engine's store (podman's import
	 * mounts the image's layers anew): the domain names its files from its
	 * own /, so only the host directory under it changes. */
	if (o->new_root && o->root) {
		char *nr = strdup(o->root);
		if (!nr) {
			fprintf(stderr, "pdvm restore: out of memory\n");
			goto out;
		}
		free(cfg->root);
		cfg->root = nr;
	}
	if ((status = check_policy(cfg, o, dir)))
		goto out;
	status = EXIT_BAD_IMAGE;
	if (o->name) {
		free(cfg->name);
		cfg->name = strdup(o->name);
	}
	/* Where pdvm writes is the operator's business, not the image's: the
	 * default log of the (checked) name. */
	free(cfg->log);
	cfg->log = NULL;
	if (cfg->name && o->log_dir && asprintf(&cfg->log, "%s/%s.log", o->log_dir, cfg->name) < 0)
		cfg->log = NULL;
	cfg->verbose = o->verbose;
	cfg->deterministic = o->deterministic;
	cfg->rr_tsc = o->rr_tsc;
	if (o->exit_path)
		cfg->syscall_path = SYSCALL_PATH_EXIT;
	cfg->vcpu_cpu = o->vcpu_cpu;
	if (has_section(&ch.img[0], "net")) {
		free(buf);
		buf = NULL;
		if (section(&ch.img[0], "net", &buf, &rd, &ctx, err, sizeof(err))) {
			fprintf(stderr, "pdvm restore: %s\n", err);
			goto out;
		}
		if (snap_get_net(&rd, &rs->net)) {
			status = image_error(dir, rd.bad);
			goto out;
		}
		char addr[NETNS_ADDR_LEN];
		if (o->net_entered) {
			if (!net_spec_same(o->net_entered, &rs->net)) {
				fprintf(stderr, "pdvm restore: %s: the image's network is not the one announced\n", dir);
				goto out;
			}
		} else if (netns_enter(cfg->name, &rs->net, addr, err, sizeof(err)) < 0) {
			fprintf(stderr, "pdvm restore: network: %s\n", err);
			status = EXIT_PDVM_ERROR;
			goto out;
		}
	}
	if (o->net_entered && !rs->net.mode) {
		fprintf(stderr, "pdvm restore: %s: the image has no network of its own, as announced\n", dir);
		goto out;
	}
	cfg->cred = o->cred;
	/* A namespace of its own has its own abstract names. */
	cfg->abstract_host = o->abstract_host || rs->net.mode;
	cfg->filter_all = o->filter_all;
	cfg->shm_private = o->shm_private;
	/* The tmpfs this restore mounted (section `tmpfs` fills them). */
	size_t nt = 0;
	while (o->tmpfs && o->tmpfs[nt])
		nt++;
	if (nt && (cfg->tmpfs = calloc(nt + 1, sizeof(char *))))
		for (size_t i = 0; i < nt; i++)
			cfg->tmpfs[i] = strdup(o->tmpfs[i]);
	if (nt && (!cfg->tmpfs || !cfg->tmpfs[nt - 1])) {
		fprintf(stderr, "pdvm restore: out of memory\n");
		status = EXIT_PDVM_ERROR;
		goto out;
	}
	if (!cfg->cwd)
		cfg->cwd = strdup("/");
	if (!cfg->name || !cfg->cwd) {
		fprintf(stderr, "pdvm restore: out of memory\n");
		status = EXIT_PDVM_ERROR;
		goto out;
	}
	struct domain *d = dom_new(cfg);
	if (!d) {
		status = EXIT_PDVM_ERROR;
		goto out;
	}
	struct thread *t;
	dom_lock(d);
	status = dom_boot(d, &t);
	uint64_t t1 = host_mono_ns();
	if (!status)
		status = load(d, &ch, o, false, rs);
	if (!status && ch.ignored[0])
		dom_log(d, "restore: ignored optional section(s) %s, unknown to this pdvm", ch.ignored);
	if (!status) {
		uint64_t t2 = host_mono_ns();
		dom_log(d, "restored from %s (%d image%s) in %.3f ms (VM set-up %.3f ms, image %.3f ms)",
			dir, ch.n, ch.n > 1 ? "s" : "", (double)(t2 - t0) / 1e6, (double)(t1 - t0) / 1e6,
			(double)(t2 - t1) / 1e6);
	}
	dom_unlock(d);
	rs->d = d;
out:
	chain_close(&ch);
	free(buf);
	return status;
}

void restore_release(struct domain *d, void *rs)
{
	(void)rs;
	lazy_stop(d);
	postcopy_stop(d);
}

int restore_go(struct restore *rs)
{
	char err[256];
	int bad = 0;
	for (int i = 0; i < rs->nheld; i++) {
		if (tcp_held_go(&rs->held[i], err, sizeof(err))) {
			dom_log(rs->d, "%s", err);
			bad++;
		}
	}
	tcp_held_free(&rs->held, &rs->nheld);
	return bad ? -EIO : 0;
}

void restore_done(struct restore *rs)
{
	tcp_held_free(&rs->held, &rs->nheld);
	spec_free(&rs->spec);
	net_spec_free(&rs->net);
}

int restore_check(const char *dir, const struct restore_opts *o)
{
	static struct chain ch;
	char err[1024] = "";
	uint8_t *buf = NULL;
	struct sread rd;
	struct domain_spec cfg;
	memset(&cfg, 0, sizeof(cfg));
	int status = EXIT_BAD_IMAGE;
	struct snap_ctx ctx = { .err = err, .errlen = sizeof(err) };
	if (chain_open(&ch, dir, err, sizeof(err)) ||
	    section(&ch.img[0], "domain", &buf, &rd, &ctx, err, sizeof(err))) {
		fprintf(stderr, "pdvm restore: %s\n", err);
		goto out;
	}
	if (snap_get_spec(&rd, &cfg)) {
		status = image_error(dir, rd.bad);
		goto out;
	}
	if ((status = check_policy(&cfg, o, dir)))
		goto out;
	status = EXIT_BAD_IMAGE;
	free(cfg.log);
	cfg.log = NULL; /* no domain log for a check */
	cfg.cred = o->cred;
	struct domain *d = dom_new(&cfg);
	if (!d) {
		status = EXIT_PDVM_ERROR;
		goto out;
	}
	/* Only what needs no KVM: memory, page tables, files, records. */
	int r = mm_init(d, cfg.memory);
	if (r) {
		fprintf(stderr, "pdvm restore: guest memory: %s\n", strerror(-r));
		status = EXIT_PDVM_ERROR;
	} else if ((r = files_init(d, &cfg, err, sizeof(err)))) {
		fprintf(stderr, "pdvm restore: %s: %s\n", dir, err);
		status = EXIT_BAD_IMAGE;
	} else {
		status = load(d, &ch, o, true, NULL);
	}
	dom_free(d);
out:
	chain_close(&ch);
	free(buf);
	spec_free(&cfg);
	return status;
}
