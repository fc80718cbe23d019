/* config.c: a domain's configuration — domain.cfg (libconfig syntax), command-line overrides, defaults. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "vmm/status.h"
#include "config.h"
#include "devshm.h"
#include "net/netns.h"
#include "volumes.h"
#include "seccomp_profile.h"
#include "vmm/gfilter.h"

#define MEMORY_DEFAULT	(512ULL << 20)
#define MEMORY_MIN	(16ULL << 20)
#define MEMORY_MAX	(64ULL << 30)
#define CFG_PAGE	4096ULL

/* Every key domain.cfg may hold; anything else is an error so typos show. */
static const char *const known_keys[] = {
	"name", "command", "program", "args", "env", "cwd", "root",
	"writable", "memory", "log", "verbose", "trap_backend", "syscall_path", "net", "user", "abstract_unix", "shm_size",
	"hostname", "ulimits", "volumes", "masked_paths", "readonly_paths", "pids_limit", "seccomp_profile", "container_fs", "tmpfs",
	"pid_namespace", "map_root_user", "trace", NULL
};

static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/",
	NULL
};

/* Configuration is set up once at start; running out of memory there is
 * fatal and not worth an error path through every caller. */
static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("pdvm: out of memory\n", stderr);
		exit(EXIT_PDVM_ERROR);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xrealloc(NULL, n), s, n);
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("pdvm: out of memory\n", stderr);
		exit(EXIT_PDVM_ERROR);
	}
	return s;
}

/* ---- NULL-terminated string vectors ---- */

static size_t strv_len(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Appends s (taking ownership) and keeps the vector NULL-terminated. */
static char **strv_push(char **v, char *s)
{
	size_t n = strv_len(v);

	v = xrealloc(v, (n + 2) * sizeof(*v));
	v[n] = s;
	v[n + 1] = NULL;
	return v;
}

static char **strv_from(const char *const *src)
{
	char **v = xrealloc(NULL, sizeof(*v));

	v[0] = NULL;
	for (size_t i = 0; src[i]; i++)
		v = strv_push(v, xstrdup(src[i]));
	return v;
}

/* Adds KEY=VALUE, replacing an existing KEY= entry (the later one wins, like
 * docker's -e). */
static char **env_set(char **env, const char *kv)
{
	size_t klen = strchr(kv, '=') - kv + 1;

	for (size_t i = 0; env && env[i]; i++) {
		if (!strncmp(env[i], kv, klen)) {
			free(env[i]);
			env[i] = xstrdup(kv);
			return env;
		}
	}
	return strv_push(env, xstrdup(kv));
}

/* ---- value checks shared by the file and the command line ---- */

int config_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0': break;
	case 'k': case 'K': mul = 1ULL << 10; p++; break;
	case 'm': case 'M': mul = 1ULL << 20; p++; break;
	case 'g': case 'G': mul = 1ULL << 30; p++; break;
	case 't': case 'T': mul = 1ULL << 40; p++; break;
	default: return -1;
	}
	if (*p != '\0' || (v && mul > UINT64_MAX / v))
		return -1;
	*out = v * mul;
	return 0;
}

static bool memory_ok(uint64_t bytes)
{
	return bytes >= MEMORY_MIN && bytes <= MEMORY_MAX;
}

/* The guest's physical memory is whole pages. */
static uint64_t page_round(uint64_t bytes)
{
	return (bytes + CFG_PAGE - 1) & ~(CFG_PAGE - 1);
}

static int set_memory_str(struct domain_config *c, const char *s, char *why, size_t n)
{
	uint64_t v;

	if (config_parse_size(s, &v) < 0) {
		snprintf(why, n, "bad size \"%s\" (use e.g. 512M, 2G)", s);
		return -1;
	}
	if (!memory_ok(v)) {
		snprintf(why, n, "%s is out of range (16M to 64G)", s);
		return -1;
	}
	c->dom.memory = page_round(v);
	return 0;
}

/* A name made from a file or program name: bad characters become '_'. */
static char *derive_name(const char *path, const char *strip_suffix)
{
	const char *base = strrchr(path, '/');
	size_t len, slen = strip_suffix ? strlen(strip_suffix) : 0;
	char *name;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (slen && len > slen && !strcmp(base + len - slen, strip_suffix))
		len -= slen;
	if (len > SPEC_NAME_MAX)
		len = SPEC_NAME_MAX;
	if (len == 0)
		return xstrdup("domain");
	name = xrealloc(NULL, len + 1);
	for (size_t i = 0; i < len; i++)
		name[i] = spec_name_char_ok(base[i], i == 0) ? base[i] : (i == 0 ? 'x' : '_');
	name[len] = '\0';
	return name;
}

static int check_env(const char *s, char *why, size_t n)
{
	const char *eq = strchr(s, '=');

	if (!eq || eq == s) {
		snprintf(why, n, "bad entry \"%s\" (want KEY=VALUE)", s);
		return -1;
	}
	return 0;
}

static int check_abs(const char *s, char *why, size_t n)
{
	if (s[0] != '/') {
		snprintf(why, n, "\"%s\" is not an absolute path (paths inside the root start with /)", s);
		return -1;
	}
	return 0;
}

/* An ID for setresuid: (uid_t)-1 means "unchanged" there, so it is refused. */
static int parse_id(const char *s, const char **end, uint32_t *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *e;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || v >= 0xffffffffULL)
		return -1;
	*out = (uint32_t)v;
	*end = e;
	return 0;
}

/* "root", an account name as useradd accepts it, or UID[:GID]. */
static int check_user(const char *s, char *why, size_t n)
{
	const char *e;
	uint32_t id;
	if (*s >= '0' && *s <= '9') {
		if (!parse_id(s, &e, &id) && (!*e || (*e == ':' && !parse_id(e + 1, &e, &id) && !*e)))
			return 0;
	} else if (*s && strlen(s) <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(s) && *s != '-') {
		return 0;
	}
	snprintf(why, n, "want root, an account name or UID[:GID], got '%s'", s);
	return -1;
}

int config_resolve_user(struct domain_config *c, char *err, size_t errlen)
{
	const char *u = c->user ? c->user : CONFIG_DEFAULT_USER;
	char why[160];
	if (check_user(u, why, sizeof(why))) {
		snprintf(err, errlen, "user: %s", why);
		return -1;
	}
	struct dom_cred cr = { 0 };
	if (*u >= '0' && *u <= '9') {
		const char *e;
		parse_id(u, &e, &cr.uid);
		struct passwd *pw = getpwuid(cr.uid);
		cr.gid = pw ? pw->pw_gid : cr.uid;
		if (*e == ':')
			parse_id(e + 1, &e, &cr.gid);
	} else {
		struct passwd *pw = getpwnam(u);
		if (!pw) {
			snprintf(err, errlen, "user: no account '%s' on this host%s", u,
				 strcmp(u, CONFIG_DEFAULT_USER) ? "" :
				 " (tools/deps.sh creates it; or name another with --user)");
			return -1;
		}
		cr.uid = pw->pw_uid;
		cr.gid = pw->pw_gid;
	}
	/* uid 0 is root with or without a group: the opt-in, all or nothing. */
	if (cr.uid == 0)
		cr = (struct dom_cred){ .as_root = true };
	/* pdvm run by an unprivileged user (one in group kvm): the domain is
	 * that user, who cannot become another. */
	if (geteuid() != 0) {
		struct dom_cred me = { .uid = (uint32_t)geteuid(), .gid = (uint32_t)getegid(), .own = true };
		if (c->user && (cr.as_root || cr.uid != me.uid || cr.gid != me.gid)) {
			snprintf(err, errlen, "user: '%s': only root can run a domain as another user", c->user);
			return -1;
		}
		cr = me;
	}
	c->dom.cred = cr;
	return 0;
}

static int check_nonempty(const char *s, char *why, size_t n)
{
	if (!*s) {
		snprintf(why, n, "empty string");
		return -1;
	}
	return 0;
}

static void replace(char **field, char *v)
{
	free(*field);
	*field = v;
}

static int check_plain(const char *v, char *why, size_t n)
{
	if (volume_plain_path(v))
		return 0;
	snprintf(why, n, "'%s': want an absolute path other than / without //, . or ..", v);
	return -1;
}

static int check_tmpfs(const char *v, char *why, size_t n)
{
	char *dst, data[600];
	unsigned long flags;
	bool ro;
	if (tmpfs_parse(v, &dst, &flags, data, sizeof(data), &ro, why, n))
		return -1;
	free(dst);
	return 0;
}

static int check_volume(const char *v, char *why, size_t n)
{
	char *src, *dst;
	bool ro;
	if (volume_parse(v, &src, &dst, &ro, why, n))
		return -1;
	free(src);
	free(dst);
	return 0;
}

/* Sets one key from a string; on error writes the reason (without the key)
 * to why. */
static int check_ulimit(const char *v, char *why, size_t n)
{
	int res;
	uint64_t cur, max;
	return spec_parse_ulimit(v, &res, &cur, &max, why, n);
}

/* One NAME=SOFT[:HARD] limit into the spec (a later one for the same NAME wins). */
static int set_ulimit(struct domain_config *c, const char *v, char *why, size_t n)
{
	int res;
	uint64_t cur, max;
	if (spec_parse_ulimit(v, &res, &cur, &max, why, n))
		return -1;
	c->dom.rlimit_set |= 1u << res;
	c->dom.rlimit_cur[res] = cur;
	c->dom.rlimit_max[res] = max;
	return 0;
}

static int set_key(struct domain_config *c, const char *key, const char *value,
		   char *why, size_t n)
{
	int r = 0;

	if (!strcmp(key, "name")) {
		if (!(r = spec_check_name(value, why, n)))
			replace(&c->dom.name, xstrdup(value));
	} else if (!strcmp(key, "root") || !strcmp(key, "log")) {
		if (!(r = check_nonempty(value, why, n)))
			replace(!strcmp(key, "root") ? &c->dom.root : &c->dom.log, xstrdup(value));
	} else if (!strcmp(key, "cwd")) {
		if (!(r = check_abs(value, why, n)))
			replace(&c->dom.cwd, xstrdup(value));
	} else if (!strcmp(key, "ulimit")) {
		r = set_ulimit(c, value, why, n);
	} else if (!strcmp(key, "container_fs")) {
		c->container_fs = true;  /* the flag's value is ignored: --container-fs has none */
	} else if (!strcmp(key, "pid_namespace")) {
		c->dom.pid_ns = true;    /* likewise --pid-namespace */
	} else if (!strcmp(key, "map_root_user")) {
		c->dom.map_root = true;  /* likewise --map-root-user */
	} else if (!strcmp(key, "seccomp_profile")) {
		struct gfilter *g;
		if (!(r = seccomp_profile_load(value, &g, why, n))) {
			gfilter_free(c->dom.gfilter);
			c->dom.gfilter = g;
		}
	} else if (!strcmp(key, "pids_limit")) {
		/* docker's --pids-limit: a count, or -1 for none. */
		char *end;
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno || end == value || *end || v < -1 || v == 0 || v > 4194304) {
			snprintf(why, n, "want a number from 1 to 4194304, or -1 for no limit, got '%s'", value);
			r = -1;
		} else {
			c->dom.pids_max = v < 0 ? 0 : (uint32_t)v;
		}
	} else if (!strcmp(key, "mask") || !strcmp(key, "read_only")) {
		if (!(r = check_plain(value, why, n))) {
			char ***l = !strcmp(key, "mask") ? &c->masked : &c->rdonly;
			*l = strv_push(*l, xstrdup(value));
		}
	} else if (!strcmp(key, "tmpfs")) {
		if (!(r = check_tmpfs(value, why, n)))
			c->tmpfs_mounts = strv_push(c->tmpfs_mounts, xstrdup(value));
	} else if (!strcmp(key, "volume")) {
		if (!(r = check_volume(value, why, n)))
			c->volumes = strv_push(c->volumes, xstrdup(value));
	} else if (!strcmp(key, "hostname")) {
		if (!(r = spec_check_hostname(value, why, n)))
			replace(&c->dom.hostname, xstrdup(value));
	} else if (!strcmp(key, "memory")) {
		r = set_memory_str(c, value, why, n);
	} else if (!strcmp(key, "writable")) {
		if (!(r = check_abs(value, why, n)))
			c->dom.writable = strv_push(c->dom.writable, xstrdup(value));
	} else if (!strcmp(key, "trap_backend")) {
		if (strcmp(value, "auto") && strcmp(value, "pvm") && strcmp(value, "ring0")) {
			snprintf(why, n, "want auto, pvm or ring0, got '%s'", value);
			r = -1;
		} else {
			replace(&c->dom.trap_backend, strcmp(value, "auto") ? xstrdup(value) : NULL);
		}
	} else if (!strcmp(key, "syscall_path")) {
		static const char *const paths[] = { "auto", "exitless", "exit" };  /* enum syscall_path */
		r = -1;
		for (int i = 0; i < 3; i++)
			if (!strcmp(value, paths[i])) {
				c->dom.syscall_path = i;
				r = 0;
			}
		if (r)
			snprintf(why, n, "want auto, exitless or exit, got '%s'", value);
	} else if (!strcmp(key, "net")) {
		if (strcmp(value, "host") && strcmp(value, "netns")) {
			snprintf(why, n, "want host or netns, got '%s'", value);
			r = -1;
		} else {
			replace(&c->net.mode, strcmp(value, "host") ? xstrdup(value) : NULL);
		}
	} else if (!strcmp(key, "publish")) {
		unsigned hp, dp;
		bool udp;
		if (netns_parse_publish(value, &hp, &dp, &udp)) {
			snprintf(why, n, "want HOSTPORT:DOMAINPORT (ports 1-65535, optional /udp), got '%s'", value);
			r = -1;
		} else {
			c->net.publish = strv_push(c->net.publish, xstrdup(value));
		}
	} else if (!strcmp(key, "address")) {
		if (!netns_address_ok(value)) {
			snprintf(why, n, "want an address from " NETNS_PREFIX "2 to " NETNS_PREFIX "254, got '%s'", value);
			r = -1;
		} else {
			replace(&c->net.address, xstrdup(value));
		}
	} else if (!strcmp(key, "abstract_unix")) {
		if (strcmp(value, "own") && strcmp(value, "host")) {
			snprintf(why, n, "want own or host, got '%s'", value);
			r = -1;
		} else {
			c->dom.abstract_host = !strcmp(value, "host");
		}
	} else if (!strcmp(key, "shm_size")) {
		uint64_t v;

		if (config_parse_size(value, &v) < 0 || (v && v < 4096) || v > (64ULL << 30)) {
			snprintf(why, n, "want 0 (no private /dev/shm) or a size from 4K to 64G like \"64M\", got '%s'",
				 value);
			r = -1;
		} else {
			c->shm_size = v;
			c->shm_size_set = true;
		}
	} else if (!strcmp(key, "user")) {
		if (!(r = check_user(value, why, n)))
			replace(&c->user, xstrdup(value));
	} else if (!strcmp(key, "env")) {
		if (!(r = check_env(value, why, n))) {
			if (!c->dom.envp)
				c->dom.envp = strv_from(default_env);
			c->dom.envp = env_set(c->dom.envp, value);
		}
	} else {
		snprintf(why, n, "cannot be set this way");
		r = -1;
	}
	return r;
}

int config_set(struct domain_config *c, const char *key, const char *value,
	       char *err, size_t errlen)
{
	char why[512];

	if (set_key(c, key, value, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

/* ---- domain.cfg ---- */

struct loader {
	const char *path;       /* the config file as given */
	char *dir;              /* its directory, absolute and resolved */
	char *err;
	size_t errlen;
};

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST: return "a list";
	default: return "something else";
	}
}

/* Writes "FILE:LINE: key: why" for setting s (key = the top-level key s
 * belongs to) and returns -1. */
static int fail(struct loader *l, const config_setting_t *s, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct loader *l, const config_setting_t *s, const char *key,
		const char *fmt, ...)
{
	const char *file = config_setting_source_file(s) ? config_setting_source_file(s) : l->path;
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%u: %s: %s", file, config_setting_source_line(s), key, why);
	return -1;
}

static int want_string(struct loader *l, const config_setting_t *s, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(l, s, config_setting_name(s), "want a string, got %s",
			    type_name(config_setting_type(s)));
	*out = config_setting_get_string(s);
	return 0;
}

/* Reads a list of strings; check (may be NULL) validates each element. */
static int want_strings(struct loader *l, const config_setting_t *s, char ***out,
			int (*check)(const char *, char *, size_t))
{
	const char *key = config_setting_name(s);
	int type = config_setting_type(s), n;
	char why[512];

	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
		return fail(l, s, key, "want a list of strings like [\"a\", \"b\"], got %s",
			    type_name(type));
	spec_strv_free(*out);
	*out = xrealloc(NULL, sizeof(**out));
	(*out)[0] = NULL;
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail(l, e, key, "element %d: want a string, got %s", i + 1,
				    type_name(config_setting_type(e)));
		if (check && check(config_setting_get_string(e), why, sizeof(why)) < 0)
			return fail(l, e, key, "%s", why);
		*out = strv_push(*out, xstrdup(config_setting_get_string(e)));
	}
	return 0;
}

/* Host paths in a config file are relative to the file's directory, so a
 * config and its root directory can move together. */
static char *host_path(struct loader *l, const char *p)
{
	char *joined, *real;

	if (p[0] == '/')
		return xstrdup(p);
	joined = xasprintf("%s/%s", l->dir, p);
	real = realpath(joined, NULL);
	if (!real)
		return joined;  /* does not exist (yet): keep it for a clear error later */
	free(joined);
	return real;
}

/* Levenshtein distance (b short: a known key), to suggest the key meant. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[32];

	if (lb >= sizeof(row) / sizeof(row[0]))
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static int unknown_key(struct loader *l, const config_setting_t *s)
{
	const char *name = config_setting_name(s);
	size_t near = strlen(name) <= 4 ? 1 : 2;   /* short names: only near misses */

	for (size_t i = 0; known_keys[i]; i++)
		if (edit_distance(name, known_keys[i]) <= near)
			return fail(l, s, name, "unknown key (did you mean '%s'?)", known_keys[i]);
	return fail(l, s, name, "unknown key (known keys: name, command, program, args, env, cwd, root, writable, "
		    "memory, log, verbose, trap_backend, syscall_path, net, user, abstract_unix, shm_size, hostname, "
		    "ulimits, volumes, masked_paths, readonly_paths, pids_limit, seccomp_profile, container_fs, tmpfs, pid_namespace, map_root_user, trace)");
}

static int load_memory(struct loader *l, struct domain_config *c, const config_setting_t *s)
{
	char why[512];
	long long v;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		if (set_memory_str(c, config_setting_get_string(s), why, sizeof(why)) < 0)
			return fail(l, s, "memory", "%s", why);
		return 0;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		if (v < 0 || !memory_ok((uint64_t)v))
			return fail(l, s, "memory", "%lld bytes is out of range (16M to 64G)", v);
		c->dom.memory = page_round((uint64_t)v);
		return 0;
	default:
		return fail(l, s, "memory", "want a size like \"512M\" or a number of bytes, got %s",
			    type_name(config_setting_type(s)));
	}
}

/* net = { mode = "host" | "netns"; publish = [ "8080:80", ... ]; address = "10.231.0.9"; } */
static int load_net(struct loader *l, struct domain_config *c, const config_setting_t *s)
{
	char why[512];
	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return fail(l, s, "net", "want a group like { mode = \"netns\"; publish = [\"8080:80\"]; }, got %s",
			    type_name(config_setting_type(s)));
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *k = config_setting_name(e), *v = NULL;
		if (!strcmp(k, "publish")) {
			char **list = NULL;
			if (want_strings(l, e, &list, NULL) < 0) {
				spec_strv_free(list);
				return -1;
			}
			for (size_t j = 0; list[j]; j++)
				if (set_key(c, "publish", list[j], why, sizeof(why)) < 0) {
					spec_strv_free(list);
					return fail(l, e, "net.publish", "%s", why);
				}
			spec_strv_free(list);
		} else if (!strcmp(k, "mode") || !strcmp(k, "address")) {
			if (want_string(l, e, &v) < 0)
				return -1;
			if (set_key(c, !strcmp(k, "mode") ? "net" : "address", v, why, sizeof(why)) < 0)
				return fail(l, e, !strcmp(k, "mode") ? "net.mode" : "net.address", "%s", why);
		} else {
			return fail(l, e, k, "unknown key in net (known: mode, publish, address)");
		}
	}
	return 0;
}

static int load_setting(struct loader *l, struct domain_config *c, const config_setting_t *s)
{
	if (!strcmp(config_setting_name(s), "volumes") || !strcmp(config_setting_name(s), "masked_paths") ||
	    !strcmp(config_setting_name(s), "readonly_paths") || !strcmp(config_setting_name(s), "tmpfs")) {
		const char *k = config_setting_name(s);
		char **list = NULL, ***field = !strcmp(k, "volumes") ? &c->volumes : !strcmp(k, "tmpfs") ? &c->tmpfs_mounts :
					    !strcmp(k, "masked_paths") ? &c->masked : &c->rdonly;
		if (want_strings(l, s, &list, !strcmp(k, "volumes") ? check_volume : !strcmp(k, "tmpfs") ? check_tmpfs :
					      check_plain) < 0) {
			spec_strv_free(list);
			return -1;
		}
		spec_strv_free(*field);
		*field = list;
		return 0;
	}
	if (!strcmp(config_setting_name(s), "ulimits")) {
		char **list = NULL, why[512];
		int r = want_strings(l, s, &list, check_ulimit);
		for (size_t i = 0; !r && list[i]; i++)
			if (set_ulimit(c, list[i], why, sizeof(why)))
				r = fail(l, s, "ulimits", "%s", why);
		spec_strv_free(list);
		return r < 0 ? -1 : 0;
	}
	const char *key = config_setting_name(s), *v = NULL;
	char why[512];

	if (!strcmp(key, "command") || !strcmp(key, "args") || !strcmp(key, "env") ||
	    !strcmp(key, "writable")) {
		char **list = NULL;
		int r;

		if (!strcmp(key, "env"))
			r = want_strings(l, s, &list, check_env);
		else if (!strcmp(key, "writable"))
			r = want_strings(l, s, &list, check_abs);
		else
			r = want_strings(l, s, &list, NULL);
		if (r < 0) {
			spec_strv_free(list);
			return -1;
		}
		if (!strcmp(key, "command")) {
			if (!list[0]) {
				spec_strv_free(list);
				return fail(l, s, key, "empty (want [\"/path/to/program\", \"arg\", ...])");
			}
			spec_strv_free(c->dom.argv);
			c->dom.argv = list;
		} else if (!strcmp(key, "args")) {
			spec_strv_free(c->dom.argv);
			c->dom.argv = list;  /* argv[0] is put in front once 'program' is known */
		} else if (!strcmp(key, "env")) {
			/* An 'env' list is the whole environment: a later duplicate KEY wins. */
			spec_strv_free(c->dom.envp);
			c->dom.envp = strv_from((const char *const[]){ NULL });
			for (size_t i = 0; list[i]; i++)
				c->dom.envp = env_set(c->dom.envp, list[i]);
			spec_strv_free(list);
		} else {
			spec_strv_free(c->dom.writable);
			c->dom.writable = list;
		}
		return 0;
	}
	if (!strcmp(key, "verbose") || !strcmp(key, "container_fs") || !strcmp(key, "pid_namespace") ||
	    !strcmp(key, "map_root_user")) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail(l, s, key, "want true or false, got %s",
				    type_name(config_setting_type(s)));
		bool *flag = !strcmp(key, "verbose")	       ? &c->dom.verbose
			     : !strcmp(key, "container_fs")  ? &c->container_fs
			     : !strcmp(key, "pid_namespace") ? &c->dom.pid_ns
							     : &c->dom.map_root;
		*flag = config_setting_get_bool(s);
		return 0;
	}
	if (!strcmp(key, "memory"))
		return load_memory(l, c, s);
	if (!strcmp(key, "pids_limit") && config_setting_type(s) == CONFIG_TYPE_INT) {
		char num[32];
		snprintf(num, sizeof(num), "%d", config_setting_get_int(s));
		return set_key(c, key, num, why, sizeof(why)) < 0 ? fail(l, s, key, "%s", why) : 0;
	}
	if (!strcmp(key, "net"))
		return load_net(l, c, s);

	if (want_string(l, s, &v) < 0)
		return -1;
	if (!strcmp(key, "program")) {
		if (check_nonempty(v, why, sizeof(why)) < 0)
			return fail(l, s, key, "%s", why);
		replace(&c->dom.program, xstrdup(v));
	} else if (!strcmp(key, "root") || !strcmp(key, "log")) {
		if (check_nonempty(v, why, sizeof(why)) < 0)
			return fail(l, s, key, "%s", why);
		replace(!strcmp(key, "root") ? &c->dom.root : &c->dom.log, host_path(l, v));
	} else if (!strcmp(key, "trace")) {
		if (check_nonempty(v, why, sizeof(why)) < 0)
			return fail(l, s, key, "%s", why);
		replace(&c->trace, host_path(l, v));   /* relative to the file, as log */
	} else if (!strcmp(key, "seccomp_profile")) {
		/* Relative to the config file, as root and log are. */
		char *p = host_path(l, v);
		int r = set_key(c, key, p, why, sizeof(why));
		free(p);
		if (r < 0)
			return fail(l, s, key, "%s", why);
	} else if (set_key(c, key, v, why, sizeof(why)) < 0) {   /* name, cwd, hostname, trap_backend, syscall_path */
		return fail(l, s, key, "%s", why);
	}
	return 0;
}

static bool is_known(const char *key)
{
	for (size_t i = 0; known_keys[i]; i++)
		if (!strcmp(key, known_keys[i]))
			return true;
	return false;
}

/* Cross-key rules: exactly one of command / program(+args). */
static int load_command(struct loader *l, struct domain_config *c, config_t *cf)
{
	config_setting_t *cmd = config_lookup(cf, "command");
	config_setting_t *prog = config_lookup(cf, "program");
	config_setting_t *args = config_lookup(cf, "args");

	if (cmd && prog)
		return fail(l, prog, "program", "both 'command' and 'program' are set (use one)");
	if (cmd && args)
		return fail(l, args, "args", "'args' goes with 'program', not 'command' "
			    "(put the arguments in 'command')");
	if (args && !prog)
		return fail(l, args, "args", "'args' needs 'program'");
	if (cmd) {
		replace(&c->dom.program, xstrdup(c->dom.argv[0]));
	} else if (prog) {
		char **argv = strv_push(NULL, xstrdup(c->dom.program));

		for (size_t i = 0; c->dom.argv && c->dom.argv[i]; i++)
			argv = strv_push(argv, xstrdup(c->dom.argv[i]));
		spec_strv_free(c->dom.argv);
		c->dom.argv = argv;
	} else {
		snprintf(l->err, l->errlen, "%s: no command (set e.g. command = [\"/bin/busybox\", "
			 "\"echo\", \"hi\"]; or program = \"...\";)", l->path);
		return -1;
	}
	return 0;
}

/* The config file's directory, absolute, for resolving relative host paths. */
static char *config_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *real;

	if (!slash)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xasprintf("%.*s", (int)(slash - path), path);
	real = realpath(dir, NULL);
	if (real) {
		free(dir);
		return real;
	}
	return dir;
}

int config_load(struct domain_config *c, const char *path, char *err, size_t errlen)
{
	struct loader l = { .path = path, .err = err, .errlen = errlen };
	config_setting_t *root;
	config_t cf;
	FILE *fp;
	int r = -1;

	fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	l.dir = config_dir(path);
	config_init(&cf);
	config_set_include_dir(&cf, l.dir);
	if (config_read(&cf, fp) != CONFIG_TRUE) {
		const char *file = config_error_file(&cf) ? config_error_file(&cf) : path;

		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: %s", file, config_error_text(&cf));
		else
			snprintf(err, errlen, "%s:%d: %s", file, config_error_line(&cf),
				 config_error_text(&cf));
		goto out;
	}
	root = config_root_setting(&cf);
	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *s = config_setting_get_elem(root, i);

		if (!is_known(config_setting_name(s))) {
			unknown_key(&l, s);
			goto out;
		}
		if (load_setting(&l, c, s) < 0)
			goto out;
	}
	if (load_command(&l, c, &cf) < 0)
		goto out;
	if (!c->dom.name)
		c->dom.name = derive_name(path, ".cfg");
	r = 0;
out:
	config_destroy(&cf);
	fclose(fp);
	free(l.dir);
	if (r < 0)
		config_free(c);
	return r;
}

void config_defaults(struct domain_config *c)
{
	if (!c->dom.name)
		c->dom.name = c->dom.program ? derive_name(c->dom.program, NULL) : xstrdup("domain");
	if (!c->dom.argv && c->dom.program)
		c->dom.argv = strv_push(NULL, xstrdup(c->dom.program));
	if (!c->dom.envp)
		c->dom.envp = strv_from(default_env);
	if (!c->dom.cwd)
		c->dom.cwd = xstrdup("/");
	if (!c->dom.root)
		c->dom.root = xstrdup("/");
	if (!c->shm_size_set)
		c->shm_size = DEVSHM_DEFAULT_SIZE;
	if (!c->dom.writable)
		c->dom.writable = strv_from((const char *const[]){ NULL });
	if (!c->dom.memory)
		c->dom.memory = MEMORY_DEFAULT;
	if (!c->dom.log)
		c->dom.log = config_default_log(c->dom.name);
}

char *config_default_log(const char *name)
{
	return xasprintf(CONFIG_LOG_DIR "/%s.log", name);
}

void config_free(struct domain_config *c)
{
	spec_free(&c->dom);
	net_spec_free(&c->net);
	free(c->user);
	spec_strv_free(c->volumes);
	spec_strv_free(c->tmpfs_mounts);
	spec_strv_free(c->masked);
	spec_strv_free(c->rdonly);
	free(c->trace);
	memset(c, 0, sizeof(*c));
}
