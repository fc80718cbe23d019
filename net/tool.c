/* tool.c: runs ip and nft as child processes (posix_spawn), feeding a script on stdin and keeping the first line of any complaint. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"

extern char **environ;

/* The first executable `name` under the system directories into buf, or NULL. */
static const char *tool_path(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

int tool_run(const char *name, const char *const args[], const char *input, char *out, size_t outlen,
	     char *err, size_t errlen)
{
	char pbuf[64];
	const char *path = tool_path(name, pbuf, sizeof(pbuf));
	if (!path) {
		snprintf(err, errlen, "%s not found (Debian packages iproute2 and nftables)", name);
		return -ENOENT;
	}
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)name;
	for (int i = 0; args[i] && argc < 31; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	int in[2], o[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(o, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, o[1], 2);
	pid_t pid;
	int e = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(o[1]);
	if (e) {
		close(in[1]);
		close(o[0]);
		snprintf(err, errlen, "running %s: %s", path, strerror(e));
		return -e;
	}
	/* The scripts are small: they fit the pipe, so writing first is safe. */
	size_t len = input ? strlen(input) : 0, off = 0;
	while (off < len) {
		ssize_t w = write(in[1], input + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	char msg[4096];
	size_t got = 0;
	ssize_t n;
	while ((n = read(o[0], msg + got, sizeof(msg) - 1 - got)) > 0 && got < sizeof(msg) - 1)
		got += (size_t)n;
	msg[got] = '\0';
	while (read(o[0], (char[256]){ 0 }, 256) > 0) /* drain the rest */
		;
	close(o[0]);
	if (out && outlen)
		snprintf(out, outlen, "%s", msg);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	snprintf(err, errlen, "%s: %s", name, got ? msg : "failed");
	return strstr(msg, "ermission") || strstr(msg, "not permitted") ? -EPERM : -EIO;
}

int tool_nft(const char *script, char *err, size_t errlen)
{
	return tool_run("nft", (const char *const[]){ "-f", "-", NULL }, script, NULL, 0, err, errlen);
}
