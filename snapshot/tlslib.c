/* tlslib.c: dlopen of GnuTLS for the migration stream's TLS — once, on first use; every entry point resolved or none. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tlslib.h"

/* Debian 12's libgnutls30 (the runtime of libgnutls28-dev, which the
 * build needs for the header). */
#define TLSLIB_SONAME "libgnutls.so.30"

static struct tlslib lib;
static char why[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const struct tlslib *loaded;

static void load(void)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define S(f, n) { "gnutls_" n, offsetof(struct tlslib, f) }
		S(init, "init"), S(deinit, "deinit"), S(credentials_set, "credentials_set"),
		S(psk_allocate_client_credentials, "psk_allocate_client_credentials"),
		S(psk_allocate_server_credentials, "psk_allocate_server_credentials"),
		S(psk_free_client_credentials, "psk_free_client_credentials"),
		S(psk_free_server_credentials, "psk_free_server_credentials"),
		S(psk_set_client_credentials, "psk_set_client_credentials"),
		S(psk_set_server_credentials_function, "psk_set_server_credentials_function"),
		S(priority_set_direct, "priority_set_direct"), S(transport_set_int2, "transport_set_int2"),
		S(handshake, "handshake"), S(strerror, "strerror"), S(record_send, "record_send"),
		S(record_recv, "record_recv"), S(record_cork, "record_cork"), S(record_uncork, "record_uncork"),
		S(record_check_pending, "record_check_pending"),
		S(bye, "bye"), S(session_set_ptr, "session_set_ptr"), S(session_get_ptr, "session_get_ptr"),
		S(malloc, "malloc"),
#undef S
	};
	void *h = dlopen(TLSLIB_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, sizeof(why), "loading GnuTLS (%s): %s", TLSLIB_SONAME, dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *p = dlsym(h, syms[i].name);
		if (!p) {
			snprintf(why, sizeof(why), "GnuTLS (%s) has no %s", TLSLIB_SONAME, syms[i].name);
			return; /* the handle stays: nothing else to undo */
		}
		memcpy((char *)&lib + syms[i].off, &p, sizeof(p));
	}
	loaded = &lib;
}

const struct tlslib *tlslib_get(char *err, size_t errlen)
{
	pthread_once(&once, load);
	if (!loaded && err)
		snprintf(err, errlen, "%s", why);
	return loaded;
}
