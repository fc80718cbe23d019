/* ctl_proto.c: the control socket's shared pieces — names, socket paths, deadlines, line framing, one request/answer round trip. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <json-c/json.h>
#include "control.h"
#include "vmm/clock.h"
#include "vmm/domain.h"
#include "ctl_proto.h"

const char *control_dir(void)
{
	static char xdg[4096];
	const char *d = getenv("PDVM_RUN_DIR");
	if (d && *d)
		return d;
	/* Only root can create /run/pdvm; others get their runtime dir. */
	const char *x = getenv("XDG_RUNTIME_DIR");
	if (geteuid() != 0 && x && *x && (size_t)snprintf(xdg, sizeof(xdg), "%s/pdvm", x) < sizeof(xdg))
		return xdg;
	return "/run/pdvm";
}

/* The same rule as config.c's domain names (docker's), as names become file
 * names here: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
bool ctl_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CTL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

const char ctl_bad_name_why[] =
	"use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit";

int64_t ctl_mono_ms(void)
{
	return (int64_t)(host_mono_ns() / 1000000);
}

/* -1 (no deadline) stays -1: poll waits forever. */
int64_t ctl_deadline_after(int ms)
{
	return ms < 0 ? -1 : ctl_mono_ms() + ms;
}

/* The address of DIR/NAME.sock. sun_path holds only 108 bytes, so a longer
 * path is reached through /proc/self/fd/DIRFD, which the kernel resolves to
 * the directory itself (for bind and connect alike). */
int ctl_sock_addr(int dirfd, const char *dir, const char *name, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s" CTL_SUFFIX, dir, name);
	if (n > 0 && (size_t)n < sizeof(sa->sun_path))
		return 0;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s" CTL_SUFFIX,
		     dirfd, name);
	return n > 0 && (size_t)n < sizeof(sa->sun_path) ? 0 : -ENAMETOOLONG;
}

/* Lines arrive in pieces: what has been read but not yet returned. */

/* Reads the next line of fd (its '\n' replaced by a NUL) into *line, *len.
 * 1 with a line (a last line without '\n' counts), 0 at the end, or
 * -ETIMEDOUT when deadline (CLOCK_MONOTONIC ms, -1: none) passes,
 * -ECANCELED when wakefd (if >= 0) becomes readable, -errno, or -EMSGSIZE
 * for a line longer than CTL_LINE_MAX: the next call skips the rest of it,
 * so the connection stays usable. */
int ctl_read_line(int fd, int wakefd, struct linebuf *lb, int64_t deadline,
		     char **line, size_t *len)
{
	size_t scanned = 0;

	if (lb->used) {
		memmove(lb->buf, lb->buf + lb->used, lb->len - lb->used);
		lb->len -= lb->used;
		lb->used = 0;
	}
	for (;;) {
		char *nl = memchr(lb->buf + scanned, '\n', lb->len - scanned);

		if (nl && lb->skipping) {
			size_t drop = (size_t)(nl - lb->buf) + 1;

			memmove(lb->buf, lb->buf + drop, lb->len - drop);
			lb->len -= drop;
			lb->skipping = false;
			scanned = 0;
			continue;
		}
		if (nl || (lb->eof && lb->len && !lb->skipping)) {
			*len = nl ? (size_t)(nl - lb->buf) : lb->len;
			lb->buf[*len] = '\0';
			lb->used = nl ? *len + 1 : lb->len;
			*line = lb->buf;
			return 1;
		}
		if (lb->eof)
			return 0;
		if (lb->skipping)
			lb->len = 0;
		scanned = lb->len;
		if (lb->len >= CTL_LINE_MAX) {
			lb->len = 0;
			lb->skipping = true;
			return -EMSGSIZE;
		}

		struct pollfd p[2] = { { fd, POLLIN, 0 }, { wakefd, POLLIN, 0 } };
		int timeout = -1;

		if (deadline >= 0) {
			int64_t left = deadline - ctl_mono_ms();

			/* Checked here too: poll never times out while a
			 * client keeps sending. */
			if (left <= 0)
				return -ETIMEDOUT;
			timeout = (int)left;
		}
		int r = poll(p, 2, timeout);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ETIMEDOUT;
		if (p[1].revents)
			return -ECANCELED;

		ssize_t n = recv(fd, lb->buf + lb->len, CTL_LINE_MAX - lb->len, 0);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			lb->eof = true;
		lb->len += (size_t)n;
	}
}

int ctl_send_fds(int sock, const int *fds, int n, const void *data, size_t len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} u;
	if (n < 1 || n > 8 || !len)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	struct iovec iov = { (void *)data, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
	while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* MSG_NOSIGNAL: a peer that went away is an error to report, not SIGPIPE. */
int ctl_send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends o as one line. */
int ctl_send_json(int fd, struct json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(o,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	char *line;
	int r;

	if (!s)
		return -ENOMEM;
	/* One send for the line and its '\n': a reader never sees half a line
	 * because we were slow, and the copy is small. */
	line = malloc(len + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, s, len);
	line[len] = '\n';
	r = ctl_send_all(fd, line, len + 1);
	free(line);
	return r;
}

/* Parses one whole line as one JSON value; NULL with the reason in err. */
struct json_object *ctl_parse_line(const char *s, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (strlen(s) != len) {
		snprintf(err, errlen, "malformed JSON: a NUL byte in the line");
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* -1: the string is NUL-terminated, which also ends a trailing number. */
	o = json_tokener_parse_ex(tok, s, -1);
	if (!o) {
		snprintf(err, errlen, "malformed JSON: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
	} else {
		for (const char *p = s + json_tokener_get_parse_end(tok); *p; p++) {
			if (*p != ' ' && *p != '\t' && *p != '\r') {
				snprintf(err, errlen, "malformed JSON: more after the value");
				json_object_put(o);
				o = NULL;
				break;
			}
		}
	}
	json_tokener_free(tok);
	return o;
}

/* Connects to DIR/NAME.sock: the socket fd, or -errno as connect(2) gave it
 * (ENOENT: no socket; ECONNREFUSED: nobody listens, a stale socket).
 * timeout_ms >= 0 bounds the connect (it waits while the backlog is full)
 * and every later send. */
int ctl_connect(int dirfd, const char *dir, const char *name, int timeout_ms)
{
	struct sockaddr_un sa;
	int fd, r = ctl_sock_addr(dirfd, dir, name, &sa);

	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (timeout_ms >= 0) {
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
			r = -errno;
			close(fd);
			return r;
		}
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		r = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
		close(fd);
		return r;
	}
	return fd;
}

/*
 * The one round trip everything uses: connects to NAME's socket, sends req,
 * reads one response object into *resp (whether "ok" is true or false).
 * 0, or -ENOENT when no domain has the name (no socket, or a stale one),
 * or -errno with the reason in err. timeout_ms < 0: wait as long as it takes.
 */
int ctl_call(int dirfd, const char *dir, const char *name, struct json_object *req,
		    int timeout_ms, struct json_object **resp, char *err, size_t errlen)
{
	int64_t deadline = ctl_deadline_after(timeout_ms);
	struct linebuf *lb = NULL;
	struct json_object *o = NULL, *ok;
	char *line;
	size_t len;
	int fd, r;

	*resp = NULL;
	fd = ctl_connect(dirfd, dir, name, timeout_ms);
	if (fd == -ENOENT || fd == -ECONNREFUSED || fd == -ENOTDIR) {
		snprintf(err, errlen, "no such domain");
		return -ENOENT;
	}
	if (fd == -ETIMEDOUT) {
		snprintf(err, errlen, "the domain does not take connections "
			 "(busy, e.g. writing a snapshot?)");
		return fd;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to its control socket: %s", strerror(-fd));
		return fd;
	}
	r = ctl_send_json(fd, req);
	if (r) {
		snprintf(err, errlen, "sending the request: %s", strerror(-r));
		goto out;
	}
	lb = malloc(sizeof(*lb));
	if (!lb) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	lb->len = lb->used = 0;
	lb->eof = lb->skipping = false;
	r = ctl_read_line(fd, -1, lb, deadline, &line, &len);
	if (r <= 0) {
		if (r == 0 || r == -ECONNRESET)
			snprintf(err, errlen, "the domain went away without answering (it may have just ended)");
		else if (r == -ETIMEDOUT)
			snprintf(err, errlen, "no answer within %d s (the domain may be busy)",
				 timeout_ms / 1000);
		else
			snprintf(err, errlen, "reading the answer: %s", strerror(-r));
		r = r ? r : -ECONNRESET;
		goto out;
	}
	o = ctl_parse_line(line, len, err, errlen);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ok", &ok) || !json_object_is_type(ok, json_type_boolean)) {
		if (o)
			snprintf(err, errlen, "malformed answer: no \"ok\" member");
		json_object_put(o);
		r = -EPROTO;
		goto out;
	}
	*resp = o;
	r = 0;
out:
	free(lb);
	close(fd);
	return r;
}
