/* oci_spec.c: an OCI bundle's config.json as a pdvm domain — the fields pdvm honours become a domain.cfg, and any other is an error that names it. */
#include <errno.h>
#include <json-c/json.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oci_hooks.h"
#include "oci_spec.h"
#include "volumes.h"
#include "seccomp_profile.h"
#include "vmm/gfilter.h"
#include "vmm/spec.h"

#define MEMORY_MIN (16ULL << 20)        /* tools/config.c's range */
#define MEMORY_MAX (64ULL << 30)

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t n, const char *field, const char *fmt, ...)
{
	char why[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, n, "config.json: %s: %s", field, why);
	return -1;
}

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* Every member of o is in known, else an error naming the first that is
 * not (prefix: the object's own field name). */
static int only_known(struct json_object *o, const char *prefix, const char *const *known, char *err, size_t n)
{
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (!one_of(key, known)) {
			char f[128];
			snprintf(f, sizeof(f), "%s%s%s", prefix, *prefix ? "." : "", key);
			return fail(err, n, f, "pdvm cannot honour this field (not supported)");
		}
	}
	return 0;
}

/* An array of strings as a NULL-terminated copy; -1 if a member is not a string. */
static int strings(struct json_object *a, char ***out)
{
	size_t len = json_object_array_length(a);
	char **v = calloc(len + 1, sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < len; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string) || !(v[i] = strdup(json_object_get_string(e)))) {
			for (size_t k = 0; k < i; k++)
				free(v[k]);
			free(v);
			return -1;
		}
	}
	*out = v;
	return 0;
}

/* Whether o (absent, an array or an object of arrays) holds anything. */
static bool nonempty(struct json_object *o)
{
	if (!o || json_object_is_type(o, json_type_null))
		return false;
	if (json_object_is_type(o, json_type_array))
		return json_object_array_length(o) > 0;
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (nonempty(v))
				return true;
		}
		return false;
	}
	if (json_object_is_type(o, json_type_string))
		return *json_object_get_string(o) != 0;
	return true;
}

static int get_u32(struct json_object *o, const char *key, uint32_t *out, bool *set)
{
	struct json_object *v;
	*set = json_object_object_get_ex(o, key, &v);
	if (!*set)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	int64_t x = json_object_get_int64(v);
	if (x < 0 || x > UINT32_MAX)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

/* process.rlimits: each {type RLIMIT_X, soft, hard} as pdvm's --ulimit x=SOFT:HARD. */
static int load_rlimits(struct json_object *a, struct oci_spec *s, char *err, size_t n)
{
	if (!json_object_is_type(a, json_type_array))
		return fail(err, n, "process.rlimits", "want an array");
	size_t len = json_object_array_length(a);
	if (!(s->ulimits = calloc(len + 1, sizeof(char *))))
		return fail(err, n, "process.rlimits", "out of memory");
	for (size_t i = 0; i < len; i++) {
		struct json_object *e = json_object_array_get_idx(a, i), *t, *so, *h;
		char f[64], u[96], why[256];
		int res;
		uint64_t cur, max;
		snprintf(f, sizeof(f), "process.rlimits[%zu]", i);
		if (!json_object_object_get_ex(e, "type", &t) || !json_object_is_type(t, json_type_string) ||
		    strncmp(json_object_get_string(t), "RLIMIT_", 7) || !json_object_object_get_ex(e, "soft", &so) ||
		    !json_object_object_get_ex(e, "hard", &h) || !json_object_is_type(so, json_type_int) ||
		    !json_object_is_type(h, json_type_int))
			return fail(err, n, f, "want {type: RLIMIT_..., soft: N, hard: N}");
		snprintf(u, sizeof(u), "%s=%llu:%llu", json_object_get_string(t) + 7,
			 (unsigned long long)json_object_get_uint64(so), (unsigned long long)json_object_get_uint64(h));
		for (char *c = u; *c && *c != '='; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
		if (spec_parse_ulimit(u, &res, &cur, &max, why, sizeof(why)))
			return fail(err, n, f, "%s", why);
		if (!(s->ulimits[i] = strdup(u)))
			return fail(err, n, f, "out of memory");
	}
	return 0;
}

/*
 * A domain holds no capabilities: pdvm answers its calls as an unprivileged
 * process's, whatever its user (DESIGN.md, security model). Engines give
 * every container a default set; holding fewer than granted never lets a
 * program do more than its engine allowed, so those defaults (the union of
 * podman's, docker's and containerd's) are taken, and the engine's log
 * says they are not held. Anything beyond them asks for a privilege a
 * program would miss (CAP_SYS_ADMIN, CAP_NET_ADMIN ...): an error.
 */
static int load_caps(struct json_object *c, struct oci_spec *s, char *err, size_t n)
{
	static const char *const defaults[] = { "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
						"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID",
						"CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT", "CAP_MKNOD",
						"CAP_NET_RAW", "CAP_AUDIT_WRITE", NULL };
	static const char *const sets[] = { "bounding", "effective", "permitted", "inheritable", "ambient", NULL };
	if (!json_object_is_type(c, json_type_object))
		return fail(err, n, "process.capabilities", "want an object");
	if (only_known(c, "process.capabilities", sets, err, n))
		return -1;
	size_t held = 0;
	json_object_object_foreach(c, set, list) {
		char f[96];
		snprintf(f, sizeof(f), "process.capabilities.%s", set);
		if (!json_object_is_type(list, json_type_array))
			return fail(err, n, f, "want an array of capability names");
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			const char *cap = json_object_get_string(json_object_array_get_idx(list, i));
			if (!cap || !one_of(cap, defaults))
				return fail(err, n, f, "%s: a domain holds no capabilities; only an engine's defaults "
					    "are taken (as not held)", cap ? cap : "(not a string)");
			held++;
		}
	}
	if (held && !s->notice && asprintf(&s->notice, "process.capabilities: the domain holds none of them (pdvm "
					   "answers its calls as an unprivileged process's)") < 0)
		s->notice = NULL;
	return 0;
}

static int load_process(struct json_object *p, struct oci_spec *s, char *err, size_t n)
{
	static const char *const known[] = { "terminal", "consoleSize", "user", "args", "env", "cwd", "capabilities",
					     "rlimits", "noNewPrivileges", "apparmorProfile", "selinuxLabel", NULL };
	struct json_object *v;
	if (!json_object_is_type(p, json_type_object))
		return fail(err, n, "process", "want an object");
	if (only_known(p, "process", known, err, n))
		return -1;
	s->terminal = json_object_object_get_ex(p, "terminal", &v) && json_object_get_boolean(v);
	if (json_object_object_get_ex(p, "consoleSize", &v)) {
		uint32_t h = 0, w = 0;
		bool hs, ws;
		if (get_u32(v, "height", &h, &hs) || get_u32(v, "width", &w, &ws) || h > 65535 || w > 65535)
			return fail(err, n, "process.consoleSize", "want height and width from 0 to 65535");
		s->rows = h;
		s->cols = w;
	}
	if (!json_object_object_get_ex(p, "args", &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) == 0 || strings(v, &s->args))
		return fail(err, n, "process.args", "want a non-empty array of strings");
	if (json_object_object_get_ex(p, "env", &v)) {
		if (!json_object_is_type(v, json_type_array) || strings(v, &s->env))
			return fail(err, n, "process.env", "want an array of strings");
		for (char **e = s->env; *e; e++)
			if (!strchr(*e, '=') || **e == '=')
				return fail(err, n, "process.env", "'%s' is not KEY=VALUE", *e);
	} else if (!(s->env = calloc(1, sizeof(char *)))) {
		return fail(err, n, "process.env", "out of memory");
	}
	if (!json_object_object_get_ex(p, "cwd", &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string(v)[0] != '/')
		return fail(err, n, "process.cwd", "want an absolute path");
	if (!(s->cwd = strdup(json_object_get_string(v))))
		return fail(err, n, "process.cwd", "out of memory");
	if (json_object_object_get_ex(p, "user", &v)) {
		static const char *const uknown[] = { "uid", "gid", "additionalGids", "umask", NULL };
		bool us, gs;
		if (!json_object_is_type(v, json_type_object) || only_known(v, "process.user", uknown, err, n))
			return json_object_is_type(v, json_type_object) ? -1 : fail(err, n, "process.user", "want an object");
		if (get_u32(v, "uid", &s->uid, &us) || get_u32(v, "gid", &s->gid, &gs))
			return fail(err, n, "process.user", "uid and gid must be numbers from 0 to 4294967295");
		struct json_object *g;
		/* Root's groups (containerd gives them to uid 0) go with root's
		 * identity, which the domain never has: not held, as the
		 * capabilities. Another user's would be host groups: not yet. */
		if (json_object_object_get_ex(v, "additionalGids", &g) && nonempty(g)) {
			if (s->uid != 0)
				return fail(err, n, "process.user.additionalGids",
					    "supplementary groups of a user other than root are not supported yet");
			s->gids_not_held = true;
		}
		if (json_object_object_get_ex(v, "umask", &g) &&
		    (!json_object_is_type(g, json_type_int) || json_object_get_int(g) != 022))
			return fail(err, n, "process.user.umask", "only 022, pdvm's, is supported yet");
		/* uid 0 runs as pdvm's unprivileged account: nothing a guest
		 * asks for runs with root's identity. */
		s->user_set = s->uid != 0;
		if (s->user_set && !gs)
			s->gid = s->uid;
	}
	if (json_object_object_get_ex(p, "capabilities", &v) && nonempty(v) && load_caps(v, s, err, n))
		return -1;
	if (json_object_object_get_ex(p, "rlimits", &v) && load_rlimits(v, s, err, n))
		return -1;
	if (json_object_object_get_ex(p, "apparmorProfile", &v) && nonempty(v))
		return fail(err, n, "process.apparmorProfile", "not supported");
	if (json_object_object_get_ex(p, "selinuxLabel", &v) && nonempty(v))
		return fail(err, n, "process.selinuxLabel", "not supported");
	/* noNewPrivileges: a domain never gains privileges, whatever it says. */
	return 0;
}

static int load_root(struct json_object *r, const char *bundle, struct oci_spec *s, char *err, size_t n)
{
	static const char *const known[] = { "path", "readonly", NULL };
	struct json_object *v;
	char joined[PATH_MAX * 2], real[PATH_MAX];
	struct stat st;
	if (!json_object_is_type(r, json_type_object))
		return fail(err, n, "root", "want an object");
	if (only_known(r, "root", known, err, n))
		return -1;
	if (!json_object_object_get_ex(r, "path", &v) || !json_object_is_type(v, json_type_string) ||
	    !*json_object_get_string(v))
		return fail(err, n, "root.path", "want a path");
	const char *p = json_object_get_string(v);
	snprintf(joined, sizeof(joined), "%s%s%s", p[0] == '/' ? "" : bundle, p[0] == '/' ? "" : "/", p);
	errno = 0;
	if (!realpath(joined, real) || stat(real, &st) || !S_ISDIR(st.st_mode))
		return fail(err, n, "root.path", "%s: %s", joined, errno ? strerror(errno) : "not a directory");
	if (!(s->root = strdup(real)))
		return fail(err, n, "root.path", "out of memory");
	s->readonly = json_object_object_get_ex(r, "readonly", &v) && json_object_get_boolean(v);
	return 0;
}

/* A copy of str appended to the list *v. 0 or -1 (no memory; *v intact). */
static int push_copy(char ***v, const char *str)
{
	char *c = strdup(str);
	if (c && !spec_strv_push(v, c))
		return 0;
	free(c);
	return -1;
}

/* A bind mount as a pdvm volume (tools/volumes.c), its options checked:
 * propagation and atime are a host's matters (the bind lives in pdvm's own
 * namespace and the domain cannot mount), nosuid and nodev hold for every
 * file a domain reaches (it never gains privileges from a set-id file and
 * never opens a host device through one); others are errors. */
static int load_bind(struct json_object *e, const char *f, const char *dst, struct oci_spec *s, char *err, size_t n)
{
	static const char *const harmless[] = { "bind", "rbind", "rprivate", "private", "rslave", "slave", "nosuid",
						"nodev", "relatime", "norelatime", "noatime", "strictatime", "rw", NULL };
	struct json_object *src, *o;
	bool ro = false;
	char fo[128], spec[8192], why[256];
	if (!json_object_object_get_ex(e, "source", &src) || !json_object_is_type(src, json_type_string) ||
	    json_object_get_string(src)[0] != '/')
		return fail(err, n, f, "%s: a bind mount wants an absolute source", dst);
	if (json_object_object_get_ex(e, "options", &o)) {
		for (size_t i = 0; json_object_is_type(o, json_type_array) && i < json_object_array_length(o); i++) {
			const char *opt = json_object_get_string(json_object_array_get_idx(o, i));
			snprintf(fo, sizeof(fo), "%s.options[%zu]", f, i);
			if (!opt)
				return fail(err, n, fo, "want a string");
			if (!strcmp(opt, "ro"))
				ro = true;
			else if (!one_of(opt, harmless))
				return fail(err, n, fo, "%s: option %s is not supported for bind mounts", dst, opt);
		}
	}
	snprintf(spec, sizeof(spec), "%s:%s%s", json_object_get_string(src), dst, ro ? ":ro" : "");
	char *vs, *vd;
	bool vro;
	if (volume_parse(spec, &vs, &vd, &vro, why, sizeof(why)))
		return fail(err, n, f, "%s", why);
	free(vs);
	free(vd);
	return push_copy(&s->volumes, spec) ? fail(err, n, f, "out of memory") : 0;
}

/* A tmpfs mount as pdvm's --tmpfs DST:OPTIONS (tools/volumes.c checks
 * them; propagation options are a host's matter). Images carry its files. */
static int load_tmpfs(struct json_object *e, const char *f, const char *dst, struct oci_spec *s, char *err, size_t n)
{
	struct json_object *o;
	char spec[4096], why[384], *vd, data[600];
	size_t used = (size_t)snprintf(spec, sizeof(spec), "%s:", dst);
	if (json_object_object_get_ex(e, "options", &o))
		for (size_t i = 0; json_object_is_type(o, json_type_array) && i < json_object_array_length(o); i++) {
			const char *opt = json_object_get_string(json_object_array_get_idx(o, i));
			if (!opt || !strcmp(opt, "rprivate") || !strcmp(opt, "private") || !strcmp(opt, "tmpcopyup"))
				continue;
			used += (size_t)snprintf(spec + used, sizeof(spec) - used, "%s%s", spec[used - 1] == ':' ? "" : ",",
						 opt);
			if (used >= sizeof(spec))
				return fail(err, n, f, "%s: too many options", dst);
		}
	if (spec[used - 1] == ':')
		spec[used - 1] = 0;
	unsigned long flags;
	bool ro;
	if (tmpfs_parse(spec, &vd, &flags, data, sizeof(data), &ro, why, sizeof(why)))
		return fail(err, n, f, "%s", why);
	free(vd);
	return push_copy(&s->tmpfs, spec) ? fail(err, n, f, "out of memory") : 0;
}

/* The mounts a container expects that pdvm's view of the root provides
 * itself (its own /proc, /dev, /sys, and /dev/shm: a private tmpfs that
 * images carry, where an engine would bind a directory of its own); bind
 * mounts become volumes; any other is an error. */
static int load_mounts(struct json_object *m, struct oci_spec *s, char *err, size_t n)
{
	static const char *const provided[] = { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
						"/sys/fs/cgroup", NULL };
	if (!json_object_is_type(m, json_type_array))
		return fail(err, n, "mounts", "want an array");
	for (size_t i = 0; i < json_object_array_length(m); i++) {
		struct json_object *e = json_object_array_get_idx(m, i), *d, *t;
		char f[64];
		snprintf(f, sizeof(f), "mounts[%zu]", i);
		if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "destination", &d) ||
		    !json_object_is_type(d, json_type_string))
			return fail(err, n, f, "want an object with a destination");
		const char *dst = json_object_get_string(d);
		if (!strcmp(dst, "/dev") || !strcmp(dst, "/proc") || !strcmp(dst, "/sys"))
			s->container_fs = true;
		if (one_of(dst, provided))
			continue;
		if (json_object_object_get_ex(e, "type", &t) && !strcmp(json_object_get_string(t), "bind")) {
			if (load_bind(e, f, dst, s, err, n))
				return -1;
			continue;
		}
		if (t && !strcmp(json_object_get_string(t), "tmpfs")) {
			if (load_tmpfs(e, f, dst, s, err, n))
				return -1;
			continue;
		}
		return fail(err, n, f, "%s: only bind and tmpfs mounts are supported (pdvm provides /proc, /dev and "
			    "/sys itself)", dst);
	}
	return 0;
}

/* A device cgroup rule: denials are what a domain has anyway; an allowance
 * only for a device pdvm lets a domain open (vmm/path.c: null, zero, full,
 * random, urandom, tty, console, ptmx and ptys), which engines list. */
static int device_rule(struct json_object *e, size_t i, char *err, size_t n)
{
	static const int ok[][2] = { { 1, 3 }, { 1, 5 }, { 1, 7 }, { 1, 8 }, { 1, 9 }, { 5, 0 }, { 5, 1 }, { 5, 2 },
				     { 136, -1 } };
	struct json_object *a, *t, *ma, *mi;
	char f[64];
	snprintf(f, sizeof(f), "linux.resources.devices[%zu]", i);
	if (!json_object_object_get_ex(e, "allow", &a))
		return fail(err, n, f, "want allow");
	if (!json_object_get_boolean(a))
		return 0;
	bool has_mi = json_object_object_get_ex(e, "minor", &mi) && !json_object_is_type(mi, json_type_null);
	if (!json_object_object_get_ex(e, "type", &t) || strcmp(json_object_get_string(t), "c") ||
	    !json_object_object_get_ex(e, "major", &ma))
		return fail(err, n, f, "only character devices pdvm lets a domain open may be allowed");
	for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
		if (json_object_get_int64(ma) == ok[k][0] &&
		    (ok[k][1] < 0 ? true : has_mi && json_object_get_int64(mi) == ok[k][1]))
			return 0;
	return fail(err, n, f, "device %lld:%s is not one pdvm lets a domain open", (long long)json_object_get_int64(ma),
		    has_mi ? json_object_get_string(mi) : "*");
}

static int load_linux(struct json_object *l, struct oci_spec *s, char *err, size_t n)
{
	/* cgroupsPath names a cgroup pdvm does not make (it places domains in
	 * none of their own): accepted, as the manual says. */
	static const char *const known[] = { "namespaces", "resources", "cgroupsPath", "uidMappings", "gidMappings",
					     "maskedPaths", "readonlyPaths", "sysctl", "seccomp", NULL };
	static const char *const ns_ok[] = { "pid", "ipc", "uts", "mount", "network", "cgroup", NULL };
	struct json_object *v;
	if (!json_object_is_type(l, json_type_object))
		return fail(err, n, "linux", "want an object");
	if (only_known(l, "linux", known, err, n))
		return -1;
	if (json_object_object_get_ex(l, "namespaces", &v)) {
		if (!json_object_is_type(v, json_type_array))
			return fail(err, n, "linux.namespaces", "want an array");
		/* A domain is all of these already: its own processes, IPC,
		 * names, view of files; the network is the namespace at the path
		 * given (an engine's, set up by CNI), an empty one of its own
		 * without a path, or the host's without a network entry. */
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *e = json_object_array_get_idx(v, i), *t, *p;
			char f[64];
			snprintf(f, sizeof(f), "linux.namespaces[%zu]", i);
			if (!json_object_object_get_ex(e, "type", &t) || !json_object_is_type(t, json_type_string) ||
			    !one_of(json_object_get_string(t), ns_ok))
				return fail(err, n, f, "type %s is not supported",
					    t ? json_object_get_string(t) : "(none)");
			if (!json_object_object_get_ex(e, "path", &p) || !nonempty(p)) {
				if (!strcmp(json_object_get_string(t), "network"))
					s->new_netns = true;
				if (!strcmp(json_object_get_string(t), "pid"))
					s->pid_ns = true;
				continue;
			}
			if (strcmp(json_object_get_string(t), "network"))
				return fail(err, n, f, "joining an existing %s namespace (path) is not supported",
					    json_object_get_string(t));
			if (!json_object_is_type(p, json_type_string) || json_object_get_string(p)[0] != '/')
				return fail(err, n, f, "want an absolute path");
			free(s->netns);
			s->new_netns = false;
			if (!(s->netns = strdup(json_object_get_string(p))))
				return fail(err, n, f, "out of memory");
		}
	}
	/* The profile is checked here, field by field, and read again by
	 * pdvm run from the copy create keeps (seccomp.json). */
	if (json_object_object_get_ex(l, "seccomp", &v) && !json_object_is_type(v, json_type_null)) {
		struct gfilter *g;
		if (seccomp_profile_parse(v, "linux.seccomp", &g, err, n)) {
			char why[512];
			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, n, "config.json: %s", why);
			return -1;
		}
		gfilter_free(g);
		if (!(s->seccomp = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN))))
			return fail(err, n, "linux.seccomp", "out of memory");
	}
	/* Only the network's: they are set in the namespace joined, as runc
	 * sets them in the container's; any other would be the host's. */
	if (json_object_object_get_ex(l, "sysctl", &v) && nonempty(v)) {
		if (!json_object_is_type(v, json_type_object))
			return fail(err, n, "linux.sysctl", "want an object");
		size_t k = 0;
		if (!(s->sysctl = calloc((size_t)json_object_object_length(v) + 1, sizeof(char *))))
			return fail(err, n, "linux.sysctl", "out of memory");
		json_object_object_foreach(v, key, val) {
			char f[192];
			snprintf(f, sizeof(f), "linux.sysctl.%s", key);
			bool ok = !strncmp(key, "net.", 4) && !strstr(key, "..") && key[strlen(key) - 1] != '.';
			for (const char *c = key; ok && *c; c++)
				ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
				     *c == '-';
			if (!ok)
				return fail(err, n, f, "only net.* settings, of the container's network namespace");
			if (!s->netns && !s->new_netns)
				return fail(err, n, f, "needs a network namespace of the container's (pdvm would set the host's)");
			char *kv;
			if (!json_object_is_type(val, json_type_string) ||
			    asprintf(&kv, "%s=%s", key, json_object_get_string(val)) < 0)
				return fail(err, n, f, "want a string");
			s->sysctl[k++] = kv;
		}
	}
	if (json_object_object_get_ex(l, "resources", &v)) {
		static const char *const rknown[] = { "memory", "devices", "pids", "cpu", NULL };
		struct json_object *m, *x;
		if (!json_object_is_type(v, json_type_object) || only_known(v, "linux.resources", rknown, err, n))
			return json_object_is_type(v, json_type_object) ? -1 : fail(err, n, "linux.resources", "want an object");
		if (json_object_object_get_ex(v, "memory", &m)) {
			static const char *const mknown[] = { "limit", NULL };
			if (only_known(m, "linux.resources.memory", mknown, err, n))
				return -1;
			if (json_object_object_get_ex(m, "limit", &x)) {
				int64_t lim = json_object_get_int64(x);
				if (!json_object_is_type(x, json_type_int) || lim < (int64_t)MEMORY_MIN ||
				    (uint64_t)lim > MEMORY_MAX)
					return fail(err, n, "linux.resources.memory.limit", "want 16M to 64G bytes");
				s->memory = (uint64_t)lim & ~4095ULL;
			}
		}
		if (json_object_object_get_ex(v, "pids", &m)) {
			static const char *const pknown[] = { "limit", NULL };
			if (only_known(m, "linux.resources.pids", pknown, err, n))
				return -1;
			/* 0 or less: no limit (runtime-spec); a domain has at most
			 * 256 threads whatever the limit. */
			if (json_object_object_get_ex(m, "limit", &x)) {
				if (!json_object_is_type(x, json_type_int))
					return fail(err, n, "linux.resources.pids.limit", "want a number");
				int64_t p = json_object_get_int64(x);
				s->pids = p > 0 ? (p > 4194304 ? 4194304 : p) : 0;
			}
		}
		if (json_object_object_get_ex(v, "devices", &m))
			for (size_t i = 0; json_object_is_type(m, json_type_array) && i < json_object_array_length(m); i++)
				if (device_rule(json_object_array_get_idx(m, i), i, err, n))
					return -1;
		/* cpu: only the kernel's default weight, which every process
		 * has without a cgroup of its own. */
		if (json_object_object_get_ex(v, "cpu", &m)) {
			json_object_object_foreach(m, k, val) {
				char f[96];
				snprintf(f, sizeof(f), "linux.resources.cpu.%s", k);
				if (strcmp(k, "shares") || json_object_get_int64(val) != 1024)
					return fail(err, n, f, "pdvm makes no cgroups: only shares 1024, the default weight");
			}
		}
	}
	/* Masked and read-only paths: mounts in pdvm's namespace over those
	 * the root has (tools/masks.c), as runc makes them in a container's. */
	for (int ro = 0; ro < 2; ro++) {
		const char *key = ro ? "readonlyPaths" : "maskedPaths";
		char f[64];
		snprintf(f, sizeof(f), "linux.%s", key);
		if (!json_object_object_get_ex(l, key, &v))
			continue;
		char **list;
		if (!json_object_is_type(v, json_type_array) || strings(v, &list))
			return fail(err, n, f, "want an array of strings");
		if (ro)
			s->rdonly = list;
		else
			s->masked = list;
		for (size_t i = 0; list[i]; i++)
			if (!volume_plain_path(list[i]))
				return fail(err, n, f, "'%s': want an absolute path other than / without //, . or ..",
					    list[i]);
	}
	const char *const unsupported[] = { "uidMappings", "gidMappings", NULL };
	for (int i = 0; unsupported[i]; i++) {
		char f[64];
		snprintf(f, sizeof(f), "linux.%s", unsupported[i]);
		if (json_object_object_get_ex(l, unsupported[i], &v) && nonempty(v))
			return fail(err, n, f, "not supported yet");
	}
	return 0;
}

int oci_spec_load(const char *bundle, struct oci_spec *s, char *err, size_t n)
{
	static const char *const known[] = { "ociVersion", "process", "root", "mounts", "linux", "annotations",
					     "hostname", "domainname", "hooks", NULL };
	char path[PATH_MAX];
	struct json_object *j, *v;
	int r = -1;
	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	if (!(j = json_object_from_file(path)))
		return fail(err, n, path, "cannot read or parse it: %s", json_util_get_last_err());
	if (!json_object_is_type(j, json_type_object)) {
		fail(err, n, "(top)", "want an object");
		goto out;
	}
	if (only_known(j, "", known, err, n))
		goto out;
	if (!json_object_object_get_ex(j, "ociVersion", &v) || !json_object_is_type(v, json_type_string) ||
	    strncmp(json_object_get_string(v), "1.", 2)) {
		fail(err, n, "ociVersion", "want a 1.x version");
		goto out;
	}
	if (json_object_object_get_ex(j, "hostname", &v) && nonempty(v)) {
		char why[160];
		if (!json_object_is_type(v, json_type_string) ||
		    spec_check_hostname(json_object_get_string(v), why, sizeof(why))) {
			fail(err, n, "hostname", "%s", json_object_is_type(v, json_type_string) ? why : "want a string");
			goto out;
		}
		if (!(s->hostname = strdup(json_object_get_string(v)))) {
			fail(err, n, "hostname", "out of memory");
			goto out;
		}
	}
	if (json_object_object_get_ex(j, "domainname", &v) && nonempty(v)) {
		fail(err, n, "domainname", "not supported yet");
		goto out;
	}
	if (json_object_object_get_ex(j, "hooks", &v) && !json_object_is_type(v, json_type_null)) {
		if (oci_hooks_check(v, err, n))
			goto out;
		if (nonempty(v) && !(s->hooks = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)))) {
			fail(err, n, "hooks", "out of memory");
			goto out;
		}
	}
	if (!json_object_object_get_ex(j, "process", &v)) {
		fail(err, n, "process", "missing (pdvm runs a process in every container)");
		goto out;
	}
	if (load_process(v, s, err, n))
		goto out;
	if (s->gids_not_held) {
		char *m = NULL;
		if (asprintf(&m, "%s%sprocess.user.additionalGids: root's groups are not held (the domain is the "
			     "unprivileged account)", s->notice ? s->notice : "", s->notice ? "; " : "") >= 0) {
			free(s->notice);
			s->notice = m;
		}
	}
	if (!json_object_object_get_ex(j, "root", &v)) {
		fail(err, n, "root", "missing");
		goto out;
	}
	if (load_root(v, bundle, s, err, n))
		goto out;
	if (json_object_object_get_ex(j, "mounts", &v) && load_mounts(v, s, err, n))
		goto out;
	if (json_object_object_get_ex(j, "linux", &v) && load_linux(v, s, err, n))
		goto out;
	struct json_object *ann = NULL;
	if (json_object_object_get_ex(j, "annotations", &ann) && !json_object_is_type(ann, json_type_object)) {
		fail(err, n, "annotations", "want an object");
		goto out;
	}
	const char *a = ann ? json_object_to_json_string_ext(ann, JSON_C_TO_STRING_PLAIN) : "{}";
	if (!(s->annotations = strdup(a))) {
		fail(err, n, "annotations", "out of memory");
		goto out;
	}
	r = 0;
out:
	json_object_put(j);
	if (r)
		oci_spec_free(s);
	return r;
}

int oci_spec_load_process(const char *path, struct oci_spec *s, char *err, size_t n)
{
	struct json_object *j;
	memset(s, 0, sizeof(*s));
	if (!(j = json_object_from_file(path)))
		return fail(err, n, path, "cannot read or parse it: %s", json_util_get_last_err());
	int r = load_process(j, s, err, n);
	json_object_put(j);
	if (r)
		oci_spec_free(s);
	return r;
}

static int add_strings(config_setting_t *parent, const char *key, char *const *v)
{
	config_setting_t *a = config_setting_add(parent, key, CONFIG_TYPE_ARRAY);
	if (!a)
		return -1;
	for (; v && *v; v++)
		if (!config_setting_set_string_elem(a, -1, *v))
			return -1;
	return 0;
}

static int add_string(config_setting_t *parent, const char *key, const char *v)
{
	config_setting_t *s = config_setting_add(parent, key, CONFIG_TYPE_STRING);
	return s && config_setting_set_string(s, v) ? 0 : -1;
}

static int add_true(config_setting_t *parent, const char *key)
{
	config_setting_t *s = config_setting_add(parent, key, CONFIG_TYPE_BOOL);
	return s && config_setting_set_bool(s, 1) ? 0 : -1;
}

int oci_spec_write_cfg(const struct oci_spec *s, const char *name, const char *path, char *err, size_t n)
{
	config_t cf;
	char buf[64];
	config_init(&cf);
	config_setting_t *root = config_root_setting(&cf);
	char *const writable[] = { "/", NULL };
	int r = add_string(root, "name", name) || add_strings(root, "command", s->args) ||
		add_strings(root, "env", s->env) || add_string(root, "cwd", s->cwd) || add_string(root, "root", s->root);
	if (!r && !s->readonly)
		r = add_strings(root, "writable", writable);
	if (!r && s->hostname)
		r = add_string(root, "hostname", s->hostname);
	if (!r && s->container_fs)
		r = add_true(root, "container_fs");
	if (!r && s->pid_ns)
		r = add_true(root, "pid_namespace");
	/* Container root is pdvm's unprivileged account on the host, and root
	 * as the program sees itself, as in a rootless container. */
	if (!r && !s->user_set)
		r = add_true(root, "map_root_user");
	if (!r && s->volumes && s->volumes[0])
		r = add_strings(root, "volumes", s->volumes);
	if (!r && s->pids) {
		config_setting_t *p = config_setting_add(root, "pids_limit", CONFIG_TYPE_INT);
		r = !p || !config_setting_set_int(p, (int)s->pids);
	}
	if (!r && s->seccomp) {
		/* Beside the domain.cfg, which names it. */
		char sp[4096];
		const char *slash = strrchr(path, '/');
		snprintf(sp, sizeof(sp), "%.*sseccomp.json", slash ? (int)(slash - path + 1) : 0, path);
		FILE *f = fopen(sp, "we");
		r = !f || fputs(s->seccomp, f) < 0;
		if (f && fclose(f))
			r = 1;
		if (!r)
			r = add_string(root, "seccomp_profile", sp);
	}
	if (!r && s->tmpfs && s->tmpfs[0])
		r = add_strings(root, "tmpfs", s->tmpfs);
	if (!r && s->masked && s->masked[0])
		r = add_strings(root, "masked_paths", s->masked);
	if (!r && s->rdonly && s->rdonly[0])
		r = add_strings(root, "readonly_paths", s->rdonly);
	if (!r && s->ulimits && s->ulimits[0])
		r = add_strings(root, "ulimits", s->ulimits);
	if (!r && s->memory) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)s->memory);
		r = add_string(root, "memory", buf);
	}
	if (!r && s->user_set) {
		snprintf(buf, sizeof(buf), "%u:%u", s->uid, s->gid);
		r = add_string(root, "user", buf);
	}
	if (!r && !config_write_file(&cf, path))
		r = -1;
	if (r)
		snprintf(err, n, "writing %s: %s", path, errno ? strerror(errno) : "libconfig failed");
	config_destroy(&cf);
	return r ? -1 : 0;
}

void oci_spec_free(struct oci_spec *s)
{
	spec_strv_free(s->args);
	spec_strv_free(s->env);
	free(s->cwd);
	free(s->root);
	free(s->annotations);
	free(s->hostname);
	spec_strv_free(s->ulimits);
	spec_strv_free(s->volumes);
	spec_strv_free(s->tmpfs);
	spec_strv_free(s->masked);
	spec_strv_free(s->rdonly);
	spec_strv_free(s->sysctl);
	free(s->netns);
	free(s->notice);
	free(s->hooks);
	free(s->seccomp);
	memset(s, 0, sizeof(*s));
}
