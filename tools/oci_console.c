/* oci_console.c: a container's terminal, as runc makes it for --console-socket — a new pty whose master goes to the engine over the socket and whose slave becomes the program's stdio and controlling terminal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "oci_console.h"

/* Sends fd over the UNIX socket at path, with the pty's name as the
 * message (what runc sends, and engines read). */
static int send_fd(const char *path, int fd, const char *name, char *err, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, n, "--console-socket %s: path too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(err, n, "--console-socket %s: %s", path, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	int r = ctl_send_fds(s, &fd, 1, name, strlen(name));
	close(s);
	if (r) {
		snprintf(err, n, "--console-socket %s: sending the terminal: %s", path, strerror(-r));
		return -1;
	}
	return 0;
}

int oci_console_open(const char *socket_path, unsigned rows, unsigned cols, char *err, size_t n)
{
	char name[64];
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name))) {
		snprintf(err, n, "a terminal: %s", strerror(errno));
		if (m >= 0)
			close(m);
		return -1;
	}
	int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		snprintf(err, n, "%s: %s", name, strerror(errno));
		close(m);
		return -1;
	}
	if (rows && cols) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		ioctl(m, TIOCSWINSZ, &ws);
	}
	int r = send_fd(socket_path, m, name, err, n);
	close(m);       /* the engine has it now */
	if (r) {
		close(slave);
		return -1;
	}
	return slave;
}

int oci_console_attach(int slave)
{
	/* A session of its own, the terminal its controlling one, and the
	 * program's stdin, stdout and stderr. */
	if (setsid() < 0 && errno != EPERM)
		return -1;
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return -1;
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return -1;
	if (slave > 2)
		close(slave);
	return 0;
}
