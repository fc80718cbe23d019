/* test_cred.c: unit tests for vmm/cred.c's guest view of ids (map_root): the domain's id shows as 0, host root as the overflow id, and the way back refuses the one id the view has no name for. */
#include <stdio.h>

#include "vmm/cred.h"
#include "check.h"

static void test_off(void)
{
	struct dom_cred c = { .uid = 1000, .gid = 100 };
	uint32_t h;
	CHECK(cred_uid_out(&c, 1000) == 1000 && cred_uid_out(&c, 0) == 0, "no view: host ids as they are");
	CHECK(cred_gid_out(&c, 100) == 100, "no view: gid");
	CHECK(cred_uid_in(&c, 1000, &h) && h == 1000, "no view: the domain's id names itself");
	CHECK(cred_uid_in(&c, 0, &h) && h == 0, "no view: 0 is host root (the chown check refuses it)");
}

static void test_map(void)
{
	struct dom_cred c = { .uid = 1000, .gid = 100, .map_root = true };
	uint32_t h = 7;
	CHECK(cred_uid_out(&c, 1000) == 0, "the domain's uid shows as 0");
	CHECK(cred_gid_out(&c, 100) == 0, "the domain's gid shows as 0");
	CHECK(cred_uid_out(&c, 0) == CRED_OVERFLOW_ID && cred_gid_out(&c, 0) == CRED_OVERFLOW_ID,
	      "host root shows as nobody, not as the guest's own 0");
	CHECK(cred_uid_out(&c, 33) == 33 && cred_gid_out(&c, 1000) == 1000, "other ids unchanged");
	CHECK(cred_uid_in(&c, 0, &h) && h == 1000, "guest 0 names the domain's uid");
	CHECK(cred_gid_in(&c, 0, &h) && h == 100, "guest 0 names the domain's gid");
	CHECK(!cred_uid_in(&c, 1000, &h), "the domain's host uid has no guest name (EINVAL)");
	CHECK(!cred_gid_in(&c, 100, &h), "the domain's host gid has no guest name");
	CHECK(cred_uid_in(&c, (uint32_t)-1, &h) && h == (uint32_t)-1, "-1 (leave as is) passes");
	CHECK(cred_uid_in(&c, 33, &h) && h == 33, "other ids pass");
	/* Round trip for every id the view names. */
	for (uint32_t id = 0; id < 70000; id += 7) {
		uint32_t g = cred_uid_out(&c, id), back;
		if (id == 0)
			continue; /* host root is not the guest's to name */
		CHECK(cred_uid_in(&c, g, &back) && back == id, "round trip of %u", id);
	}
}

static void test_root_domain(void)
{
	/* A domain that is host root (as_root) has nothing to map. */
	struct dom_cred c = { .uid = 0, .gid = 0, .as_root = true, .map_root = true };
	uint32_t h;
	CHECK(cred_uid_out(&c, 0) == 0 && cred_uid_in(&c, 0, &h) && h == 0, "root domain: 0 is 0");
}

int main(void)
{
	test_off();
	test_map();
	test_root_domain();
	printf("test_cred: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
