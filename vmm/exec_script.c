/* exec_script.c: what exec runs — opening the file, and following "#!" lines to a binary as Linux's binfmt_script does, for execve and for a domain's first program alike. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain.h"
#include "exec_script.h"
#include "files.h"
#include "loader.h"
#include "process.h"

/* Linux's exec_binprm: a script's interpreter may be a script in turn,
 * five files deep; the sixth gets ELOOP. */
#define SCRIPT_DEPTH_MAX 5

int exec_file_ok(int fd)
{
	struct stat st;

	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))) {
		close(fd);
		return -EACCES;
	}
	return fd;
}

int exec_open(struct domain *d, int dirfd, const char *path, bool nofollow, char *gpath)
{
	return exec_file_ok(path_open(d, dirfd, path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0), 0, gpath));
}

void exec_exe_path(struct domain *d, int fd, char *gpath)
{
	char host[PATH_MAX];

	if (host_fd_path(fd, host, sizeof(host)) < 0)
		return;
	if (host_to_guest(proc_cur(d)->files, host, gpath, 2 * PATH_MAX) < 0 && !strncmp(host, "/memfd:", 7))
		snprintf(gpath, 2 * PATH_MAX, "%s", host);
}

/* "#!interp [arg]": the interpreter and its argument, as binfmt_script
 * parses them. 1 if the file is a script, 0 if not, or -errno. */
static int parse_shebang(int fd, char *interp, size_t ilen, char *arg, size_t alen)
{
	char b[256 + 1];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);

	if (n < 0)
		return -EIO;
	if (n < 2 || b[0] != '#' || b[1] != '!')
		return 0;
	b[n] = 0;
	char *e = strchr(b, '\n');
	if (e)
		*e = 0;
	char *s = b + 2;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return -ENOEXEC;
	char *end = s + strcspn(s, " \t");
	char *a = end;
	if (*a) {
		*a++ = 0;
		while (*a == ' ' || *a == '\t')
			a++;
		size_t l = strlen(a);
		while (l && (a[l - 1] == ' ' || a[l - 1] == '\t'))
			a[--l] = 0;
	}
	if (strlen(s) >= ilen || strlen(a) >= alen)
		return -ENAMETOOLONG;
	strcpy(interp, s);
	strcpy(arg, a);
	return 1;
}

void exec_argv_free(char **v)
{
	for (int i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* argv of the next level: interp [arg] script argv[1..]. NULL on ENOMEM. */
static char **script_argv(const char *interp, const char *arg, const char *script, char *const argv[])
{
	int n = 0, k = 0;
	char **v;

	while (argv && argv[n])
		n++;
	v = calloc((size_t)n + 4, sizeof(*v));
	if (!v)
		return NULL;
	if (!(v[k++] = strdup(interp)) || (*arg && !(v[k++] = strdup(arg))) || !(v[k++] = strdup(script)))
		goto oom;
	for (int i = 1; i < n; i++)
		if (!(v[k++] = strdup(argv[i])))
			goto oom;
	return v;
oom:
	exec_argv_free(v);
	return NULL;
}

int exec_script_chain(struct domain *d, int *fd, char *gpath, const char *path, char *const argv[],
		      bool no_script, char ***nargv)
{
	static __thread char ipath[2 * 4096], interp[256], iarg[256];
	const char *script = path;
	int sb = parse_shebang(*fd, interp, sizeof(interp), iarg, sizeof(iarg));

	*nargv = NULL;
	if (sb > 0 && no_script)
		sb = -ENOENT;   /* the interpreter could not open /dev/fd/N (Linux's
				 * BINPRM_FLAGS_PATH_INACCESSIBLE) */
	for (int depth = 0; sb > 0; depth++) {
		char **next;
		int ifd;

		if (depth == SCRIPT_DEPTH_MAX) {
			sb = -ELOOP;
			break;
		}
		ifd = exec_open(d, AT_FDCWD, interp, false, ipath);
		if (ifd < 0) {
			sb = ifd;
			break;
		}
		close(*fd);
		*fd = ifd;
		next = script_argv(interp, iarg, script, *nargv ? *nargv : argv);
		exec_argv_free(*nargv);
		*nargv = next;
		if (!next) {
			sb = -ENOMEM;
			break;
		}
		script = next[0];
		snprintf(gpath, 2 * 4096, "%s", ipath);
		sb = parse_shebang(*fd, interp, sizeof(interp), iarg, sizeof(iarg));
	}
	if (sb < 0) {
		close(*fd);
		*fd = -1;
		exec_argv_free(*nargv);
		*nargv = NULL;
		return sb;
	}
	return 0;
}

int exec_load_first(struct domain *d, struct thread *t, const char *prog, char *const argv[], char *const envp[],
		    char **path, char *err, size_t errlen)
{
	static char gpath[2 * PATH_MAX];
	char **sargv = NULL, lerr[256] = "";
	*path = NULL;
	int fd = files_open_exec(d, prog, envp, path);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", prog, strerror(-fd));
		return fd;
	}
	/* A script runs as execve would run it: through its interpreter. */
	snprintf(gpath, sizeof(gpath), "%s", *path);
	int r = exec_script_chain(d, &fd, gpath, *path, argv, false, &sargv);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s%s", *path, r == -ENOENT ? "its interpreter: " : "", strerror(-r));
		return r;
	}
	/* /proc/self/exe: the file that runs, symlinks resolved (as execve). */
	exec_exe_path(d, fd, gpath);
	struct files *fl = proc_cur(d)->files;
	free(fl->exe);
	fl->exe = strdup(gpath);
	r = elf_load(d, fd, *path, sargv ? sargv : argv, envp, &t->regs, lerr, sizeof(lerr));
	close(fd);
	exec_argv_free(sargv);
	if (r)
		snprintf(err, errlen, "%s: %s", gpath, *lerr ? lerr : strerror(-r));
	return r;
}
