/* execat.c: execveat — a directory fd and a relative path, AT_EMPTY_PATH on a memfd, an O_PATH fd and a script, AT_SYMLINK_NOFOLLOW, the errors — with the name, /proc/self/exe and AT_EXECFN the new program sees, printed so that a native run and a domain's can be compared line by line. Usage: execat WRITABLE-DIR */
#include "guest.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

static long exec_at(int dirfd, const char *path, char *const argv[], int flags)
{
	return syscall(SYS_execveat, dirfd, path, argv, environ, flags);
}

/* The new program's view of itself. */
static int child_report(char **argv)
{
	char comm[32] = "", exe[256] = "";
	int f = open("/proc/self/comm", O_RDONLY);
	ssize_t n = f < 0 ? -1 : read(f, comm, sizeof(comm) - 1);
	if (n > 0 && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		n = 0;
	exe[n] = '\0';
	printf("  ran: argv0 %s, comm %s, exe %s, execfn %s\n", argv[0], comm, exe, (char *)getauxval(AT_EXECFN));
	return 0;
}

/* Runs execveat in a child; prints its error or what the program said. */
static void try(const char *what, int dirfd, const char *path, int flags)
{
	char *av[] = { "prog", "child", NULL };
	printf("%s:\n", what);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		exec_at(dirfd, path, av, flags);
		printf("  error %s\n", errname(errno));
		fflush(stdout);
		_exit(1);
	}
	int st;
	waitpid(c, &st, 0);
	printf("  exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "child"))
		return child_report(argv);
	if (argc != 2 || chdir(argv[1]))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	char self[256] = "", dir[256];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	snprintf(dir, sizeof(dir), "%s", self);
	*strrchr(dir, '/') = '\0';
	const char *base = strrchr(self, '/') + 1;

	/* A copy of this program in a memfd, run by fd (fexecve). */
	int in = open(self, O_RDONLY), m = memfd_create("execcopy", 0);
	char buf[65536];
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(m, buf, (size_t)n) != n)
			return 2;
	close(in);
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	int op = open(self, O_PATH);
	try("memfd, AT_EMPTY_PATH", m, "", AT_EMPTY_PATH);
	try("directory fd and a name", d, base, 0);
	try("O_PATH fd, AT_EMPTY_PATH", op, "", AT_EMPTY_PATH);
	try("absolute path, any fd", 999, self, 0);
	try("AT_FDCWD", AT_FDCWD, self, AT_SYMLINK_NOFOLLOW);

	/* A script run by fd: the interpreter gets /dev/fd/N. */
	int s = open("script", O_RDWR | O_CREAT | O_TRUNC, 0755);
	const char *text = "#!/bin/sh\necho \"  script: $0 $1\"\n";
	if (write(s, text, strlen(text)) < 0)
		return 2;
	close(s);
	s = open("script", O_RDONLY);
	try("script by fd", s, "", AT_EMPTY_PATH);
	int sc = open("script", O_RDONLY | O_CLOEXEC);
	try("script by a close-on-exec fd", sc, "", AT_EMPTY_PATH);
	int here = open(".", O_RDONLY | O_DIRECTORY);
	try("script by name under a directory fd", here, "script", 0);

	if (symlink(self, "link"))
		return 2;
	try("symlink, AT_SYMLINK_NOFOLLOW", here, "link", AT_SYMLINK_NOFOLLOW);
	try("symlink followed", here, "link", 0);
	try("directory, AT_EMPTY_PATH", d, "", AT_EMPTY_PATH);
	try("cwd, AT_EMPTY_PATH", AT_FDCWD, "", AT_EMPTY_PATH);
	try("empty path without AT_EMPTY_PATH", m, "", 0);
	try("unknown flag", m, "x", 0x2);
	try("bad fd, AT_EMPTY_PATH", 999, "", AT_EMPTY_PATH);
	try("bad fd and a name", 999, base, 0);
	try("a file as the directory", s, "x", 0);
	try("missing name", d, "nonexistent", 0);
	int ne = (int)syscall(SYS_memfd_create, "noexec", 8 /* MFD_NOEXEC_SEAL */);
	if (write(ne, "\x7f" "ELF", 4) != 4)
		return 2;
	try("MFD_NOEXEC_SEAL memfd", ne, "", AT_EMPTY_PATH);
	return 0;
}
