/* xattr.c: the extended-attribute calls (get, list, set, remove; by path, without following, by fd) as an unprivileged program sees them, printed so that a native run and a domain's can be compared line by line. Usage: xattr WRITABLE-DIR */
#include "guest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

/* A pointer to nothing, hidden from the compiler's bounds checks. */
static void *volatile bad_ptr = (void *)8;
#define BAD bad_ptr

/* A list of names, NULs shown as commas, sorted out of the file system's order. */
static void show_list(const char *what, const char *b, long n)
{
	char names[16][64];
	int k = 0;

	if (n < 0) {
		show(what, n);
		return;
	}
	for (long i = 0; i < n && k < 16; i += (long)strlen(b + i) + 1)
		snprintf(names[k++], sizeof(names[0]), "%s", b + i);
	qsort(names, (size_t)k, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	printf("%s: %ld [", what, n);
	for (int i = 0; i < k; i++)
		printf("%s%s", i ? "," : "", names[i]);
	printf("]\n");
}

int main(int argc, char **argv)
{
	char b[256], big[300];
	static char huge[65537];
	long n;

	if (argc != 2 || chdir(argv[1]))
		return 2;
	close(open("f", O_CREAT | O_RDWR, 0644));
	mkdir("d", 0755);
	symlink("f", "l");

	show("setxattr", setxattr("f", "user.a", "hello", 5, 0));
	show("getxattr size 0", getxattr("f", "user.a", NULL, 0));
	memset(b, 0, sizeof(b));
	n = getxattr("f", "user.a", b, sizeof(b));
	show("getxattr", n);
	printf("value: %s\n", b);
	show("getxattr too small", getxattr("f", "user.a", b, 2));
	show("getxattr size over the maximum", syscall(SYS_getxattr, "f", "user.a", b, 100000) < 0 ? -1 : 5);
	show("getxattr missing", getxattr("f", "user.nope", b, sizeof(b)));
	show("getxattr empty name", getxattr("f", "", b, sizeof(b)));
	memset(big, 'x', sizeof(big));
	memcpy(big, "user.", 5);
	big[256] = '\0';
	show("getxattr 256-byte name", getxattr("f", big, b, sizeof(b)));
	show("getxattr bad name pointer", getxattr("f", BAD, b, sizeof(b)));
	show("getxattr bad value pointer", getxattr("f", "user.a", BAD, sizeof(b)));
	show("getxattr missing file", getxattr("nope", "user.a", b, sizeof(b)));
	show("getxattr empty path", getxattr("", "user.a", b, sizeof(b)));
	show("getxattr empty name, missing file", getxattr("nope", "", b, sizeof(b)));
	show("getxattr /etc/passwd", getxattr("/etc/passwd", "user.a", b, sizeof(b)));

	show("setxattr create existing", setxattr("f", "user.a", "x", 1, XATTR_CREATE));
	show("setxattr replace missing", setxattr("f", "user.b", "x", 1, XATTR_REPLACE));
	show("setxattr replace", setxattr("f", "user.a", "bye", 3, XATTR_REPLACE));
	show("setxattr bad flags", setxattr("f", "user.a", "x", 1, 4));
	show("setxattr over the maximum size", setxattr("f", "user.a", huge, sizeof(huge), 0));
	show("setxattr bad value pointer", setxattr("f", "user.a", BAD, 4, 0));
	show("setxattr empty value", setxattr("f", "user.e", NULL, 0, 0));
	show("getxattr empty value", getxattr("f", "user.e", b, sizeof(b)));
	show("setxattr unknown namespace", setxattr("f", "nonsense.a", "x", 1, 0));
	show("setxattr trusted", setxattr("f", "trusted.a", "x", 1, 0));
	big[255] = '\0';
	show("setxattr 255-byte name", setxattr("f", big, "x", 1, 0));
	show("removexattr 255-byte name", removexattr("f", big));
	/* EACCES natively, EROFS in a domain (the rest of its root is read-only). */
	show("setxattr outside the writable tree fails", setxattr("/etc/passwd", "user.a", "x", 1, 0) < 0);
	show("removexattr outside the writable tree fails", removexattr("/etc/passwd", "user.a") < 0);

	show_list("listxattr", b, listxattr("f", b, sizeof(b)));
	show("listxattr size 0", listxattr("f", NULL, 0));
	show("listxattr too small", listxattr("f", b, 3));
	show("listxattr bad pointer", listxattr("f", BAD, sizeof(b)));
	show_list("listxattr through the symlink", b, listxattr("l", b, sizeof(b)));
	show_list("llistxattr of the symlink", b, llistxattr("l", b, sizeof(b)));
	show("getxattr through the symlink", getxattr("l", "user.a", b, sizeof(b)));
	show("lgetxattr of the symlink", lgetxattr("l", "user.a", b, sizeof(b)));
	show("lsetxattr of the symlink", lsetxattr("l", "user.a", "x", 1, 0));
	show("lremovexattr of the symlink", lremovexattr("l", "user.a"));

	show("setxattr on a directory", setxattr("d", "user.dir", "1", 1, 0));
	show_list("listxattr of a directory", b, listxattr("d", b, sizeof(b)));

	int fd = open("f", O_RDONLY);
	memset(b, 0, sizeof(b));
	show("fgetxattr", fgetxattr(fd, "user.a", b, sizeof(b)));
	printf("value: %s\n", b);
	show("fsetxattr on a read-only fd", fsetxattr(fd, "user.c", "c", 1, 0));
	show_list("flistxattr", b, flistxattr(fd, b, sizeof(b)));
	show("fremovexattr", fremovexattr(fd, "user.c"));
	show("fremovexattr again", fremovexattr(fd, "user.c"));
	show("fgetxattr bad fd", fgetxattr(-1, "user.a", b, sizeof(b)));
	show("fsetxattr bad fd", fsetxattr(999, "user.a", "x", 1, 0));
	show("flistxattr bad fd", flistxattr(999, b, sizeof(b)));
	show("fremovexattr bad fd, bad name", fremovexattr(999, BAD));
	int pfd = open("f", O_PATH);
	show("fgetxattr O_PATH fd", fgetxattr(pfd, "user.a", b, sizeof(b)));
	show("fsetxattr O_PATH fd", fsetxattr(pfd, "user.a", "x", 1, 0));
	show("flistxattr O_PATH fd", flistxattr(pfd, b, sizeof(b)));
	int pp[2];
	if (pipe(pp))
		return 2;
	show("fsetxattr on a pipe", fsetxattr(pp[1], "user.a", "x", 1, 0));
	show("fgetxattr on a pipe", fgetxattr(pp[0], "user.a", b, sizeof(b)));

	show("removexattr", removexattr("f", "user.a"));
	show("removexattr again", removexattr("f", "user.a"));
	show("removexattr empty name", removexattr("f", ""));
	show("removexattr missing file", removexattr("nope", "user.a"));
	show_list("listxattr at the end", b, listxattr("f", b, sizeof(b)));
	return 0;
}
