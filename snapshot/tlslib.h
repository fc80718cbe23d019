/* tlslib.h: GnuTLS, loaded when a migration stream first needs TLS rather than at every pdvm start (its constructor and the nine libraries it brings cost ~1 ms a process, measured) — snapshot/tlslib.c. */
#ifndef PDVM_TLSLIB_H
#define PDVM_TLSLIB_H

#include <stddef.h>
#include <gnutls/gnutls.h>

/* The calls the migration stream makes, by their GnuTLS names. */
struct tlslib {
	int (*init)(gnutls_session_t *, unsigned int);
	void (*deinit)(gnutls_session_t);
	int (*credentials_set)(gnutls_session_t, gnutls_credentials_type_t, void *);
	int (*psk_allocate_client_credentials)(gnutls_psk_client_credentials_t *);
	int (*psk_allocate_server_credentials)(gnutls_psk_server_credentials_t *);
	void (*psk_free_client_credentials)(gnutls_psk_client_credentials_t);
	void (*psk_free_server_credentials)(gnutls_psk_server_credentials_t);
	int (*psk_set_client_credentials)(gnutls_psk_client_credentials_t, const char *, const gnutls_datum_t *,
					  gnutls_psk_key_flags);
	void (*psk_set_server_credentials_function)(gnutls_psk_server_credentials_t,
						    gnutls_psk_server_credentials_function *);
	int (*priority_set_direct)(gnutls_session_t, const char *, const char **);
	void (*transport_set_int2)(gnutls_session_t, int, int);
	int (*handshake)(gnutls_session_t);
	const char *(*strerror)(int);
	ssize_t (*record_send)(gnutls_session_t, const void *, size_t);
	ssize_t (*record_recv)(gnutls_session_t, void *, size_t);
	void (*record_cork)(gnutls_session_t);
	int (*record_uncork)(gnutls_session_t, unsigned int);
	size_t (*record_check_pending)(gnutls_session_t);
	int (*bye)(gnutls_session_t, gnutls_close_request_t);
	void (*session_set_ptr)(gnutls_session_t, void *);
	void *(*session_get_ptr)(gnutls_session_t);
	gnutls_alloc_function *malloc;  /* GnuTLS's allocator (a variable there) */
};

/* The library, loaded at the first call (thread-safe); NULL with the
 * reason in err (if not NULL) when it cannot be. */
const struct tlslib *tlslib_get(char *err, size_t errlen);

#endif
