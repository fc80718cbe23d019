/* oci_state.c: pdvm-oci's containers on disk — the state directories under --root, their state.json and pid files, what the domain says of itself through its control socket, and the runtime's log in runc's forms. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ctl_proto.h"
#include "oci_state.h"
#include "vmm/status.h"

const char *oci_root = OCI_DEFAULT_ROOT;
const char *oci_log_path;
bool oci_log_json;

/* A line in --log, as runc writes it (text or JSON), where engines read
 * why a runtime call failed. */
void oci_log_line(const char *level, const char *msg)
{
	FILE *f = oci_log_path ? fopen(oci_log_path, "ae") : NULL;
	if (!f)
		return;
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if (oci_log_json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "level", json_object_new_string(level));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(when));
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		fprintf(f, "time=\"%s\" level=%s msg=\"%s\"\n", when, level, msg);
	}
	fclose(f);
}

/* An error: on stderr and in --log. */
__attribute__((format(printf, 1, 2)))
int oci_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pdvm-oci: %s\n", msg);
	oci_log_line("error", msg);
	return EXIT_FAILED;
}

/* --root and the directories above it, as runc makes them (containerd's
 * shim names /run/containerd/runc/NAMESPACE). 0, or -1 with errno. */
int oci_make_root(void)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", oci_root) >= (int)sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *c = p + 1; ; c++) {
		if (*c && *c != '/')
			continue;
		char was = *c;
		*c = 0;
		if (mkdir(p, 0711) && errno != EEXIST)
			return -1;
		if (!(*c = was))
			return 0;
	}
}

void oci_cdir(char *buf, size_t n, const char *id, const char *file)
{
	snprintf(buf, n, "%s/%s%s%s", oci_root, id, file ? "/" : "", file ? file : "");
}

/* The start time of pid (field 22 of /proc/PID/stat), so that a recycled
 * pid is not taken for the container; 0 if it is gone or a zombie. */
unsigned long long oci_proc_start(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	unsigned long long v = 0;
	p += 2;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	return p && sscanf(p, " %llu", &v) == 1 ? v : 0;
}

/* The domain's own "info" answer (the caller puts it), NULL if none. */
struct json_object *oci_domain_info(const char *id)
{
	const char *dir = control_dir();
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct json_object *req = json_object_new_object(), *resp = NULL;
	char err[256];
	if (dirfd >= 0 && req) {
		json_object_object_add(req, "cmd", json_object_new_string("info"));
		if (ctl_call(dirfd, dir, id, req, 5000, &resp, err, sizeof(err))) {
			json_object_put(resp);
			resp = NULL;
		}
	}
	if (dirfd >= 0)
		close(dirfd);
	json_object_put(req);   /* ctl_call does not take it */
	return resp;
}

/* What the domain says of itself: "paused" or "running" (NULL: no answer). */
const char *oci_domain_state(const char *id)
{
	struct json_object *resp = oci_domain_info(id), *v;
	const char *st = NULL;
	if (resp && json_object_object_get_ex(resp, "state", &v))
		st = !strcmp(json_object_get_string(v), "paused") ? "paused" : "running";
	json_object_put(resp);
	return st;
}

/* Loads the state of container id; 0, or an error said (no such container). */
int oci_load(const char *id, struct cstate *c)
{
	char path[PATH_MAX];
	struct json_object *j, *v;
	memset(c, 0, sizeof(*c));
	if (spec_check_name(id, path, sizeof(path)))
		return oci_err("container id '%s': %s", id, path);
	oci_cdir(path, sizeof(path), id, "state.json");
	if (!(j = json_object_from_file(path)))
		return oci_err("container %s does not exist", id);
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->pid = json_object_object_get_ex(j, "pid", &v) ? json_object_get_int(v) : 0;
	c->start = json_object_object_get_ex(j, "starttime", &v) ? (unsigned long long)json_object_get_int64(v) : 0;
	if (json_object_object_get_ex(j, "bundle", &v))
		snprintf(c->bundle, sizeof(c->bundle), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(j, "created", &v))
		snprintf(c->created, sizeof(c->created), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(j, "annotations", &v))
		c->annotations = json_object_get(v);
	json_object_put(j);
	/* The status, as it is now. */
	oci_cdir(path, sizeof(path), id, "exec.fifo");
	if (c->pid <= 0 || oci_proc_start(c->pid) != c->start)
		c->status = "stopped";
	else if (access(path, F_OK) == 0)
		c->status = "created";
	else if (!(c->status = oci_domain_state(id)))
		c->status = "running";  /* not answering yet: just started */
	return 0;
}

void oci_cstate_free(struct cstate *c)
{
	json_object_put(c->annotations);
	c->annotations = NULL;
}

/* Writes str to path atomically (a reader sees the old file or the new). */
int oci_write_atomic(const char *path, const char *str)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t len = strlen(str);
	bool ok = write(fd, str, len) == (ssize_t)len && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

void oci_remove_dir(const char *id)
{
	static const char *const files[] = { "state.json", "domain.cfg", "exec.fifo", "state.json.tmp", "seccomp.json",
					     "hooks.json", "hooks.json.tmp", NULL };
	char path[PATH_MAX];
	for (int i = 0; files[i]; i++) {
		oci_cdir(path, sizeof(path), id, files[i]);
		unlink(path);
	}
	oci_cdir(path, sizeof(path), id, NULL);
	rmdir(path);
}

/* The state of a container whose process is pid, then the pid file (an
 * engine reads it once create has returned). On failure the process is
 * killed and the container removed: an error said. */
int oci_publish(const char *id, pid_t pid, const char *bundle, const char *annotations, const char *pid_file)
{
	char when[64], path[PATH_MAX];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", gmtime_r(&ts.tv_sec, &tm));
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%09ldZ", ts.tv_nsec);
	unsigned long long start = 0;
	for (int i = 0; i < 100 && !(start = oci_proc_start(pid)); i++)
		usleep(1000);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "starttime", json_object_new_int64((int64_t)start));
	json_object_object_add(o, "bundle", json_object_new_string(bundle));
	json_object_object_add(o, "created", json_object_new_string(when));
	json_object_object_add(o, "annotations", json_tokener_parse(annotations));
	oci_cdir(path, sizeof(path), id, "state.json");
	int r = oci_write_atomic(path, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	char pidbuf[32];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	if (r || (pid_file && oci_write_atomic(pid_file, pidbuf))) {
		int e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		oci_remove_dir(id);
		return oci_err("writing %s: %s", r ? path : pid_file, strerror(e));
	}
	return 0;
}

/* Waits up to 5 s for pid to be gone; whether it is. */
bool oci_wait_gone(pid_t pid, unsigned long long start)
{
	for (int i = 0; i < 500; i++) {
		if (oci_proc_start(pid) != start)
			return true;
		usleep(10000);
	}
	return false;
}
