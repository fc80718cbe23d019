/* volumes.c: host files and directories bound into a domain's root (--volume SRC:DST[:ro]) and tmpfs mounted there (--tmpfs), in pdvm's own mount namespace, as docker -v and --tmpfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "tools/config.h"
#include "tools/mountns.h"
#include "tools/volumes.h"

bool volume_plain_path(const char *d)
{
	/* Lexically plain: a mount point is named once, as the domain names
	 * it; "." and ".." would let two names hide one place. */
	bool bad = d[0] != '/' || !strcmp(d, "/") || strlen(d) >= 4096;
	for (const char *p = d; !bad && *p;) {
		const char *e = strchrnul(++p, '/');
		size_t l = (size_t)(e - p);
		bad = l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.');
		p = e;
	}
	return !bad;
}

int volume_parse(const char *spec, char **src, char **dst, bool *ro, char *why, size_t n)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	bool r = false;

	if (!c1 || spec[0] != '/' || c1[1] != '/') {
		snprintf(why, n, "'%s': want SRC:DST[:ro], both absolute paths", spec);
		return -1;
	}
	if (c2) {
		if (!strcmp(c2 + 1, "ro"))
			r = true;
		else if (strcmp(c2 + 1, "rw")) {
			snprintf(why, n, "'%s': the option after DST must be ro or rw", spec);
			return -1;
		}
	}
	size_t dl = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	char *d = strndup(c1 + 1, dl), *s = strndup(spec, (size_t)(c1 - spec));
	if (!d || !s) {
		free(d);
		free(s);
		snprintf(why, n, "out of memory");
		return -1;
	}
	bool bad = !volume_plain_path(d);
	if (bad) {
		snprintf(why, n, "'%s': DST must be a plain absolute path other than / (no //, . or ..)", spec);
		free(d);
		free(s);
		return -1;
	}
	*src = s;
	*dst = d;
	*ro = r;
	return 0;
}

static int in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_PATH | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* The image is anybody's: every component is resolved inside the root as
 * the domain would see it (a symbolic link to /etc stays the root's /etc),
 * and what is missing is made there, never through a link. */
int volume_target(const char *root, const char *dst, int make, char *err, size_t errlen)
{
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;
	char prefix[4096];

	if (rootfd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", root, strerror(e));
		return -e;
	}
	for (const char *p = dst; *p;) {
		const char *e = strchrnul(p + 1, '/');
		bool last = !*e;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(e - dst), dst);
		fd = in_root(rootfd, prefix, last ? 0 : O_DIRECTORY);
		if (fd == -ENOENT && make != VOLUME_LOOKUP) {
			/* The parent is there (the previous round); make this one in it. */
			char name[256], up[4096];
			snprintf(name, sizeof(name), "%.*s", (int)(e - p - 1), p + 1);
			snprintf(up, sizeof(up), "%.*s", (int)(p - dst), dst);
			int parent = p == dst ? dup(rootfd) : in_root(rootfd, up, O_DIRECTORY);
			int r = parent < 0 ? parent : 0;
			if (!r && (!last || make == VOLUME_MAKE_DIR))
				r = mkdirat(parent, name, 0755) < 0 && errno != EEXIST ? -errno : 0;
			else if (!r) {
				int f = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
				r = f < 0 ? -errno : 0;
				if (f >= 0)
					close(f);
			}
			if (parent >= 0)
				close(parent);
			fd = r < 0 ? r : in_root(rootfd, prefix, last ? 0 : O_DIRECTORY);
		}
		if (fd < 0) {
			snprintf(err, errlen, "%s in the root %s: %s", prefix, root, strerror(-fd));
			break;
		}
		if (!last)
			close(fd);
		p = e;
	}
	close(rootfd);
	return fd;
}

/* mount(2) takes paths: each descriptor is named through /proc/self/fd,
 * which the kernel follows to the very object opened. */
static int bind_one(const char *root, const char *src, const char *dst, bool ro, char *err, size_t errlen)
{
	char from[64], to[64];
	struct stat st;
	int sfd = open(src, O_PATH | O_CLOEXEC), tfd = -1, r = 0;

	if (sfd < 0 || fstat(sfd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", src, strerror(-r));
		goto out;
	}
	int make = S_ISDIR(st.st_mode) ? VOLUME_MAKE_DIR : VOLUME_MAKE_FILE;
	if ((tfd = volume_target(root, dst, make, err, errlen)) < 0) {
		r = tfd;
		goto out;
	}
	snprintf(from, sizeof(from), "/proc/self/fd/%d", sfd);
	snprintf(to, sizeof(to), "/proc/self/fd/%d", tfd);
	if (mount(from, to, NULL, MS_BIND | MS_REC, NULL) < 0) {
		r = -errno;
		snprintf(err, errlen, "binding %s on %s: %s", src, dst, strerror(-r));
		goto out;
	}
	if (ro) {
		/* The descriptor names what the bind covers; the bind itself is
		 * what DST resolves to now. */
		close(tfd);
		tfd = volume_target(root, dst, make, err, errlen);
		snprintf(to, sizeof(to), "/proc/self/fd/%d", tfd);
		if (tfd < 0 || mount(NULL, to, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
			r = tfd < 0 ? tfd : -errno;
			snprintf(err, errlen, "making %s read-only: %s", dst, strerror(-r));
		}
	}
out:
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	return r;
}

int tmpfs_parse(const char *spec, char **dst, unsigned long *flags, char *data, size_t dlen, bool *ro, char *why,
		size_t n)
{
	static const struct { const char *name; unsigned long set; } fl[] = {
		{ "nosuid", MS_NOSUID }, { "nodev", MS_NODEV }, { "noexec", MS_NOEXEC }, { "strictatime", MS_STRICTATIME },
		{ "suid", 0 }, { "dev", 0 }, { "exec", 0 }, { "relatime", 0 }, { "noatime", MS_NOATIME }, { "rw", 0 },
		{ "rprivate", 0 }, { "private", 0 },
	};
	const char *colon = strchr(spec, ':');
	char *d = strndup(spec, colon ? (size_t)(colon - spec) : strlen(spec)), opts[512];
	size_t used = 0;
	if (!d || !volume_plain_path(d)) {
		snprintf(why, n, "'%s': want DST[:OPTIONS], DST a plain absolute path other than /", spec);
		free(d);
		return -1;
	}
	*flags = MS_NOSUID | MS_NODEV;  /* docker's defaults */
	*ro = false;
	data[0] = 0;
	snprintf(opts, sizeof(opts), "%s", colon ? colon + 1 : "");
	char *save = NULL;
	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		bool known = false;
		for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]) && !known; i++)
			if (!strcmp(o, fl[i].name)) {
				known = true;
				*flags |= fl[i].set;
				if (!strcmp(o, "suid"))
					*flags &= ~(unsigned long)MS_NOSUID;
				else if (!strcmp(o, "dev"))
					*flags &= ~(unsigned long)MS_NODEV;
			}
		if (!strcmp(o, "ro")) {
			known = true;
			*ro = true;
			*flags |= MS_RDONLY;
		}
		/* Values the kernel checks again; here only their form. */
		if (!known && (!strncmp(o, "size=", 5) || !strncmp(o, "mode=", 5) || !strncmp(o, "nr_inodes=", 10))) {
			const char *v = strchr(o, '=') + 1;
			size_t k = strspn(v, "0123456789");
			bool ok = k > 0 && (!v[k] || (o[0] == 's' && strchr("kmgKMG%", v[k]) && !v[k + 1]));
			if (ok && used + strlen(o) + 2 < dlen)
				used += (size_t)snprintf(data + used, dlen - used, "%s%s", used ? "," : "", o);
			known = ok;
		}
		if (!known) {
			snprintf(why, n, "'%s': option '%s' is not one of size=, mode=, nr_inodes=, ro, rw, nosuid, "
				 "nodev, noexec", spec, o);
			free(d);
			return -1;
		}
	}
	*dst = d;
	return 0;
}

static int tmpfs_one(struct domain_config *cfg, const char *root, const char *spec, char *err, size_t n)
{
	char data[600], to[64];
	unsigned long flags;
	bool ro;
	char *dst;
	if (tmpfs_parse(spec, &dst, &flags, data, sizeof(data), &ro, err, n))
		return -1;
	/* The domain's, as a container's tmpfs is its root's: the domain is
	 * the unprivileged account, so it owns the top directory (mode as
	 * asked; docker's default 1777 otherwise). */
	size_t dl = strlen(data);
	if (!strstr(data, "mode="))
		dl += (size_t)snprintf(data + dl, sizeof(data) - dl, "%smode=1777", dl ? "," : "");
	if (!cfg->dom.cred.as_root)
		snprintf(data + dl, sizeof(data) - dl, ",uid=%u,gid=%u", cfg->dom.cred.uid, cfg->dom.cred.gid);
	int fd = volume_target(root, dst, VOLUME_MAKE_DIR, err, n), r = -1;
	if (fd >= 0) {
		snprintf(to, sizeof(to), "/proc/self/fd/%d", fd);
		if (mount("pdvm-tmpfs", to, "tmpfs", flags, data) < 0)
			snprintf(err, n, "a tmpfs on %s: %s", dst, strerror(errno));
		else if (!ro && config_set(cfg, "writable", dst, err, n) < 0)
			;
		else
			r = 0;
		close(fd);
	}
	/* Images carry its files (snapshot/snap_shm.c). */
	if (!r) {
		if (spec_strv_push(&cfg->dom.tmpfs, dst)) {
			snprintf(err, n, "out of memory");
			r = -1;
		} else {
			dst = NULL;
		}
	}
	free(dst);
	return r;
}

int volumes_setup(const char *cmd, struct domain_config *cfg)
{
	const char *root = cfg->dom.root ? cfg->dom.root : "/";
	char err[1200];

	if ((!cfg->volumes || !cfg->volumes[0]) && (!cfg->tmpfs_mounts || !cfg->tmpfs_mounts[0]))
		return 0;
	if (mountns_own(err, sizeof(err)) < 0) {
		fprintf(stderr, "pdvm %s: --volume: %s\n", cmd, err);
		return -1;
	}
	for (char **v = cfg->volumes; v && *v; v++) {
		char *src = NULL, *dst = NULL;
		bool ro = false;
		int r = volume_parse(*v, &src, &dst, &ro, err, sizeof(err));
		if (!r)
			r = bind_one(root, src, dst, ro, err, sizeof(err));
		if (!r && !ro)
			r = config_set(cfg, "writable", dst, err, sizeof(err));
		if (r)
			fprintf(stderr, "pdvm %s: --volume %s: %s\n", cmd, *v, err);
		if (!r && cfg->dom.verbose)
			fprintf(stderr, "pdvm %s: volume %s on %s%s\n", cmd, src, dst, ro ? ", read-only" : "");
		free(src);
		free(dst);
		if (r)
			return -1;
	}
	for (char **t = cfg->tmpfs_mounts; t && *t; t++)
		if (tmpfs_one(cfg, root, *t, err, sizeof(err)) < 0) {
			fprintf(stderr, "pdvm %s: --tmpfs %s: %s\n", cmd, *t, err);
			return -1;
		}
	return 0;
}

int volumes_writable(const char *cmd, struct domain_config *cfg)
{
	char err[600];

	for (char **v = cfg->volumes; v && *v; v++) {
		char *src = NULL, *dst = NULL;
		bool ro = false;
		int r = volume_parse(*v, &src, &dst, &ro, err, sizeof(err));
		if (!r && !ro)
			r = config_set(cfg, "writable", dst, err, sizeof(err));
		free(src);
		free(dst);
		if (r) {
			fprintf(stderr, "pdvm %s: --volume %s: %s\n", cmd, *v, err);
			return -1;
		}
	}
	for (char **t = cfg->tmpfs_mounts; t && *t; t++) {
		char data[600], *dst = NULL;
		unsigned long flags;
		bool ro;
		int r = tmpfs_parse(*t, &dst, &flags, data, sizeof(data), &ro, err, sizeof(err));
		if (!r && !ro)
			r = config_set(cfg, "writable", dst, err, sizeof(err));
		free(dst);
		if (r) {
			fprintf(stderr, "pdvm %s: --tmpfs %s: %s\n", cmd, *t, err);
			return -1;
		}
	}
	return 0;
}
