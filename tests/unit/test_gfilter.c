/* test_gfilter.c: unit tests for vmm/gfilter.c and tools/seccomp_profile.c — the seccomp profile podman generates (tests/fixtures/oci) answers calls as the kernel would: allowed ones run, refused ones get the rule's errno, argument conditions (equal, not equal, masked) decide, the most severe matching rule wins; bad profiles are refused naming the field, and out-of-range filters are invalid. */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "tools/seccomp_profile.h"
#include "vmm/gfilter.h"
#include "check.h"

static enum gf_action check6(const struct gfilter *f, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint16_t *e)
{
	const uint64_t a[6] = { a0, a1, a2, 0, 0, 0 };
	return gfilter_check(f, (uint64_t)nr, a, e);
}

static void test_podman_profile(void)
{
	struct json_object *o = json_object_from_file("tests/fixtures/oci/podman-4.3.1-config.json");
	CHECK(o != NULL);
	if (!o)
		return;
	struct json_object *sc = json_object_object_get(json_object_object_get(o, "linux"), "seccomp");
	struct gfilter *f = NULL;
	char err[512] = "";
	CHECK(seccomp_profile_parse(sc, "linux.seccomp", &f, err, sizeof(err)) == 0, "%s", err);
	json_object_put(o);
	if (!f)
		return;
	uint16_t e;
	CHECK(check6(f, SYS_getpid, 0, 0, 0, &e) == GF_ALLOW);
	CHECK(check6(f, SYS_read, 0, 0, 0, &e) == GF_ALLOW);
	/* Explicitly refused with EPERM. */
	CHECK(check6(f, SYS_kexec_load, 0, 0, 0, &e) == GF_ERRNO && e == EPERM, "errno %u", e);
	CHECK(check6(f, SYS_perf_event_open, 0, 0, 0, &e) == GF_ERRNO && e == EPERM);
	/* personality: only the listed personas. */
	CHECK(check6(f, SYS_personality, 0, 0, 0, &e) == GF_ALLOW);
	CHECK(check6(f, SYS_personality, 0xffffffff, 0, 0, &e) == GF_ALLOW);
	CHECK(check6(f, SYS_personality, 1, 0, 0, &e) == GF_ERRNO && e == ENOSYS, "errno %u", e);
	/* socket: the audit netlink protocol refused with EINVAL, the rest allowed. */
	CHECK(check6(f, SYS_socket, AF_NETLINK, SOCK_RAW, 9, &e) == GF_ERRNO && e == EINVAL, "errno %u", e);
	CHECK(check6(f, SYS_socket, AF_NETLINK, SOCK_RAW, 0, &e) == GF_ALLOW);
	CHECK(check6(f, SYS_socket, AF_INET, SOCK_STREAM, 9, &e) == GF_ALLOW);
	/* Not in the profile: the default, ENOSYS. */
	CHECK(check6(f, SYS_add_key, 0, 0, 0, &e) == GF_ERRNO && e == ENOSYS);
	gfilter_free(f);
}

static struct gfilter *parse(const char *json, char *err, size_t n)
{
	struct json_object *o = json_tokener_parse(json);
	struct gfilter *f = NULL;
	err[0] = 0;
	if (seccomp_profile_parse(o, "p", &f, err, n))
		f = NULL;
	json_object_put(o);
	return f;
}

static void test_rules(void)
{
	char err[512];
	/* Masked equality, the most severe match, TRAP and LOG, an absent
	 * errnoRet meaning EPERM. */
	struct gfilter *f = parse("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, "
				  "\"value\": 268435456, \"valueTwo\": 268435456, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
				  "{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_LOG\"},"
				  "{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_TRAP\", \"args\": [{\"index\": 1, \"value\": 9, \"op\": \"SCMP_CMP_EQ\"}]},"
				  "{\"names\": [\"no_such_call\", \"getppid\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},"
				  "{\"names\": [\"uname\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13, \"args\": [{\"index\": 0, \"value\": 4096, \"op\": \"SCMP_CMP_LT\"}]}]}",
				  err, sizeof(err));
	CHECK(f != NULL, "%s", err);
	if (f) {
		uint16_t e;
		CHECK(check6(f, SYS_clone, 0x10000000 | 17, 0, 0, &e) == GF_ERRNO && e == EPERM, "errno %u", e);
		CHECK(check6(f, SYS_clone, 17, 0, 0, &e) == GF_ALLOW);
		CHECK(check6(f, SYS_kill, 1, 15, 0, &e) == GF_LOG);
		CHECK(check6(f, SYS_kill, 1, 9, 0, &e) == GF_TRAP);
		CHECK(check6(f, SYS_getppid, 0, 0, 0, &e) == GF_KILL_PROCESS);
		CHECK(check6(f, SYS_uname, 0, 0, 0, &e) == GF_ERRNO && e == 13);
		CHECK(check6(f, SYS_uname, 8192, 0, 0, &e) == GF_ALLOW);
		CHECK(f->nrules == 5, "%u rules (the unknown name skipped)", f->nrules);
		gfilter_free(f);
	}
	/* Refused, naming the field. */
	static const struct { const char *json, *field; } bad[] = {
		{ "{\"defaultAction\": \"SCMP_ACT_KILL\"}", "p.defaultAction" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 600}", "p.defaultErrnoRet" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/x\"}", "p.listenerPath" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}", "p.flags[0]" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_TRACE\"}]}",
		  "p.syscalls[0].action" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", "
		  "\"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}", "p.syscalls[0].args[0]" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", "
		  "\"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_LIKE\"}]}]}", "p.syscalls[0].args[0]" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", "
		  "\"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}", "p.syscalls[0].includes" },
		{ "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}", "p.syscalls" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = parse(bad[i].json, err, sizeof(err));
		CHECK(!f && !strncmp(err, bad[i].field, strlen(bad[i].field)) && err[strlen(bad[i].field)] == ':',
		      "bad %zu: want %s named, got '%s'", i, bad[i].field, err);
		gfilter_free(f);
	}
}

/* An image's filter is checked whole: out-of-range fields are invalid. */
static void test_valid(void)
{
	struct gf_rule r = { .nr = SYS_read, .action = GF_ERRNO, .errno_ret = 1, .nargs = 1,
			     .args = { { .index = 0, .op = GF_EQ, .value = 3 } } };
	struct gfilter f = { .def_action = GF_ALLOW, .nrules = 1, .rules = &r };
	CHECK(gfilter_valid(&f));
	r.args[0].index = 6;
	CHECK(!gfilter_valid(&f));
	r.args[0].index = 0;
	r.args[0].op = GF_NOPS;
	CHECK(!gfilter_valid(&f));
	r.args[0].op = GF_EQ;
	r.errno_ret = 512;      /* ERESTARTSYS and up: never a program's */
	CHECK(!gfilter_valid(&f));
	r.errno_ret = 1;
	r.nr = GF_MAX_NR;
	CHECK(!gfilter_valid(&f));
	r.nr = SYS_read;
	f.def_action = GF_NACTIONS;
	CHECK(!gfilter_valid(&f));
	f.def_action = GF_ALLOW;
	f.rules = NULL;
	CHECK(!gfilter_valid(&f));
}

int main(void)
{
	test_podman_profile();
	test_rules();
	test_valid();
	printf("test_gfilter: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
