/* seccomp_profile.c: a seccomp profile in the OCI runtime-spec's JSON form (what podman and docker generate) read into the VMM's guest filter (vmm/gfilter.h); call names resolved by libseccomp. */
#include <errno.h>
#include <json-c/json.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seccomp_profile.h"
#include "vmm/gfilter.h"

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t n, const char *field, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, n, "%s: %s", field, why);
	return -1;
}

/* KILL_THREAD (SCMP_ACT_KILL) would end one thread of a process, TRACE
 * and NOTIFY hand the call to a tracer or agent: none of those is built. */
static int action_of(const char *s)
{
	static const struct { const char *name; int act; } map[] = {
		{ "SCMP_ACT_ALLOW", GF_ALLOW }, { "SCMP_ACT_ERRNO", GF_ERRNO }, { "SCMP_ACT_LOG", GF_LOG },
		{ "SCMP_ACT_TRAP", GF_TRAP }, { "SCMP_ACT_KILL_PROCESS", GF_KILL_PROCESS },
	};
	for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(s, map[i].name))
			return map[i].act;
	return -1;
}

static int op_of(const char *s)
{
	static const char *const ops[] = { NULL, "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
					   "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ" };
	for (int i = GF_NE; s && i < GF_NOPS; i++)
		if (!strcmp(s, ops[i]))
			return i;
	return -1;
}

/* errnoRet: absent means EPERM, as runc. */
static int errno_of(struct json_object *o, const char *key, const char *field, uint16_t *out, char *err, size_t n)
{
	struct json_object *v;
	*out = EPERM;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	int64_t e = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || e < 0 || e >= 512)
		return fail(err, n, field, "want an errno from 0 to 511");
	*out = (uint16_t)e;
	return 0;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

static int add_rule(struct gfilter *f, const struct gf_rule *r)
{
	if (f->nrules >= GF_MAX_RULES)
		return -1;
	if (!(f->nrules & 63)) {
		struct gf_rule *g = realloc(f->rules, (f->nrules + 64) * sizeof(*g));
		if (!g)
			return -1;
		f->rules = g;
	}
	f->rules[f->nrules++] = *r;
	return 0;
}

static int parse_entry(struct json_object *e, const char *f0, struct gfilter *f, char *err, size_t n)
{
	static const char *const known[] = { "names", "name", "action", "errnoRet", "args", "comment", "includes",
					     "excludes", NULL };
	struct gf_rule r = { 0 };
	struct json_object *v;
	char f1[256];
	if (!json_object_is_type(e, json_type_object))
		return fail(err, n, f0, "want an object");
	json_object_object_foreach(e, key, val) {
		bool ok = false;
		for (int i = 0; known[i]; i++)
			ok |= !strcmp(key, known[i]);
		snprintf(f1, sizeof(f1), "%s.%s", f0, key);
		if (!ok)
			return fail(err, n, f1, "not supported");
		/* docker's conditional rules (by capability or arch) belong
		 * to its own profile files, resolved before a runtime sees them. */
		if ((!strcmp(key, "includes") || !strcmp(key, "excludes")) && json_object_object_length(val))
			return fail(err, n, f1, "conditional rules are not supported");
	}
	snprintf(f1, sizeof(f1), "%s.action", f0);
	int act = action_of(str(e, "action"));
	if (act < 0)
		return fail(err, n, f1, "%s is not supported (ALLOW, ERRNO, LOG, TRAP and KILL_PROCESS are)",
			    str(e, "action") ? str(e, "action") : "(none)");
	r.action = (uint8_t)act;
	snprintf(f1, sizeof(f1), "%s.errnoRet", f0);
	if (errno_of(e, "errnoRet", f1, &r.errno_ret, err, n))
		return -1;
	if (act != GF_ERRNO) {
		if (json_object_object_get_ex(e, "errnoRet", &v) && !json_object_is_type(v, json_type_null))
			return fail(err, n, f1, "only SCMP_ACT_ERRNO returns an errno");
		r.errno_ret = 0;
	}
	if (json_object_object_get_ex(e, "args", &v) && !json_object_is_type(v, json_type_null)) {
		size_t na = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 7;
		snprintf(f1, sizeof(f1), "%s.args", f0);
		if (na > 6)
			return fail(err, n, f1, "want an array of at most 6 conditions");
		for (size_t k = 0; k < na; k++) {
			struct json_object *c = json_object_array_get_idx(v, k), *x;
			struct gf_arg *a = &r.args[k];
			snprintf(f1, sizeof(f1), "%s.args[%zu]", f0, k);
			int op = op_of(str(c, "op"));
			if (!json_object_object_get_ex(c, "index", &x) || !json_object_is_type(x, json_type_int) ||
			    json_object_get_int64(x) < 0 || json_object_get_int64(x) > 5 || op < 0)
				return fail(err, n, f1, "want {index: 0-5, value, valueTwo, op: SCMP_CMP_...}");
			a->index = (uint8_t)json_object_get_int64(x);
			a->op = (uint8_t)op;
			if (json_object_object_get_ex(c, "value", &x))
				a->value = json_object_get_uint64(x);
			if (json_object_object_get_ex(c, "valueTwo", &x))
				a->value2 = json_object_get_uint64(x);
		}
		r.nargs = (uint8_t)na;
	}
	struct json_object *names;
	snprintf(f1, sizeof(f1), "%s.names", f0);
	if (!json_object_object_get_ex(e, "names", &names) || !json_object_is_type(names, json_type_array))
		return fail(err, n, f1, "want an array of call names");
	for (size_t i = 0; i < json_object_array_length(names); i++) {
		const char *nm = json_object_get_string(json_object_array_get_idx(names, i));
		int nr = nm ? seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, nm) : __NR_SCMP_ERROR;
		if (nr < 0 || nr >= GF_MAX_NR)
			continue;       /* not an x86-64 call (or unknown here): skipped, as runc */
		r.nr = (uint16_t)nr;
		if (add_rule(f, &r))
			return fail(err, n, f1, "too many rules (at most %d)", GF_MAX_RULES);
	}
	return 0;
}

int seccomp_profile_parse(struct json_object *o, const char *prefix, struct gfilter **out, char *err, size_t n)
{
	static const char *const known[] = { "defaultAction", "defaultErrnoRet", "architectures", "flags",
					     "syscalls", "archMap", NULL };
	static const char *const flags_ok[] = { "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
						"SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL };
	char f[160];
	struct json_object *v;
	if (!json_object_is_type(o, json_type_object))
		return fail(err, n, prefix, "want an object");
	json_object_object_foreach(o, key, val) {
		(void)val;
		bool ok = false;
		for (int i = 0; known[i]; i++)
			ok |= !strcmp(key, known[i]);
		snprintf(f, sizeof(f), "%s.%s", prefix, key);
		if (!ok)
			return fail(err, n, f, "not supported");
	}
	struct gfilter *g = calloc(1, sizeof(*g));
	if (!g)
		return fail(err, n, prefix, "out of memory");
	snprintf(f, sizeof(f), "%s.defaultAction", prefix);
	int act = action_of(str(o, "defaultAction"));
	if (act < 0) {
		fail(err, n, f, "%s is not supported (ALLOW, ERRNO, LOG, TRAP and KILL_PROCESS are)",
		     str(o, "defaultAction") ? str(o, "defaultAction") : "(none)");
		goto bad;
	}
	g->def_action = (uint8_t)act;
	snprintf(f, sizeof(f), "%s.defaultErrnoRet", prefix);
	if (errno_of(o, "defaultErrnoRet", f, &g->def_errno, err, n))
		goto bad;
	if (act != GF_ERRNO)
		g->def_errno = 0;
	/* pdvm runs x86-64 calls only; a profile for others too covers it. */
	if (json_object_object_get_ex(o, "architectures", &v) && json_object_is_type(v, json_type_array) &&
	    json_object_array_length(v)) {
		bool x86_64 = false;
		for (size_t i = 0; i < json_object_array_length(v); i++)
			x86_64 |= !strcmp(json_object_get_string(json_object_array_get_idx(v, i)), "SCMP_ARCH_X86_64");
		snprintf(f, sizeof(f), "%s.architectures", prefix);
		if (!x86_64) {
			fail(err, n, f, "no SCMP_ARCH_X86_64: the profile does not cover pdvm's programs");
			goto bad;
		}
	}
	if (json_object_object_get_ex(o, "flags", &v) && json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const char *fl = json_object_get_string(json_object_array_get_idx(v, i));
			bool ok = false;
			for (int k = 0; fl && flags_ok[k]; k++)
				ok |= !strcmp(fl, flags_ok[k]);
			snprintf(f, sizeof(f), "%s.flags[%zu]", prefix, i);
			if (!ok) {
				fail(err, n, f, "%s is not supported", fl ? fl : "(not a string)");
				goto bad;
			}
		}
	}
	if (json_object_object_get_ex(o, "syscalls", &v) && !json_object_is_type(v, json_type_null)) {
		snprintf(f, sizeof(f), "%s.syscalls", prefix);
		if (!json_object_is_type(v, json_type_array)) {
			fail(err, n, f, "want an array");
			goto bad;
		}
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			snprintf(f, sizeof(f), "%s.syscalls[%zu]", prefix, i);
			if (parse_entry(json_object_array_get_idx(v, i), f, g, err, n))
				goto bad;
		}
	}
	if (!gfilter_valid(g)) {
		fail(err, n, prefix, "invalid");
		goto bad;
	}
	*out = g;
	return 0;
bad:
	gfilter_free(g);
	return -1;
}

int seccomp_profile_load(const char *path, struct gfilter **out, char *err, size_t n)
{
	struct json_object *o = json_object_from_file(path);
	if (!o)
		return fail(err, n, path, "cannot read or parse it: %s", json_util_get_last_err());
	int r = seccomp_profile_parse(o, path, out, err, n);
	json_object_put(o);
	return r;
}
