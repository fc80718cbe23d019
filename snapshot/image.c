/* image.c: writes and opens snapshot image directories — manifest.json, section files, atomic rename. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "image.h"

#define MANIFEST_MAX (1 << 20)

uint32_t img_crc(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		uInt c = n > (1u << 30) ? (1u << 30) : (uInt)n;
		crc = (uint32_t)crc32(crc, b, c);
		b += c;
		n -= c;
	}
	return crc;
}

void img_new_id(char id[IMG_ID_LEN + 1])
{
	uint8_t r[IMG_ID_LEN / 2];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(r, &ts, sizeof(r) < sizeof(ts) ? sizeof(r) : sizeof(ts));
		r[0] ^= (uint8_t)getpid();
	}
	for (size_t i = 0; i < sizeof(r); i++)
		sprintf(id + 2 * i, "%02x", r[i]);
}

int img_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Opens a directory without following a symlink at its last component: a
 * path swapped for a link after it was checked leads nowhere. */
static DIR *opendir_nofollow(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dp = fd < 0 ? NULL : fdopendir(fd);
	if (fd >= 0 && !dp)
		close(fd);
	return dp;
}

/* rm -r of a directory holding only files (an image); if something else was swapped
 * in at `path`, only that entry goes, never what it points to. */
void img_remove(const char *path)
{
	DIR *dp = opendir_nofollow(path);
	if (!dp) {
		if (errno == ELOOP || errno == ENOTDIR)
			unlink(path);
		return;
	}
	struct dirent *e;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(dp), e->d_name, 0);
	closedir(dp);
	rmdir(path);
}

static int parent_of(const char *path, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s", path) >= len)
		return -ENAMETOOLONG;
	char *s = strrchr(out, '/');
	if (!s)
		snprintf(out, len, ".");
	else if (s == out)
		out[1] = 0;
	else
		*s = 0;
	return 0;
}

int img_begin(struct img_writer *w, const char *dir, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->dirfd = -1;
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(w->dir) - 32) {
		snprintf(err, errlen, "bad image directory name");
		return -EINVAL;
	}
	memcpy(w->dir, dir, n);
	w->dir[n] = 0;
	img_new_id(w->id);
	if ((size_t)snprintf(w->tmp, sizeof(w->tmp), "%s.tmp-%.8s", w->dir, w->id) >= sizeof(w->tmp)) {
		snprintf(err, errlen, "image directory name too long");
		return -ENAMETOOLONG;
	}
	if (mkdir(w->tmp, 0700) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", w->tmp, strerror(e));
		return -e;
	}
	w->dirfd = open(w->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", w->tmp, strerror(e));
		rmdir(w->tmp);
		return -e;
	}
	return 0;
}

int img_create(struct img_writer *w, const char *name, char *err, size_t errlen)
{
	char file[64];
	snprintf(file, sizeof(file), "%s.bin", name);
	int fd = openat(w->dirfd, file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s/%s: %s", w->tmp, file, strerror(e));
		return -e;
	}
	return fd;
}

int img_put_done(struct img_writer *w, const char *name, uint32_t version, bool required, int fd,
		 uint64_t size, uint32_t crc, char *err, size_t errlen)
{
	int r = !w->nosync && fsync(fd) < 0 ? -errno : 0;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r) {
		snprintf(err, errlen, "%s/%s.bin: %s", w->tmp, name, strerror(-r));
		return r;
	}
	if (w->nsec >= IMG_MAX_SECTIONS)
		return -ENOSPC;
	struct img_section *s = &w->sec[w->nsec++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->file, sizeof(s->file), "%s.bin", name);
	s->size = size;
	s->crc = crc;
	s->version = version;
	s->required = required;
	return 0;
}

int img_put(struct img_writer *w, const char *name, uint32_t version, bool required, const void *data,
	    size_t len, char *err, size_t errlen)
{
	int fd = img_create(w, name, err, errlen);
	if (fd < 0)
		return fd;
	int r = img_write_all(fd, data, len);
	if (r) {
		close(fd);
		snprintf(err, errlen, "%s/%s.bin: %s", w->tmp, name, strerror(-r));
		return r;
	}
	return img_put_done(w, name, version, required, fd, len, img_crc(0, data, len), err, errlen);
}

static json_object *manifest_json(const struct img_writer *w, const struct img_meta *m)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_string(IMG_FORMAT));
	json_object_object_add(o, "version", json_object_new_int(IMG_VERSION));
	json_object_object_add(o, "id", json_object_new_string(w->id));
	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "created_ns", json_object_new_int64((int64_t)m->created_ns));
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	json_object_object_add(o, "host", json_object_new_string(host));
	json_object_object_add(o, "arch", json_object_new_string(IMG_ARCH));
	if (m->xcr0)
		json_object_object_add(o, "xcr0", json_object_new_int64((int64_t)m->xcr0));
	if (m->parent_id[0]) {
		json_object *p = json_object_new_object();
		json_object_object_add(p, "id", json_object_new_string(m->parent_id));
		json_object_object_add(p, "dir", json_object_new_string(m->parent_dir));
		json_object_object_add(o, "parent", p);
	}
	json_object *a = json_object_new_array();
	for (int i = 0; i < w->nsec; i++) {
		json_object *s = json_object_new_object();
		json_object_object_add(s, "name", json_object_new_string(w->sec[i].name));
		json_object_object_add(s, "file", json_object_new_string(w->sec[i].file));
		json_object_object_add(s, "size", json_object_new_int64((int64_t)w->sec[i].size));
		json_object_object_add(s, "crc32", json_object_new_int64(w->sec[i].crc));
		json_object_object_add(s, "version", json_object_new_int64(w->sec[i].version));
		json_object_object_add(s, "required", json_object_new_boolean(w->sec[i].required));
		json_object_array_add(a, s);
	}
	json_object_object_add(o, "sections", a);
	return o;
}

/* Whether `dir` may be replaced: an earlier image, or an empty directory. */
static int replaceable(const char *dir)
{
	DIR *dp = opendir_nofollow(dir);
	if (!dp)
		return -errno;
	bool manifest = false, other = false;
	struct dirent *e;
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!strcmp(e->d_name, IMG_MANIFEST))
			manifest = true;
		else if (!strstr(e->d_name, ".bin"))
			other = true;
	}
	closedir(dp);
	return manifest || !other ? 0 : -ENOTEMPTY;
}

int img_commit(struct img_writer *w, const struct img_meta *m, char *err, size_t errlen)
{
	json_object *o = manifest_json(w, m);
	const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	int r = img_put(w, "manifest", 0, false, txt, strlen(txt), err, errlen);
	json_object_put(o);
	if (r)
		return r;
	w->nsec--; /* the manifest is not a section of itself */
	if (renameat(w->dirfd, "manifest.bin", w->dirfd, IMG_MANIFEST) < 0 || (!w->nosync && fsync(w->dirfd) < 0)) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", w->tmp, strerror(-r));
		return r;
	}
	struct stat st;
	if (lstat(w->dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a directory", w->dir);
			return -ENOTDIR;
		}
		if ((r = replaceable(w->dir))) {
			snprintf(err, errlen, "%s: %s", w->dir,
				 r == -ENOTEMPTY ? "exists, holds other files and is not a pdvm image"
						 : strerror(-r));
			return r;
		}
		/* Swap, so at every instant DIR is a complete image. */
		if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->dir, RENAME_EXCHANGE) < 0) {
			r = -errno;
			snprintf(err, errlen, "rename %s to %s: %s", w->tmp, w->dir, strerror(-r));
			return r;
		}
		img_remove(w->tmp);
	} else if (rename(w->tmp, w->dir) < 0) {
		r = -errno;
		snprintf(err, errlen, "rename %s to %s: %s", w->tmp, w->dir, strerror(-r));
		return r;
	}
	char parent[PATH_MAX];
	if (!w->nosync && parent_of(w->dir, parent, sizeof(parent)) == 0) {
		int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd >= 0) {
			fsync(pfd);
			close(pfd);
		}
	}
	close(w->dirfd);
	w->dirfd = -1;
	return 0;
}

void img_abort(struct img_writer *w)
{
	if (w->dirfd >= 0) {
		close(w->dirfd);
		w->dirfd = -1;
	}
	if (w->tmp[0])
		img_remove(w->tmp);
}

/* ---- reading ---- */

static int bad(char *err, size_t errlen, const char *dir, const char *why)
{
	snprintf(err, errlen, "%s: not a valid pdvm image: %s", dir, why);
	return -1;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jint(json_object *o, const char *key, int64_t *out)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	*out = json_object_get_int64(v);
	return errno == 0;
}

static bool valid_id(const char *s)
{
	if (!s || strlen(s) != IMG_ID_LEN)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static bool valid_section_name(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= max)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
			return false;
	return s[0] != '.';
}

static int parse_manifest(struct img_reader *r, const char *txt, size_t len, char *err, size_t errlen)
{
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return bad(err, errlen, r->dir, "out of memory");
	json_object *o = json_tokener_parse_ex(tok, txt, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	json_tokener_free(tok);
	int ret = -1;
	int64_t v;
	if (!o || je != json_tokener_success || !json_object_is_type(o, json_type_object)) {
		bad(err, errlen, r->dir, "manifest.json is not a JSON object");
		goto out;
	}
	const char *fmt = jstr(o, "format");
	if (!fmt || strcmp(fmt, IMG_FORMAT)) {
		bad(err, errlen, r->dir, "manifest.json: format is not \"" IMG_FORMAT "\"");
		goto out;
	}
	if (!jint(o, "version", &v) || v < IMG_MIN_VERSION || v > IMG_VERSION) {
		snprintf(err, errlen, "%s: image format version %lld is not supported (this pdvm reads versions "
			 "%d to %d)", r->dir, (long long)v, IMG_MIN_VERSION, IMG_VERSION);
		goto out;
	}
	r->meta.format = (int)v;
	/* Written by every pdvm, checked since format 2's reader: the
	 * registers, page tables and vDSO of an image are x86-64's. */
	const char *arch = jstr(o, "arch");
	if (!arch || strcmp(arch, IMG_ARCH)) {
		snprintf(err, errlen, "%s: the image is of architecture %s; this pdvm restores " IMG_ARCH " images",
			 r->dir, arch ? arch : "(none)");
		goto out;
	}
	const char *id = jstr(o, "id"), *name = jstr(o, "name");
	if (!valid_id(id) || !name || strlen(name) >= sizeof(r->meta.name) || !jint(o, "created_ns", &v)) {
		bad(err, errlen, r->dir, "manifest.json: bad id, name or created_ns");
		goto out;
	}
	snprintf(r->meta.id, sizeof(r->meta.id), "%s", id);
	snprintf(r->meta.name, sizeof(r->meta.name), "%s", name);
	r->meta.created_ns = (uint64_t)v;
	json_object *p, *a;
	/* Optional (written since format 2 by pdvm 0.x of 2026-12): XCR0 always
	 * has x87 and SSE, and is never negative. */
	if (json_object_object_get_ex(o, "xcr0", &p)) {
		if (!jint(o, "xcr0", &v) || v <= 0 || (v & 3) != 3) {
			bad(err, errlen, r->dir, "manifest.json: bad xcr0");
			goto out;
		}
		r->meta.xcr0 = (uint64_t)v;
	}
	if (json_object_object_get_ex(o, "parent", &p)) {
		const char *pid = jstr(p, "id"), *pdir = jstr(p, "dir");
		if (!json_object_is_type(p, json_type_object) || !valid_id(pid) || !pdir ||
		    !*pdir || strlen(pdir) >= sizeof(r->meta.parent_dir)) {
			bad(err, errlen, r->dir, "manifest.json: bad parent");
			goto out;
		}
		snprintf(r->meta.parent_id, sizeof(r->meta.parent_id), "%s", pid);
		snprintf(r->meta.parent_dir, sizeof(r->meta.parent_dir), "%s", pdir);
	}
	if (!json_object_object_get_ex(o, "sections", &a) || !json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) > IMG_MAX_SECTIONS) {
		bad(err, errlen, r->dir, "manifest.json: bad sections list");
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *s = json_object_array_get_idx(a, i);
		struct img_section *sec = &r->sec[r->nsec];
		const char *sn = jstr(s, "name"), *sf = jstr(s, "file");
		int64_t size, crc;
		if (!valid_section_name(sn, sizeof(sec->name)) || !valid_section_name(sf, sizeof(sec->file)) ||
		    !jint(s, "size", &size) || size < 0 || !jint(s, "crc32", &crc) || crc < 0 ||
		    crc > 0xffffffffLL) {
			bad(err, errlen, r->dir, "manifest.json: bad section entry");
			goto out;
		}
		for (int j = 0; j < r->nsec; j++)
			if (!strcmp(r->sec[j].name, sn)) {
				bad(err, errlen, r->dir, "manifest.json: a section appears twice");
				goto out;
			}
		int64_t ver = 0;
		json_object *req = NULL;
		if (r->meta.format >= 2 &&
		    (!jint(s, "version", &ver) || ver < 1 || ver > 0xffffffffLL ||
		     !json_object_object_get_ex(s, "required", &req) || !json_object_is_type(req, json_type_boolean))) {
			bad(err, errlen, r->dir, "manifest.json: a section entry lacks its version or required flag");
			goto out;
		}
		sec->version = (uint32_t)ver;
		sec->required = req && json_object_get_boolean(req);
		snprintf(sec->name, sizeof(sec->name), "%s", sn);
		snprintf(sec->file, sizeof(sec->file), "%s", sf);
		sec->size = (uint64_t)size;
		sec->crc = (uint32_t)crc;
		r->nsec++;
	}
	ret = 0;
out:
	json_object_put(o);
	return ret;
}

int img_open(struct img_reader *r, const char *dir, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	int fd = openat(r->dirfd, IMG_MANIFEST, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "%s: no %s (%s): not a pdvm image", dir, IMG_MANIFEST, strerror(errno));
		goto fail;
	}
	char *txt = malloc(MANIFEST_MAX);
	ssize_t n = txt ? read(fd, txt, MANIFEST_MAX) : -1;
	close(fd);
	if (n < 0 || n >= MANIFEST_MAX) {
		free(txt);
		bad(err, errlen, dir, "manifest.json unreadable or too big");
		goto fail;
	}
	int pr = parse_manifest(r, txt, (size_t)n, err, errlen);
	free(txt);
	if (pr)
		goto fail;
	return 0;
fail:
	close(r->dirfd);
	r->dirfd = -1;
	return -1;
}

void img_close(struct img_reader *r)
{
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
}

static struct img_section *find(struct img_reader *r, const char *name)
{
	for (int i = 0; i < r->nsec; i++)
		if (!strcmp(r->sec[i].name, name))
			return &r->sec[i];
	return NULL;
}

int img_open_section(struct img_reader *r, const char *name, uint64_t *size, char *err, size_t errlen)
{
	struct img_section *s = find(r, name);
	if (!s) {
		snprintf(err, errlen, "%s: not a valid pdvm image: no %s section", r->dir, name);
		return -1;
	}
	int fd = openat(r->dirfd, s->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != s->size) {
		if (fd < 0 || !S_ISREG(st.st_mode))
			snprintf(err, errlen, "%s: not a valid pdvm image: %s: %s", r->dir, s->file,
				 fd < 0 ? strerror(errno) : "not a regular file");
		else
			snprintf(err, errlen, "%s: not a valid pdvm image: %s holds %llu bytes, the manifest says %llu",
				 r->dir, s->file, (unsigned long long)st.st_size, (unsigned long long)s->size);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*size = s->size;
	return fd;
}

int img_get(struct img_reader *r, const char *name, size_t max, uint8_t **data, size_t *len,
	    char *err, size_t errlen)
{
	uint64_t size;
	int fd = img_open_section(r, name, &size, err, errlen);
	if (fd < 0)
		return -1;
	if (size > max) {
		close(fd);
		snprintf(err, errlen, "%s: not a valid pdvm image: section %s too big", r->dir, name);
		return -1;
	}
	uint8_t *p = malloc(size ? size : 1);
	size_t got = 0;
	while (p && got < size) {
		ssize_t n = read(fd, p + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!p || got != size) {
		free(p);
		snprintf(err, errlen, "%s: cannot read section %s", r->dir, name);
		return -1;
	}
	if (img_crc(0, p, size) != find(r, name)->crc) {
		free(p);
		snprintf(err, errlen, "%s: not a valid pdvm image: section %s fails its checksum", r->dir, name);
		return -1;
	}
	*data = p;
	*len = size;
	return 0;
}
