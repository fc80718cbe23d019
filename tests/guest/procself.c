/* procself.c: the domain's /proc/self and /proc/meminfo — exe, cmdline, status, stat, maps, fd/ — agree with what the program knows of itself. Usage: procself MEMTOTAL_KB */
#include "guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>

static char buf[65536];

static ssize_t slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = 0, r;
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

int main(int argc, char **argv)
{
	char want[PATH_MAX], got[PATH_MAX];
	long memtotal = argc > 1 ? atol(argv[1]) : 0;

	ssize_t n = readlink("/proc/self/exe", got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = 0;
	check(n > 0 && realpath(argv[0], want) && !strcmp(want, got), "/proc/self/exe is the program (%s)", got);

	n = slurp("/proc/self/cmdline");
	check(n > 0 && !strcmp(buf, argv[0]) && argc > 1 && !strcmp(buf + strlen(argv[0]) + 1, argv[1]),
	      "/proc/self/cmdline holds argv");

	char pidline[64];
	snprintf(pidline, sizeof(pidline), "\nPid:\t%d\n", getpid());
	check(slurp("/proc/self/status") > 0 && strstr(buf, pidline) && strstr(buf, "\nThreads:\t1\n") &&
	      !strncmp(buf, "Name:\tprocself", 14), "/proc/self/status: name, pid, threads");
	check(slurp("/proc/self/stat") > 0 && atoi(buf) == getpid() && strstr(buf, "(procself)"),
	      "/proc/self/stat starts with our pid and name");

	n = slurp("/proc/self/maps");
	char mainline[32];
	snprintf(mainline, sizeof(mainline), "%08lx", (unsigned long)(uintptr_t)&main);
	int text_found = 0;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(l, "%lx-%lx %4s", &lo, &hi, perms) == 3 && lo <= (uintptr_t)&main &&
		    (uintptr_t)&main < hi && perms[2] == 'x')
			text_found = 1;
	}
	check(n > 0 && strstr(buf, "[stack]") && text_found, "/proc/self/maps: [stack] and our code (r-x)");
	check(strstr(buf, "[vdso]") && strstr(buf, "[vvar]"), "/proc/self/maps: [vdso] and [vvar]");

	int fd = open("/etc/hostname", O_RDONLY);
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = 0;
	check(fd >= 3 && !strcmp(got, "/etc/hostname"), "readlink /proc/self/fd/%d = %s", fd, got);
	DIR *dir = opendir("/proc/self/fd");
	int seen0 = 0, seenfd = 0, count = 0;
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		count++;
		seen0 |= !strcmp(e->d_name, "0");
		seenfd |= atoi(e->d_name) == fd;
	}
	if (dir)
		closedir(dir);
	check(dir && seen0 && seenfd && count <= 8, "/proc/self/fd lists our fds (%d entries)", count);

	check(slurp("/proc/meminfo") > 0 && memtotal && strstr(buf, "MemTotal:") &&
	      atol(strstr(buf, "MemTotal:") + 9) == memtotal, "/proc/meminfo MemTotal is the domain's memory (%ld kB)", memtotal);
	errno = 0;
	check(open("/proc/self/status", O_WRONLY) < 0 && errno == EACCES, "/proc/self/status cannot be written");
	return done_testing();
}
