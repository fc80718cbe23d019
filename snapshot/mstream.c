/* mstream.c: the migration stream — every message a checked header, a body and its CRC-32, over a blocking socket with timeouts; files streamed without holding them in memory. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <unistd.h>

#include "image.h"
#include "mstream.h"
#include "tlslib.h"

/* GnuTLS (tlslib.c): loaded by the first ms_tls; s->tls implies it is. */
#define T (tlslib_get(NULL, 0))

#define MS_MAGIC        0x4d564450u     /* "PDVM" */
#define MS_HEAD         24              /* magic, type, length, head CRC, 0 */
#define MS_FILE_MAX     (1ULL << 40)    /* no image file is larger */
#define MS_CHUNK        (1u << 20)      /* file data per read and send */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

int ms_init(struct mstream *s, int fd, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	/* The handshake's small messages go at once (not TCP: nothing to do). */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* A GnuTLS result as -errno: timeouts, a peer gone, anything else EPROTO
 * (a bad record: tampering, or another key). */
static int tls_errno(ssize_t r)
{
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		return -ETIMEDOUT;
	if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PUSH_ERROR || r == GNUTLS_E_PULL_ERROR)
		return -ECONNRESET;
	return -EPROTO;
}

static int send_all(struct mstream *s, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n && s->tls) {
		ssize_t w = T->record_send(s->tls, b, n);
		if (w == GNUTLS_E_INTERRUPTED)
			continue;
		if (w < 0)
			return tls_errno(w);
		b += w;
		n -= (size_t)w;
		s->sent += (uint64_t)w;
	}
	while (n) {
		ssize_t w = send(s->fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		b += w;
		n -= (size_t)w;
		s->sent += (uint64_t)w;
	}
	return 0;
}

static int recv_all(struct mstream *s, void *p, size_t n)
{
	uint8_t *b = p;
	while (n && s->tls) {
		ssize_t r = T->record_recv(s->tls, b, n);
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r < 0)
			return tls_errno(r);
		if (r == 0)
			return -ECONNRESET;
		b += r;
		n -= (size_t)r;
		s->received += (uint64_t)r;
	}
	while (n) {
		ssize_t r = recv(s->fd, b, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (r == 0)
			return -ECONNRESET; /* the peer went away mid-stream */
		b += r;
		n -= (size_t)r;
		s->received += (uint64_t)r;
	}
	return 0;
}

static int send_head(struct mstream *s, enum ms_type type, uint64_t len)
{
	uint8_t h[MS_HEAD] = { 0 };
	put32(h, MS_MAGIC);
	put32(h + 4, (uint32_t)type);
	put64(h + 8, len);
	put32(h + 16, img_crc(0, h, 16));
	return send_all(s, h, sizeof(h));
}

int ms_send(struct mstream *s, enum ms_type type, const void *p, size_t n)
{
	uint8_t h[MS_HEAD] = { 0 }, c[4];
	if (n > (MS_BIG(type) ? MS_PAGES_MAX : MS_SMALL_MAX) || type == MS_FILE)
		return -EINVAL;
	put32(h, MS_MAGIC);
	put32(h + 4, (uint32_t)type);
	put64(h + 8, n);
	put32(h + 16, img_crc(0, h, 16));
	put32(c, img_crc(0, p, n));
	if (s->tls) {
		/* One record, as one sendmsg below. */
		T->record_cork(s->tls);
		int r = send_all(s, h, sizeof(h));
		if (!r && n)
			r = send_all(s, p, n);
		if (!r)
			r = send_all(s, c, 4);
		/* Not GNUTLS_RECORD_WAIT: that retries a timed-out send for
		 * ever, and a cut link must end in the stream's timeout. */
		ssize_t u;
		do
			u = T->record_uncork(s->tls, 0);
		while (u == GNUTLS_E_INTERRUPTED);
		return r ? r : u < 0 ? tls_errno(u) : 0;
	}
	/* One call: a message in pieces would wait on Nagle and the peer's
	 * delayed ACK (40 ms for READY and GO, measured). */
	struct iovec v[3] = { { h, sizeof(h) }, { (void *)p, n }, { c, 4 } };
	struct msghdr mh = { .msg_iov = v, .msg_iovlen = 3 };
	size_t left = sizeof(h) + n + 4;
	while (left) {
		ssize_t w = sendmsg(s->fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		s->sent += (uint64_t)w;
		left -= (size_t)w;
		/* A short send: skip what went. */
		while (w > 0 && mh.msg_iovlen) {
			size_t k = (size_t)w < mh.msg_iov->iov_len ? (size_t)w : mh.msg_iov->iov_len;
			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + k;
			mh.msg_iov->iov_len -= k;
			w -= (ssize_t)k;
			if (!mh.msg_iov->iov_len) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

void ms_stall(const char *phase)
{
	const char *e = getenv("PDVM_MIGRATE_STALL"), *mark = getenv("PDVM_MIGRATE_STALL_MARK");
	size_t l = strlen(phase);
	if (e && !strncmp(e, phase, l) && e[l] == ':' && atoi(e + l + 1) > 0) {
		/* A test makes its fault once the stall has begun, however slow
		 * the host was to get here. */
		int fd = mark ? open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;
		if (fd >= 0)
			close(fd);
		usleep((useconds_t)atoi(e + l + 1) * 1000);
	}
}

bool ms_waiting(struct mstream *s, int timeout_ms)
{
	if (s->fd < 0)
		return false;
	if (s->tls && T->record_check_pending(s->tls))
		return true;
	struct pollfd p = { s->fd, POLLIN, 0 };
	int n;
	while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	/* Readable, closed or broken: the next ms_recv says which. */
	return n > 0;
}

void ms_send_error(struct mstream *s, const char *why)
{
	uint8_t b[MS_SMALL_MAX];
	size_t n = ms_put_str(b, sizeof(b), why);
	(void)ms_send(s, MS_ERROR, b, n);
}

int ms_send_file(struct mstream *s, const char *name, int fd, uint64_t size)
{
	uint8_t nb[4 + MS_NAME_MAX];
	size_t nl = strlen(name);
	if (nl == 0 || nl > MS_NAME_MAX || size > MS_FILE_MAX)
		return -EINVAL;
	uint8_t *buf = malloc(MS_CHUNK);
	if (!buf)
		return -ENOMEM;
	put32(nb, (uint32_t)nl);
	memcpy(nb + 4, name, nl);
	uint32_t crc = img_crc(0, nb, 4 + nl);
	int r = send_head(s, MS_FILE, 4 + nl + size);
	if (!r)
		r = send_all(s, nb, 4 + nl);
	for (uint64_t off = 0; !r && off < size;) {
		ssize_t n = pread(fd, buf, size - off < MS_CHUNK ? (size_t)(size - off) : MS_CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO; /* the file shrank under us */
		else
			r = send_all(s, buf, (size_t)n);
		if (!r)
			crc = img_crc(crc, buf, (size_t)n);
		off += (uint64_t)(n > 0 ? n : 0);
	}
	free(buf);
	uint8_t c[4];
	put32(c, crc);
	return r ? r : send_all(s, c, 4);
}

int ms_recv(struct mstream *s, enum ms_type *type, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t h[MS_HEAD], c[4];
	if (s->file_left || cap < MS_SMALL_MAX)
		return -EINVAL;
	int r = recv_all(s, h, sizeof(h));
	if (r)
		return r;
	uint32_t t = get32(h + 4);
	uint64_t n = get64(h + 8);
	if (get32(h) != MS_MAGIC || get32(h + 16) != img_crc(0, h, 16) || get32(h + 20) ||
	    t == 0 || t >= MS_TYPE_MAX)
		return -EPROTO;
	*type = (enum ms_type)t;
	if (t == MS_FILE) {
		uint8_t nb[4];
		if (n < 5 || (r = recv_all(s, nb, 4)))
			return r ? r : -EPROTO;
		uint32_t nl = get32(nb);
		if (nl == 0 || nl > MS_NAME_MAX || n - 4 < nl || n - 4 - nl > MS_FILE_MAX)
			return -EPROTO;
		if ((r = recv_all(s, buf, nl)))
			return r;
		buf[nl] = '\0';
		if (memchr(buf, '\0', nl))
			return -EPROTO;
		*len = nl;
		s->file_crc = img_crc(img_crc(0, nb, 4), buf, nl);
		s->file_left = n - 4 - nl;
		if (s->file_left == 0)
			s->file_left = UINT64_MAX; /* an empty file still has its CRC to read */
		return 0;
	}
	if (n > (MS_BIG(t) ? MS_PAGES_MAX : MS_SMALL_MAX) || n > cap)
		return -EPROTO;
	if ((n && (r = recv_all(s, buf, (size_t)n))) || (r = recv_all(s, c, 4)))
		return r;
	if (get32(c) != img_crc(0, buf, (size_t)n))
		return -EPROTO;
	*len = (size_t)n;
	return 0;
}

int ms_recv_file(struct mstream *s, int fd, uint64_t max)
{
	uint64_t left = s->file_left == UINT64_MAX ? 0 : s->file_left;
	uint8_t c[4];
	int r = 0;
	if (!s->file_left)
		return -EINVAL;
	s->file_left = 0;
	if (left > max)
		return -EFBIG;
	uint8_t *buf = malloc(MS_CHUNK);
	if (!buf)
		return -ENOMEM;
	while (left && !r) {
		size_t n = left < MS_CHUNK ? (size_t)left : MS_CHUNK;
		r = recv_all(s, buf, n);
		if (r)
			break;
		s->file_crc = img_crc(s->file_crc, buf, n);
		for (size_t off = 0; off < n && !r;) {
			ssize_t w = write(fd, buf + off, n - off);
			if (w < 0 && errno != EINTR)
				r = -errno;
			off += (size_t)(w > 0 ? w : 0);
		}
		left -= n;
	}
	free(buf);
	if (!r)
		r = recv_all(s, c, 4);
	if (r)
		return r;
	return get32(c) == s->file_crc ? 0 : -EPROTO;
}

size_t ms_put_str(uint8_t *p, size_t cap, const char *str)
{
	size_t n = strlen(str);
	if (cap < 4)
		return 0;
	if (n > cap - 4)
		n = cap - 4;
	put32(p, (uint32_t)n);
	memcpy(p + 4, str, n);
	return 4 + n;
}

int ms_get_str(const uint8_t *p, size_t len, size_t *pos, char *out, size_t outcap)
{
	if (*pos > len || len - *pos < 4)
		return -EPROTO;
	uint32_t n = get32(p + *pos);
	if (n > len - *pos - 4 || n >= outcap || memchr(p + *pos + 4, '\0', n))
		return -EPROTO;
	memcpy(out, p + *pos + 4, n);
	out[n] = '\0';
	*pos += 4 + n;
	return 0;
}

int ms_key_load(const char *path, struct ms_key *k, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "key %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	int r = 0;
	if (!S_ISREG(st.st_mode) || st.st_size < MS_KEY_MIN || st.st_size > MS_KEY_MAX) {
		snprintf(err, errlen, "key %s: must be a file of %d to %d bytes (e.g. head -c 32 /dev/urandom)", path,
			 MS_KEY_MIN, MS_KEY_MAX);
		r = -EINVAL;
	} else if (st.st_mode & 077) {
		snprintf(err, errlen, "key %s: others may read it (mode %04o): chmod 600 it", path,
			 (unsigned)(st.st_mode & 07777));
		r = -EPERM;
	} else if (read(fd, k->b, (size_t)st.st_size) != (ssize_t)st.st_size) {
		snprintf(err, errlen, "key %s: short read", path);
		r = -EIO;
	}
	k->len = r ? 0 : (size_t)st.st_size;
	close(fd);
	return r;
}

/* TLS 1.3 only, with a pre-shared key and an ephemeral ECDHE share. */
#define MS_TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK"
#define MS_PSK_USER     "pdvm-migrate"

static const struct ms_key *server_key; /* one receive per process */

static int server_psk(gnutls_session_t ss, const char *user, gnutls_datum_t *key)
{
	(void)ss;
	if (strcmp(user, MS_PSK_USER) || !server_key)
		return -1;
	key->data = (*T->malloc)(server_key->len);
	if (!key->data)
		return -1;
	memcpy(key->data, server_key->b, server_key->len);
	key->size = (unsigned)server_key->len;
	return 0;
}

int ms_tls(struct mstream *s, bool server, const struct ms_key *k, char *err, size_t errlen)
{
	gnutls_session_t ss = NULL;
	gnutls_psk_client_credentials_t cc = NULL;
	gnutls_psk_server_credentials_t sc = NULL;
	gnutls_datum_t key = { (unsigned char *)k->b, (unsigned)k->len };
	if (!tlslib_get(err, errlen))
		return -ENOSYS;
	int r = T->init(&ss, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_SIGNAL);
	if (!r && server) {
		server_key = k;
		r = T->psk_allocate_server_credentials(&sc);
		if (!r) {
			T->psk_set_server_credentials_function(sc, server_psk);
			r = T->credentials_set(ss, GNUTLS_CRD_PSK, sc);
		}
	} else if (!r) {
		r = T->psk_allocate_client_credentials(&cc);
		if (!r)
			r = T->psk_set_client_credentials(cc, MS_PSK_USER, &key, GNUTLS_PSK_KEY_RAW);
		if (!r)
			r = T->credentials_set(ss, GNUTLS_CRD_PSK, cc);
	}
	if (!r)
		r = T->priority_set_direct(ss, MS_TLS_PRIORITY, NULL);
	if (!r) {
		T->transport_set_int2(ss, s->fd, s->fd);
		do
			r = T->handshake(ss);
		while (r == GNUTLS_E_INTERRUPTED);
	}
	if (r) {
		/* GnuTLS cannot tell a wrong key from a peer that hung up. */
		snprintf(err, errlen, "TLS handshake: %s (do both sides have the same --key?)", T->strerror(r));
		if (ss)
			T->deinit(ss);
		if (cc)
			T->psk_free_client_credentials(cc);
		if (sc)
			T->psk_free_server_credentials(sc);
		return r == GNUTLS_E_AGAIN ? -ETIMEDOUT : -EPROTO;
	}
	/* The credentials must outlive the session: freed with it. */
	T->session_set_ptr(ss, server ? (void *)sc : (void *)cc);
	s->tls = ss;
	s->tls_server = server;
	return 0;
}

void ms_close(struct mstream *s)
{
	if (s->tls) {
		T->bye(s->tls, GNUTLS_SHUT_WR);
		void *cred = T->session_get_ptr(s->tls);
		T->deinit(s->tls);
		if (s->tls_server)
			T->psk_free_server_credentials(cred);
		else
			T->psk_free_client_credentials(cred);
		s->tls = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
