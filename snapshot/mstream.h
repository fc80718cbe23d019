/* mstream.h: the migration stream — framed, checksummed messages over one TCP connection (snapshot/mstream.c). */
#ifndef PDVM_MSTREAM_H
#define PDVM_MSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Stream protocol version: HELLO carries it; a peer of another refuses. */
#define MS_PROTO        4

enum ms_type {
	MS_HELLO = 1,   /* source: u32 protocol, string domain name, u64 guest memory bytes,
			 * u8 has-network, then (if 1) the network as the image's `net` section */
	MS_FILE,        /* source: string file name, then the file's bytes */
	MS_DONE,        /* source: every file of the image is sent */
	MS_READY,       /* target: the domain is rebuilt, its threads not started */
	MS_GO,          /* source: it has stopped for good here: start it */
	MS_STARTED,     /* target: it runs */
	MS_ERROR,       /* either side: string why; the stream ends */
	MS_PAGES,       /* source, before the image: one 2 MiB chunk's pages (precopy.c) */
	MS_ROUND,       /* source, after a pre-copy round: answer once all before is applied */
	MS_ROUND_DONE,  /* target: the answer */
	/* Post-copy (snapshot/postcopy.h): */
	MS_PC_REQ,      /* target: u64 page: a fault waits for it */
	MS_PC_END,      /* source: every page left is pushed */
	MS_PC_ACK,      /* target: all arrived (or the domain ended): its counts */
	MS_PC_RESUME,   /* source, first on a new connection: the migration's id */
	MS_PC_TAKEN,    /* target: u64 stream bytes, u64 pages received so far (the source's window) */
	MS_FILES,       /* source, after the hello: u32 count, then per file string guest path,
			 * u8 flags (1: open for writing), u64 size, u32 CRC-32 (mfiles.c) */
	MS_FILES_END,   /* source: u32 files listed in all, string the domain's root, u8 copy-writable */
	MS_FILES_OK,    /* target: every listed file is here and the same (and the
			 * writable paths were written) */
	MS_TREE,        /* source, --copy-writable: an entry of a writable path: string the
			 * writable path, string the entry's path below it, u8 kind (1 directory,
			 * 2 file, 3 symlink, 4 gone), u32 mode, u64 mtime ns, for a symlink
			 * string its target; a file's data follows (mtree.c) */
	MS_TREE_DATA,   /* source: the next bytes of that file (up to 1 MiB); empty: its end */
	MS_TREE_END,    /* source: u32 entries sent in this pass */
	MS_TYPE_MAX
};

/* Small messages (all but MS_FILE, MS_PAGES and MS_TREE_DATA) are at most this long. */
#define MS_SMALL_MAX    4096
/* Whether a message's body may be as long as MS_PAGES_MAX. */
#define MS_BIG(t)       ((t) == MS_PAGES || (t) == MS_TREE_DATA)
/* An MS_PAGES body: a chunk's header and its pages, lz4 (which may grow
 * incompressible data a little). */
#define MS_PAGES_MAX    (2u * 1024 * 1024 + 64 * 1024)
/* The longest file name (an image's section files and manifest). */
#define MS_NAME_MAX     63

struct mstream {
	int fd;
	void *tls;                      /* a GnuTLS session once ms_tls succeeded, else NULL */
	bool tls_server;
	uint64_t sent, received;        /* bytes of messages (before TLS) */
	uint64_t file_left;             /* of the MS_FILE being received */
	uint32_t file_crc;
};

/* A pre-shared key (`--key FILE`): 16 to 1024 bytes of a regular file no
 * one but its owner may read. */
#define MS_KEY_MIN      16
#define MS_KEY_MAX      1024
struct ms_key {
	uint8_t b[MS_KEY_MAX];
	size_t len;
};
/* Loads it. 0, or -errno with the reason in err. */
int ms_key_load(const char *path, struct ms_key *k, char *err, size_t errlen);

/* TLS 1.3 with the pre-shared key (ECDHE-PSK: each stream its own keys)
 * over the connected socket: as the server (the target) or the client.
 * From here every message is encrypted and authenticated; a peer with
 * another key fails the handshake. 0 or -errno with err. */
int ms_tls(struct mstream *s, bool server, const struct ms_key *k, char *err, size_t errlen);
/* Ends TLS (if any) and closes the socket. */
void ms_close(struct mstream *s);

/* Sets the send and receive timeouts (a peer gone quiet is an error, not
 * a hang). 0 or -errno. */
int ms_init(struct mstream *s, int fd, int timeout_ms);
/* Whether a message is waiting: bytes TLS has decrypted already, or the
 * socket readable within timeout_ms (0: now, -1: for ever). */
bool ms_waiting(struct mstream *s, int timeout_ms);
/* Sends a small message (or an MS_BIG one, up to MS_PAGES_MAX). 0 or -errno. */
int ms_send(struct mstream *s, enum ms_type type, const void *p, size_t n);
/* Sends MS_ERROR with a formatted reason (best effort). */
void ms_send_error(struct mstream *s, const char *why);
/* Sends the file open on fd (size bytes from offset 0) as MS_FILE name. */
int ms_send_file(struct mstream *s, const char *name, int fd, uint64_t size);

/* Receives the next message's header and, for a small message, its body
 * into buf (cap >= MS_SMALL_MAX, and an MS_BIG body must fit in cap; *len
 * its length, checksum verified); for
 * MS_FILE the body is the name (NUL-terminated in buf), and the caller
 * must take the data with ms_recv_file (s->file_left bytes). A malformed
 * stream is -EPROTO. */
int ms_recv(struct mstream *s, enum ms_type *type, uint8_t *buf, size_t cap, size_t *len);
/* The data of the MS_FILE just received, written to fd; its checksum is
 * verified at the end. At most `max` bytes are accepted (-EFBIG). */
int ms_recv_file(struct mstream *s, int fd, uint64_t max);

/* Test hook: PDVM_MIGRATE_STALL=PHASE:MS makes the side that reaches PHASE
 * wait MS there, so that a test can cut the link or kill a side in it:
 * precopy (source, after the hello), paused (source, the domain just
 * paused), go (target, the go received, before the domain starts),
 * postcopy (source, the target runs the domain, before the first page is
 * pushed). */
void ms_stall(const char *phase);

/* Body helpers: a u32-length-prefixed string. */
size_t ms_put_str(uint8_t *p, size_t cap, const char *str);
/* The string at p (len bytes of body): NUL-terminated into out, or -EPROTO. */
int ms_get_str(const uint8_t *p, size_t len, size_t *pos, char *out, size_t outcap);

#endif
