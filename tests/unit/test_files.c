/* test_files.c: the file layer's confinement and write policy, checked on a
 * scratch tree with escaping symlinks, plus the fd table and program lookup. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/config.h"
#include "vmm/domain.h"
#include "vmm/files.h"
#include "check.h"

static char top[64], rootdir[128];
static struct domain dom;

static void mkfile(const char *rel, const char *content, mode_t mode)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, mode);
	if (fd < 0 || write(fd, content, strlen(content)) < 0) {
		perror(p);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
}

static void mk(const char *kind, const char *rel, const char *target)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if ((kind[0] == 'd' ? mkdir(p, 0755) : symlink(target, p)) < 0) {
		perror(p);
		exit(1);
	}
}

static bool host_exists(const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return lstat(p, &st) == 0;
}

/* Opens a guest path and returns its first bytes ("" on error: *err set). */
static const char *content(const char *path, int flags, int *err)
{
	static char buf[128];
	int fd = path_open(&dom, AT_FDCWD, path, flags, 0644, NULL);
	ssize_t n;

	buf[0] = '\0';
	*err = fd < 0 ? -fd : 0;
	if (fd < 0)
		return buf;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static int open_err(const char *path, int flags)
{
	int fd = path_open(&dom, AT_FDCWD, path, flags, 0644, NULL);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return -fd;
}

static void build_tree(void)
{
	strcpy(top, "/tmp/pdvm-test-files-XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(rootdir, sizeof(rootdir), "%s/root", top);
	mkfile("secret", "HOST-SECRET", 0644);         /* outside the root */
	mk("d", "root", NULL);
	mk("d", "root/etc", NULL);
	mkfile("root/etc/passwd", "ROOT-PASSWD", 0644);
	mk("d", "root/ro", NULL);
	mkfile("root/ro/file", "RO-FILE", 0644);
	mk("d", "root/w", NULL);
	mk("d", "root/w/sub", NULL);
	mkfile("root/wfile", "WFILE", 0644);
	mkfile("root/wfile2", "WFILE2", 0644);
	mk("d", "root/bin", NULL);
	mkfile("root/bin/prog", "#!", 0755);
	mkfile("root/bin/noexec", "#!", 0644);
	mk("l", "root/link_up", "../../etc");           /* relative escape */
	mk("l", "root/link_abs", "/etc");               /* absolute: the root's /etc */
	mk("l", "root/link_passwd", "/etc/passwd");
	mk("l", "root/link_out", "../secret");          /* would be the host file */
	mk("l", "root/link_out2", "../../../../../../../../secret");
	mk("l", "root/w/esc_abs", "/etc/passwd");
	mk("l", "root/w/esc_rel", "../etc/passwd");
	mk("l", "root/w/esc_dangling", "/ro/newfile");
	mk("l", "root/w/esc_host", "../../secret");
	mk("l", "root/w/in_link", "sub/f");
	mk("l", "root/w/sub/up", "../file2");
	mk("l", "root/ro/to_w", "/w/target");
	mkfile("root/w/target", "TARGET", 0644);
}

static void test_init_errors(void)
{
	struct domain d2;
	char *wr[] = { "/does/not/exist", NULL };
	struct domain_spec c = { .root = rootdir, .cwd = "/", .writable = wr };
	char err[256];
	int r;

	memset(&d2, 0, sizeof(d2));
	r = files_init(&d2, &c, err, sizeof(err));
	CHECK(r < 0 && strstr(err, "/does/not/exist"), "missing writable path must fail (r=%d err=%s)", r, err);
	CHECK(proc_cur(&d2)->files == NULL, "failed init leaves no files");

	c.writable = NULL;
	c.cwd = "/nope";
	r = files_init(&d2, &c, err, sizeof(err));
	CHECK(r < 0 && strstr(err, "cwd"), "missing cwd must fail (%s)", err);
	c.cwd = "/";
	c.root = "/nonexistent-root-for-pdvm";
	r = files_init(&d2, &c, err, sizeof(err));
	CHECK(r < 0 && strstr(err, "root"), "missing root must fail (%s)", err);
	proc_free(&d2, d2.init);
}

static void test_confinement(void)
{
	int e;

	CHECK(!strcmp(content("/etc/passwd", O_RDONLY, &e), "ROOT-PASSWD"), "plain open inside root (e=%d)", e);
	CHECK(!strcmp(content("/../../etc/passwd", O_RDONLY, &e), "ROOT-PASSWD"), "/../.. stays in root");
	CHECK(!strcmp(content("../../../../etc/passwd", O_RDONLY, &e), "ROOT-PASSWD"), "relative .. chain stays in root");
	content("/../../secret", O_RDONLY, &e);
	CHECK(e == ENOENT, "/../../secret must be ENOENT, got %d", e);
	CHECK(!strcmp(content("/link_up/passwd", O_RDONLY, &e), "ROOT-PASSWD"), "../../etc symlink resolves in root");
	CHECK(!strcmp(content("/link_abs/passwd", O_RDONLY, &e), "ROOT-PASSWD"), "/etc symlink resolves in root");
	CHECK(!strcmp(content("/link_passwd", O_RDONLY, &e), "ROOT-PASSWD"), "/etc/passwd symlink -> ROOT/etc/passwd");
	content("/link_out", O_RDONLY, &e);
	CHECK(e == ENOENT, "relative symlink out of the root must be ENOENT, got %d", e);
	content("/link_out2", O_RDONLY, &e);
	CHECK(e == ENOENT, "long .. symlink out of the root must be ENOENT, got %d", e);
	content("/w/esc_host", O_RDONLY, &e);
	CHECK(e == ENOENT, "w/esc_host must be ENOENT, got %d", e);
	content("/proc/self/root/etc/passwd", O_RDONLY, &e);
	CHECK(e != 0, "magic link /proc/self/root must not resolve");

	char g[PATH_MAX * 2];
	CHECK(path_compose(&dom, AT_FDCWD, "a/b", g, sizeof(g)) == 0 && !strcmp(g, "/a/b"), "compose at / (%s)", g);
	CHECK(path_magic_fd("/dev/stdout") == 1 && path_magic_fd("/proc/self/fd/17") == 17 &&
	      path_magic_fd("/dev/fd/x") == -1 && path_magic_fd("/etc") == -1, "magic fd paths");
}

static void test_write_policy(void)
{
	int e, fd;
	struct stat st;
	char p[512];

	CHECK(open_err("/etc/passwd", O_WRONLY) == EROFS, "write outside writable -> EROFS");
	CHECK(open_err("/etc/passwd", O_RDONLY | O_TRUNC) == EROFS, "O_TRUNC outside writable -> EROFS");
	CHECK(open_err("/etc/passwd", O_RDONLY | O_CREAT) == 0, "O_CREAT of an existing ro file reads it");
	CHECK(open_err("/ro/new", O_WRONLY | O_CREAT) == EROFS, "create in ro dir -> EROFS");
	CHECK(!host_exists("root/ro/new"), "nothing created in ro");
	CHECK(open_err("/ro/file", O_CREAT | O_EXCL | O_WRONLY) == EEXIST, "O_EXCL existing ro -> EEXIST");
	CHECK(open_err("/ro", O_WRONLY) == EISDIR, "ro dir for writing -> EISDIR");
	CHECK(open_err("/ro", O_RDONLY | O_TMPFILE) == EROFS || open_err("/ro", O_RDWR | O_TMPFILE) == EROFS,
	      "O_TMPFILE in ro -> EROFS");

	/* inside the writable tree */
	fd = path_open(&dom, AT_FDCWD, "/w/new", O_WRONLY | O_CREAT | O_TRUNC, 0666, NULL);
	CHECK(fd >= 0, "create in writable dir (%d)", fd);
	if (fd >= 0) {
		CHECK(write(fd, "NEW", 3) == 3, "write new file");
		CHECK(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0644, "umask 022 applied (%o)", st.st_mode & 0777);
		close(fd);
	}
	CHECK(host_exists("root/w/new"), "w/new created on the host");
	CHECK(open_err("/w/new", O_RDWR) == 0, "reopen w/new read-write");
	CHECK(open_err("/w/sub/../new", O_RDWR | O_APPEND) == 0, "w/sub/../new");
	CHECK(open_err("/w/new", O_CREAT | O_EXCL | O_WRONLY) == EEXIST, "O_EXCL on existing writable");
	CHECK(open_err("/w/../etc/passwd", O_WRONLY) == EROFS, "w/.. leads out -> EROFS");
	CHECK(open_err("/w/sub/../../etc/passwd", O_WRONLY | O_CREAT) == EROFS, "w/sub/../.. -> EROFS");
	CHECK(open_err("/w", O_RDWR | O_TMPFILE) == 0, "O_TMPFILE in writable");

	/* symlinks inside the writable tree */
	CHECK(open_err("/w/esc_abs", O_WRONLY) == EROFS, "abs symlink out of writable -> EROFS");
	CHECK(open_err("/w/esc_rel", O_WRONLY | O_TRUNC) == EROFS, "rel symlink out of writable -> EROFS");
	CHECK(!strcmp(content("/etc/passwd", O_RDONLY, &e), "ROOT-PASSWD"), "ROOT/etc/passwd untouched");
	CHECK(open_err("/w/esc_dangling", O_WRONLY | O_CREAT) == EROFS, "dangling symlink out -> EROFS");
	CHECK(!host_exists("root/ro/newfile"), "nothing created through the dangling symlink");
	CHECK(open_err("/w/esc_host", O_WRONLY | O_CREAT) == EROFS, "symlink towards the host -> EROFS");
	CHECK(!strcmp(content("/../secret", O_RDONLY, &e), "") && e == ENOENT, "host secret unreachable");
	CHECK(open_err("/w/in_link", O_WRONLY | O_CREAT) == 0, "in-tree symlink creates");
	CHECK(host_exists("root/w/sub/f"), "w/sub/f created through in_link");
	CHECK(open_err("/w/sub/up", O_WRONLY | O_CREAT) == 0, "in-tree ../ symlink creates");
	CHECK(host_exists("root/w/file2"), "w/file2 created through sub/up");
	CHECK(open_err("/w/in_link", O_WRONLY | O_NOFOLLOW) == ELOOP, "O_NOFOLLOW on symlink -> ELOOP");
	CHECK(open_err("/ro/to_w", O_WRONLY) == 0, "ro symlink into writable file may be written");

	/* a writable single file */
	CHECK(open_err("/wfile", O_WRONLY | O_TRUNC) == 0, "writable file entry");
	CHECK(open_err("/wfile2", O_WRONLY) == EROFS, "neighbour of a writable file -> EROFS");
	snprintf(p, sizeof(p), "%s/root/wfile", top);
	CHECK(stat(p, &st) == 0 && st.st_size == 0, "wfile truncated");

}

static void test_parent(void)
{
	struct parent p;

	CHECK(path_parent(&dom, AT_FDCWD, "/w/sub/", &p) == 0 && p.writable && !strcmp(p.name, "sub/") &&
	      !p.is_wroot, "parent of /w/sub/ (name %s w %d)", p.name, p.writable);
	parent_done(&p);
	CHECK(path_parent(&dom, AT_FDCWD, "/w", &p) == 0 && p.is_wroot && !p.writable, "/w is a writable root");
	parent_done(&p);
	CHECK(path_parent(&dom, AT_FDCWD, "/ro/x", &p) == 0 && !p.writable, "/ro/x not writable");
	parent_done(&p);
	CHECK(path_parent(&dom, AT_FDCWD, "/wfile", &p) == 0 && p.writable && p.wfile, "/wfile writable file");
	parent_done(&p);
	CHECK(path_parent(&dom, AT_FDCWD, "/", &p) == 0 && p.dot, "/ is dot");
	parent_done(&p);
	CHECK(path_parent(&dom, AT_FDCWD, "/w/..", &p) == 0 && p.dot, "/w/.. is dot");
	parent_done(&p);
	CHECK(path_parent(&dom, AT_FDCWD, "/link_up/x", &p) == 0 && !p.writable, "parent through a symlink");
	parent_done(&p);
	CHECK(path_parent(&dom, AT_FDCWD, "/nope/x", &p) == -ENOENT, "missing parent ENOENT");
	/* the parent check uses the kernel's path: a symlink into w counts as w */
	mk("l", "root/ro/wlink", "/w/sub");
	CHECK(path_parent(&dom, AT_FDCWD, "/ro/wlink/x", &p) == 0 && p.writable, "parent via symlink into w");
	parent_done(&p);
}

static void test_cwd(void)
{
	struct files *f = proc_cur(&dom)->files;
	char g[PATH_MAX * 2];
	int fd;

	fd = path_lookup(&dom, AT_FDCWD, "/w/sub", true, true);
	CHECK(fd >= 0, "lookup /w/sub");
	if (fd < 0)
		return;
	close(f->cwdfd);
	f->cwdfd = fd;
	CHECK(path_compose(&dom, AT_FDCWD, "x", g, sizeof(g)) == 0 && !strcmp(g, "/w/sub/x"), "compose in cwd (%s)", g);
	CHECK(path_compose(&dom, AT_FDCWD, "", g, sizeof(g)) == 0 && !strcmp(g, "/w/sub"), "cwd guest path (%s)", g);
	CHECK(open_err("../rel_new", O_CREAT | O_WRONLY) == 0 && host_exists("root/w/rel_new"), "relative create");
	CHECK(open_err("../../../../../secret", O_RDONLY) == ENOENT, "relative escape from cwd");
	CHECK(open_err("../../etc/passwd", O_WRONLY) == EROFS, "relative write out of w");
	fd = path_lookup(&dom, AT_FDCWD, "/", true, true);
	close(f->cwdfd);
	f->cwdfd = fd;
}

static void test_fd_table(void)
{
	struct ofd *o;
	int a, b, c, fd;

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	o = ofd_new(fd, O_RDONLY, OFD_FILE, "/dev/null");
	CHECK(o != NULL, "ofd_new");
	a = fd_install(&dom, o, 0, false);
	b = fd_install(&dom, ofd_get(o), 0, true);
	CHECK(a >= 0 && b == a + 1 && fd_find_free(&dom, 0) == b + 1, "lowest free fds (%d %d)", a, b);
	CHECK(fd_get_cloexec(&dom, b) == 1 && fd_get_cloexec(&dom, a) == 0, "cloexec bookkeeping");
	CHECK(fd_close(&dom, a) == 0 && fd_close(&dom, a) == -EBADF, "close twice -> EBADF");
	c = fd_install(&dom, ofd_get(o), 0, false);
	CHECK(c == a, "closed fd number reused (%d)", c);
	CHECK(fd_install_at(&dom, ofd_get(o), 100, false) == 100 && fd_peek(&dom, 100) == o, "install at 100");
	CHECK(atomic_load(&o->refs) == 3, "refcount 3 (%d)", atomic_load(&o->refs));
	files_exec_cloexec(&dom);
	CHECK(fd_peek(&dom, b) == NULL && fd_peek(&dom, c) == o, "exec closes cloexec only");
	proc_cur(&dom)->rlimits[RLIMIT_NOFILE].cur = 8;
	int n = 0;
	while (fd_install(&dom, ofd_get(o), 0, false) >= 0)
		n++;
	CHECK(fd_find_free(&dom, 0) == -EMFILE, "limit reached -> EMFILE");
	CHECK(fd_install_at(&dom, ofd_get(o), 9, false) == -EBADF, "install beyond limit -> EBADF");
	proc_cur(&dom)->rlimits[RLIMIT_NOFILE].cur = 0;
	for (int i = 0; i < 200; i++)
		if (fd_peek(&dom, i) == o)
			fd_close(&dom, i);
	(void)n;
}

static void test_exec(void)
{
	char *env[] = { "HOME=/", "PATH=/nope:/bin", NULL };
	char *res = NULL;
	int fd;

	fd = files_open_exec(&dom, "prog", env, &res);
	CHECK(fd >= 0 && res && !strcmp(res, "/bin/prog"), "exec search PATH (%d %s)", fd, res ? res : "-");
	if (fd >= 0)
		close(fd);
	free(res);
	CHECK(proc_cur(&dom)->files->exe && !strcmp(proc_cur(&dom)->files->exe, "/bin/prog"), "exe recorded");
	fd = files_open_exec(&dom, "noexec", env, &res);
	CHECK(fd == -EACCES, "no x bit -> EACCES (%d)", fd);
	fd = files_open_exec(&dom, "missing", env, &res);
	CHECK(fd == -ENOENT, "missing -> ENOENT (%d)", fd);
	fd = files_open_exec(&dom, "/etc", env, &res);
	CHECK(fd == -EACCES, "directory -> EACCES (%d)", fd);
	fd = files_open_exec(&dom, "/link_up/../bin/prog", NULL, &res);
	CHECK(fd >= 0, "path with / resolved in root (%d)", fd);
	if (fd >= 0) {
		close(fd);
		free(res);
	}
	fd = files_open_exec(&dom, "/../secret", NULL, &res);
	CHECK(fd == -ENOENT, "exec cannot escape (%d)", fd);
}

/* With root "/" and nothing writable, devices stay usable. */
static void test_host_root(void)
{
	struct domain d2;
	struct domain_spec c = { .root = "/", .cwd = "/" };
	char err[256];
	int fd;

	memset(&d2, 0, sizeof(d2));
	if (files_init(&d2, &c, err, sizeof(err)) < 0) {
		CHECK(0, "files_init root=/: %s", err);
		return;
	}
	fd = path_open(&d2, AT_FDCWD, "/dev/null", O_WRONLY, 0, NULL);
	CHECK(fd >= 0, "/dev/null writable on a read-only root (%d)", fd);
	if (fd >= 0)
		close(fd);
	fd = path_open(&d2, AT_FDCWD, top, O_WRONLY, 0, NULL);
	CHECK(fd == -EISDIR, "dir -> EISDIR (%d)", fd);
	char p[512];
	snprintf(p, sizeof(p), "%s/secret", top);
	fd = path_open(&d2, AT_FDCWD, p, O_WRONLY, 0, NULL);
	CHECK(fd == -EROFS, "host file read-only (%d)", fd);
	files_destroy(&d2);
	proc_free(&d2, d2.init);
}

int main(void)
{
	char *wr[] = { "/w", "wfile", NULL };
	struct domain_spec c = { .root = NULL, .cwd = "/", .writable = wr };
	char err[256];
	char cmd[300];
	int r;

	build_tree();
	c.root = rootdir;
	umask(022);
	test_init_errors();
	r = files_init(&dom, &c, err, sizeof(err));
	CHECK(r == 0, "files_init: %s", err);
	if (r == 0) {
		test_confinement();
		test_write_policy();
		test_parent();
		test_cwd();
		test_fd_table();
		test_exec();
		files_destroy(&dom);
	}
	test_host_root();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		printf("warning: could not remove %s\n", top);
	if (failures) {
		printf("test_files: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_files: ok (%d checks)\n", checks);
	return 0;
}
