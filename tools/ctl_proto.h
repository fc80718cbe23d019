/* ctl_proto.h: what the control socket's server and client share — the JSON-lines framing, names, paths and deadlines. */
#ifndef PDVM_CTL_PROTO_H
#define PDVM_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

struct json_object;

/*
 * Protocol: one JSON object per line each way. A request is
 *   {"cmd":"info"|"pause"|"resume"|"kill"}
 *   {"cmd":"snapshot","dir":"/abs","stop":bool (optional),"parent":"/abs" (optional)}
 *   {"cmd":"migrate","to":"HOST:PORT","insecure":bool (optional),"key":"/abs" (optional),
 *    "max_downtime_ms":N (optional)}
 *     (its response has "stats": rounds, pages per round, bytes, times)
 * and its response {"ok":true, ...} or {"ok":false,"error":"why"}. A connection
 * may carry several requests, one after another.
 */

#define CTL_NAME_MAX		64
#define CTL_LINE_MAX		(64 * 1024)	/* longest line either way, '\n' included */
#define CTL_REQUEST_MS		5000		/* a request line must arrive within this */
#define CTL_BACKLOG		16
#define CTL_PROBE_MS		2000		/* control_start asking an existing socket */
#define CTL_LIST_MS		10000		/* pdvm list, per domain */
#define CTL_COMMAND_MS		60000		/* pause, resume, kill */
#define CTL_SUFFIX		".sock"


struct linebuf {
	size_t len;             /* bytes held */
	size_t used;            /* the line returned last, dropped on the next call */
	bool eof;
	bool skipping;          /* dropping the rest of an over-long line */
	char buf[CTL_LINE_MAX + 1];
};

extern const char ctl_bad_name_why[];
bool ctl_name_valid(const char *s);
int64_t ctl_mono_ms(void);
int64_t ctl_deadline_after(int ms);
int ctl_sock_addr(int dirfd, const char *dir, const char *name, struct sockaddr_un *sa);
int ctl_read_line(int fd, int wakefd, struct linebuf *lb, int64_t deadline,
		     char **line, size_t *len);
int ctl_send_all(int fd, const char *buf, size_t len);
int ctl_send_json(int fd, struct json_object *o);
/* One message of len bytes (at least 1) on UNIX socket sock carrying n fds
 * (SCM_RIGHTS, at most 8): the exec client's stdio, a console's pty. 0 or
 * -errno. */
int ctl_send_fds(int sock, const int *fds, int n, const void *data, size_t len);
struct json_object *ctl_parse_line(const char *s, size_t len, char *err, size_t errlen);
int ctl_connect(int dirfd, const char *dir, const char *name, int timeout_ms);
int ctl_call(int dirfd, const char *dir, const char *name, struct json_object *req,
		    int timeout_ms, struct json_object **resp, char *err, size_t errlen);

#endif
