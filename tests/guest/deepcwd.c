/* deepcwd.c: a working directory and directory fds deeper than PATH_MAX — relative creates, stats, opens, links, renames and removals there, getcwd's ENAMETOOLONG, walking back with "..", removing the tree — printed so that a native run and a domain's can be compared line by line. Usage: deepcwd WRITABLE-DIR [GO]: with GO it says "ready" once deep and waits for the file GO to exist (a snapshot, which must be refused, is tried meanwhile). */
#include "guest.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define LEVELS 50               /* 50 * 101 bytes: past PATH_MAX from any start */

static char name[101];

static long fails_of(long r, long *fails)
{
	if (r < 0)
		(*fails)++;
	return r;
}

int main(int argc, char **argv)
{
	char buf[PATH_MAX], up[64 * 3 + 1] = "";
	struct stat st, st2;
	long fails = 0;
	int fd, dfd;

	if (argc < 2 || chdir(argv[1]))
		return 2;
	umask(022);
	memset(name, 'a', 100);
	show("mkdir top", mkdir("deep", 0755));
	show("chdir top", chdir("deep"));
	for (int i = 0; i < LEVELS; i++) {
		fails_of(mkdir(name, 0755), &fails);
		fails_of(chdir(name), &fails);
	}
	show("mkdir and chdir down, failures", fails);
	if (argc > 2) {
		printf("ready\n");
		fflush(stdout);
		while (access(argv[2], F_OK))
			usleep(20000);
	}
	show("getcwd deep", syscall(SYS_getcwd, buf, sizeof(buf)));
	show("getcwd deep, small buffer", syscall(SYS_getcwd, buf, 10));
	show("readlink /proc/self/cwd deep", readlink("/proc/self/cwd", buf, sizeof(buf)));

	fd = open("f", O_CREAT | O_WRONLY | O_TRUNC, 0666);
	show("create f", fd >= 0);
	show("write f", write(fd, "hello", 5));
	close(fd);
	show("stat f size", stat("f", &st) ? -1 : st.st_size);
	show("f mode 0644", stat("f", &st) ? -1 : (st.st_mode & 0777) == 0644);
	fd = open("f", O_RDONLY);
	memset(buf, 0, 8);
	show("read f", read(fd, buf, 8));
	show("read f is hello", !strcmp(buf, "hello"));
	close(fd);
	show("create f again, O_EXCL", open("f", O_CREAT | O_EXCL | O_WRONLY, 0600));
	show("open missing", open("missing", O_RDONLY));
	show("open missing/x", open("missing/x", O_RDONLY));
	show("open f/x", open("f/x", O_RDONLY));
	show("open f as a directory", open("f", O_RDONLY | O_DIRECTORY));
	show("open . for writing", open(".", O_WRONLY));
	show("access f W_OK", access("f", W_OK));
	show("symlink lnk -> f", symlink("f", "lnk"));
	show("stat lnk follows", stat("lnk", &st) ? -1 : st.st_size);
	show("lstat lnk is a link", lstat("lnk", &st) ? -1 : S_ISLNK(st.st_mode));
	memset(buf, 0, 8);
	show("readlink lnk", readlink("lnk", buf, sizeof(buf)));
	show("readlink lnk is f", !strcmp(buf, "f"));
	show("open lnk O_NOFOLLOW", open("lnk", O_RDONLY | O_NOFOLLOW));
	show("symlink rootlnk -> /", symlink("/", "rootlnk"));
	show("rootlnk is /", stat("rootlnk", &st) || stat("/", &st2) ? -1 :
	     st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
	show("rootlnk/. is /", stat("rootlnk/.", &st) ? -1 : st.st_ino == st2.st_ino);
	show("symlink uplnk -> ..", symlink("..", "uplnk"));
	show("uplnk/<name> is here", stat("uplnk/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
					  &st) || stat(".", &st2) ? -1 : st.st_ino == st2.st_ino);
	show("link f g", link("f", "g"));
	show("g nlink", stat("g", &st) ? -1 : (long)st.st_nlink);
	show("rename g h", rename("g", "h"));
	show("unlink h", unlink("h"));
	show("mkdir sub", mkdir("sub", 0700));
	show("mkdir sub again", mkdir("sub", 0700));
	show("rmdir sub", rmdir("sub"));
	show("rmdir .", rmdir("."));
	show("rmdir ..", rmdir(".."));
	show("mkfifo p", mkfifo("p", 0600));
	show("unlink p", unlink("p"));
	show("chmod f 0600", chmod("f", 0600));
	show("f mode 0600", stat("f", &st) ? -1 : (st.st_mode & 0777) == 0600);

	/* A directory fd as deep, used after the working directory moved away. */
	dfd = open(".", O_RDONLY | O_DIRECTORY);
	show("open . deep", dfd >= 0);
	show("chdir ..", chdir(".."));
	show("fstatat dfd f", fstatat(dfd, "f", &st, 0) ? -1 : st.st_size);
	fd = openat(dfd, "x", O_CREAT | O_RDWR, 0644);
	show("openat dfd x create", fd >= 0);
	close(fd);
	show("mkdirat dfd d", mkdirat(dfd, "d", 0755));
	show("renameat dfd x -> dfd d/x", renameat(dfd, "x", dfd, "d/x"));
	show("unlinkat dfd d/x", unlinkat(dfd, "d/x", 0));
	show("unlinkat dfd d dir", unlinkat(dfd, "d", AT_REMOVEDIR));
	show("openat dfd ..", (fd = openat(dfd, "..", O_RDONLY | O_DIRECTORY)) >= 0);
	show("dfd/.. is the cwd", fstat(fd, &st) || stat(".", &st2) ? -1 : st.st_ino == st2.st_ino);
	close(fd);
	show("fchdir dfd", fchdir(dfd));
	show("back at f", stat("f", &st) ? -1 : st.st_size);

	/* Up ten levels and down again with one relative path each. */
	for (int i = 0; i < 10; i++)
		strcat(up, "../");
	show("chdir ../ x10", chdir(up));
	show("f is not here", stat("f", &st));
	char *down = malloc(10 * 101 + 1);
	down[0] = '\0';
	for (int i = 0; i < 10; i++) {
		strcat(down, name);
		strcat(down, "/");
	}
	show("stat down x10 f", stat(strcat(down, "f"), &st) ? -1 : st.st_size);
	down[strlen(down) - 1] = '\0';
	show("chdir down x10", chdir(down));
	show("f is here", stat("f", &st) ? -1 : st.st_size);

	/* Remove the leaves, then walk back removing each level. */
	show("unlink f", unlink("f"));
	show("unlink lnk", unlink("lnk"));
	show("unlink rootlnk", unlink("rootlnk"));
	show("unlink uplnk", unlink("uplnk"));
	fails = 0;
	for (int i = 0; i < LEVELS; i++) {
		fails_of(chdir(".."), &fails);
		fails_of(rmdir(name), &fails);
	}
	show("walk up and remove, failures", fails);
	close(dfd);
	show("chdir .. to the start", chdir(".."));
	show("getcwd back", syscall(SYS_getcwd, buf, sizeof(buf)) > 0);
	show("getcwd is the start", !strcmp(buf, argv[1]));
	memset(buf, 0, sizeof(buf));
	show("readlink /proc/self/cwd is the start", readlink("/proc/self/cwd", buf, sizeof(buf)) > 0 &&
	     !strcmp(buf, argv[1]));
	show("stat /proc/self/cwd/deep is a directory", stat("/proc/self/cwd/deep", &st) ? -1 : S_ISDIR(st.st_mode));
	show("rmdir top", rmdir("deep"));
	return 0;
}
