/* vmfile.c: the records that name file-backed mappings (guest path, device, inode) for /proc/PID/maps and images. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "vmfile.h"

static const char deleted[] = " (deleted)";

struct vmfile *vmfile_new(const char *path, uint64_t dev, uint64_t ino, bool gone)
{
	size_t n = strlen(path);
	struct vmfile *v = malloc(sizeof(*v) + n + 1);
	if (!v)
		return NULL;
	atomic_init(&v->refs, 1);
	atomic_init(&v->gone, gone);
	v->dev = dev;
	v->ino = ino;
	memcpy(v->path, path, n + 1);
	return v;
}

struct vmfile *vmfile_of_fd(struct files *f, int hostfd, const char *fallback)
{
	char host[PATH_MAX], guest[PATH_MAX];
	struct stat st;
	if (fstat(hostfd, &st) < 0)
		return NULL;
	const char *path = fallback && *fallback ? fallback : "";
	bool gone = st.st_nlink == 0;
	if (host_fd_path(hostfd, host, sizeof(host)) == 0) {
		/* The kernel says " (deleted)" after the name of an unlinked
		 * file; a memfd's name always has it. */
		size_t n = strlen(host), k = sizeof(deleted) - 1;
		if (n > k && !strcmp(host + n - k, deleted)) {
			host[n - k] = '\0';
			gone = true;
		}
		if (!strncmp(host, "/memfd:", 7)) {
			path = host;
			gone = true;
		} else if (f && host_to_guest(f, host, guest, sizeof(guest)) == 0) {
			path = guest;
		}
	}
	return vmfile_new(path, (uint64_t)st.st_dev, (uint64_t)st.st_ino, gone);
}

struct vmfile *vmfile_get(struct vmfile *v)
{
	if (v)
		atomic_fetch_add(&v->refs, 1);
	return v;
}

void vmfile_put(struct vmfile *v)
{
	if (v && atomic_fetch_sub(&v->refs, 1) == 1)
		free(v);
}

void vmfile_rebind(struct vmfile *v, struct files *f)
{
	struct stat st;
	int fd = v->path[0] == '/' ? path_open_root(f, v->path, O_PATH | O_NOFOLLOW, 0) : -ENOENT;
	if (fd >= 0 && fstat(fd, &st) == 0) {
		v->dev = (uint64_t)st.st_dev;
		v->ino = (uint64_t)st.st_ino;
	} else if (fd == -ENOENT || fd == -ENOTDIR) {
		atomic_store(&v->gone, true);
	}
	if (fd >= 0)
		close(fd);
}

bool vmfile_deleted(struct vmfile *v, struct files *f)
{
	if (atomic_load(&v->gone))
		return true;
	if (!f || v->path[0] != '/')
		return false;
	/* The path is canonical (no symlink in it): the file it names now,
	 * looked up inside the root as any guest lookup is. */
	int fd = path_open_root(f, v->path, O_PATH | O_NOFOLLOW, 0);
	struct stat st;
	if (fd < 0) {
		/* Only a missing name means deleted; a lookup refused for
		 * another reason (a directory's permissions changed) says
		 * nothing. */
		if (fd != -ENOENT && fd != -ENOTDIR)
			return false;
	} else {
		bool same = fstat(fd, &st) == 0 && (uint64_t)st.st_dev == v->dev && (uint64_t)st.st_ino == v->ino;
		close(fd);
		if (same)
			return false;
	}
	atomic_store(&v->gone, true);
	return true;
}
