/* The sealed IPC channel between rkt and rkt-privhelper (DESIGN §5): one
 * codec that both sides use, fd passing over SOCK_SEQPACKET, sealed memfds
 * for bulk data, and the per-connection state machine. Nothing here logs or
 * decides policy; every refusal is a negative errno plus one line in
 * struct rkt_err naming the message type, field and bound.
 *
 * Wire layout. All integers are little-endian (explicit, so the seed corpus
 * and captures mean the same on every host), packed, no padding:
 *
 *   header (16 bytes)   u32 magic "RKT1" | u16 version | u16 type
 *                       | u32 payload length (<= 64 KiB) | u32 flags (0)
 *   payload             zero or more fields, back to back:
 *   field               u16 tag | u16 reserved (0) | u32 len | len bytes
 *
 * The payload length must equal the datagram size minus 16. Each message
 * type has a table of allowed tags with a required flag; a tag's kind and
 * bounds are the same in every message. Unknown, duplicate or missing
 * fields, a bad value, a short field header or bytes past the last field
 * refuse the whole message. File descriptors travel as SCM_RIGHTS, at most
 * IPC_FDS_MAX, and each type carries exactly ipc_type_fd_count(type).
 *
 * Request types (client -> helper) are even, answers (helper -> client)
 * are odd, as in OpenSSH's monitor. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define IPC_MAGIC 0x31544b52u /* "RKT1" as bytes on the wire */
#define IPC_VERSION 1
#define IPC_HDR_SIZE 16
#define IPC_PAYLOAD_MAX 65536
#define IPC_MSG_MAX (IPC_HDR_SIZE + IPC_PAYLOAD_MAX)
#define IPC_FIELD_HDR_SIZE 8
#define IPC_FDS_MAX 4
#define IPC_FIELDS_MAX 16
/* A pod manifest travels in a sealed memfd of at most this size. */
#define IPC_MANIFEST_MAX (1024 * 1024)

enum ipc_type {
	IPC_HELLO = 2,		  /* first message of every connection */
	IPC_HELLO_OK = 3,
	IPC_STATUS_REQ = 4,
	IPC_STATUS_ANS = 5,
	IPC_PREPARE_REQ = 6,	  /* fd 0: sealed pod manifest memfd */
	IPC_PREPARE_ANS = 7,
	IPC_RUN_REQ = 8,	  /* fds: manifest memfd, stdin, stdout, stderr */
	IPC_RUN_EVENT = 9,	  /* streamed while a pod runs */
	IPC_RUN_PREPARED_REQ = 10, /* fds: stdin, stdout, stderr */
	IPC_RUN_RESULT = 11,	  /* ends a stream with the exit status */
	IPC_STOP_REQ = 12,
	IPC_GENERIC_ANS = 13,	  /* errno (0 = done) + message; any request */
	IPC_RM_REQ = 14,
	IPC_GC_REQ = 16,
	IPC_RENDER_REQ = 18,
	IPC_ENTER_REQ = 20,	  /* fds: stdin, stdout, stderr */
	IPC_SIGNAL = 22,	  /* client -> helper during a stream */
	IPC_TYPE_MAX = IPC_SIGNAL,
};

/* Field kinds; bounds live in the tag table (ipc_tag_max_len). */
enum ipc_kind {
	IPC_K_U32 = 1,
	IPC_K_U64,
	IPC_K_I32,
	IPC_K_STR,	/* NUL-free UTF-8, no terminator on the wire */
	IPC_K_BYTES,
	IPC_K_UUID,	/* 36 chars, lowercase hex and dashes 8-4-4-4-12 */
	IPC_K_IMAGE_ID, /* "sha512-" + 64 lowercase hex (the store key) */
	IPC_K_STRV,	/* strings each ended by NUL on the wire: "a\0b\0" */
};

enum ipc_tag {
	IPC_TAG_VERSION = 1,	   /* str: program version of the sender */
	IPC_TAG_DIR,		   /* str: the client's --dir, compared, never opened */
	IPC_TAG_UUID,		   /* uuid: a pod */
	IPC_TAG_IMAGE_ID,	   /* image id */
	IPC_TAG_STAGE1,		   /* str: stage1 flavor name */
	IPC_TAG_INSECURE,	   /* u32: enum ipc_insecure bits */
	IPC_TAG_RUN_FLAGS,	   /* u32: enum ipc_run_flag bits */
	IPC_TAG_NETS,		   /* strv: --net entries */
	IPC_TAG_HOSTNAME,	   /* str */
	IPC_TAG_STATE,		   /* str: pod state name as rkt prints it */
	IPC_TAG_PID,		   /* i32 >= 0 */
	IPC_TAG_CREATED_NS,	   /* u64: ns since the epoch */
	IPC_TAG_STARTED_NS,	   /* u64 */
	IPC_TAG_EXIT_STATUS,	   /* i32 0..255 */
	IPC_TAG_EVENT,		   /* u32: enum ipc_event */
	IPC_TAG_APP,		   /* str: app name */
	IPC_TAG_TEXT,		   /* str: diagnostic line of an event */
	IPC_TAG_SIGNO,		   /* i32 1..64 */
	IPC_TAG_FORCE,		   /* u32 0..1 */
	IPC_TAG_GRACE_NS,	   /* u64 */
	IPC_TAG_PREPARED_EXPIRE_NS, /* u64 */
	IPC_TAG_ERRNO,		   /* i32 0..4095, positive errno */
	IPC_TAG_MESSAGE,	   /* str: one line */
	IPC_TAG_ARGV,		   /* strv: command of enter */
	IPC_TAG_GC_FLAGS,	   /* u32: enum ipc_gc_flag bits */
	/* rkt run's resolv.conf/hosts flags: each item one line, bounded */
	IPC_TAG_DNS,		   /* strv: --dns IP|host|none */
	IPC_TAG_DNS_SEARCH,	   /* strv: --dns-search */
	IPC_TAG_DNS_OPT,	   /* strv: --dns-opt */
	IPC_TAG_DNS_DOMAIN,	   /* str: --dns-domain */
	IPC_TAG_HOSTS_ENTRY,	   /* strv: --hosts-entry IP=NAME|host */
	IPC_TAG_MAX = IPC_TAG_HOSTS_ENTRY,
};

/* Same bits as rkt's --insecure-options (unpriv/cli/cli.h enum insecure_opt). */
enum ipc_insecure {
	IPC_INSECURE_IMAGE = 1u << 0,
	IPC_INSECURE_TLS = 1u << 1,
	IPC_INSECURE_ONDISK = 1u << 2,
	IPC_INSECURE_HTTP = 1u << 3,
	IPC_INSECURE_PUBKEY = 1u << 4,
	IPC_INSECURE_CAPABILITIES = 1u << 5,
	IPC_INSECURE_PATHS = 1u << 6,
	IPC_INSECURE_SECCOMP = 1u << 7,
	IPC_INSECURE_MASK = 0xffu,
};

enum ipc_run_flag {
	IPC_RUNF_NO_OVERLAY = 1u << 0,
	IPC_RUNF_PRIVATE_USERS = 1u << 1,
	IPC_RUNF_INTERACTIVE = 1u << 2,
	IPC_RUNF_MDS_REGISTER = 1u << 3,
	IPC_RUNF_INHERIT_ENV = 1u << 4,
	IPC_RUNF_MASK = 0x1fu,
};

/* GC_REQ: without IPC_GC_TREES it collects pods (rkt gc), with it only the
 * rendered trees no pod references (rkt image gc). The GENERIC_ANS of a
 * GC_REQ with errno 0 carries one line per pod or tree in its message,
 * '\n'-separated, each starting with where the client prints it:
 * IPC_LINE_STDOUT, IPC_LINE_STDERR, or IPC_LINE_FAILED (stderr, and the
 * command fails). */
enum ipc_gc_flag {
	IPC_GC_MARK_ONLY = 1u << 0,
	IPC_GC_TREES = 1u << 1,
	IPC_GC_MASK = 0x3u,
};
#define IPC_LINE_STDOUT '1'
#define IPC_LINE_STDERR '2'
#define IPC_LINE_FAILED '!'

enum ipc_event {
	IPC_EV_PREPARED = 1,   /* uuid is known (rkt prints it for --uuid-file-save) */
	IPC_EV_STARTED = 2,    /* pid of the pod's stage1 */
	IPC_EV_APP_EXITED = 3, /* app + exit status */
	IPC_EV_MESSAGE = 4,    /* text for the user's stderr */
	IPC_EV_MAX = IPC_EV_MESSAGE,
};

struct ipc_field {
	uint16_t tag;
	uint32_t len; /* value bytes, without the NUL the codec appends */
	uint32_t off; /* into ipc_msg.vals */
};

/* One message, built with ipc_msg_init + ipc_msg_put_* or filled by
 * ipc_decode/ipc_recv. Values are stored each followed by a NUL so string
 * accessors return C strings. A built message borrows its fds (the caller
 * keeps and closes them); a decoded one owns them until ipc_msg_take_fd. */
struct ipc_msg {
	uint16_t type;
	uint32_t flags;
	unsigned nfields;
	struct ipc_field fields[IPC_FIELDS_MAX];
	uint8_t *vals;
	size_t vals_len, vals_cap;
	unsigned nfds;
	int fds[IPC_FDS_MAX];
	bool owns_fds;
	int put_error;	   /* first failed put: negative errno, sticky */
	uint16_t put_tag;  /* the tag it failed on */
};

/* Names as the error lines print them ("PREPARE_REQ", "uuid"); NULL for
 * numbers that are not in the tables. */
const char *ipc_type_name(uint16_t type);
const char *ipc_tag_name(uint16_t tag);
/* Exact number of fds a type carries, or -1 for an unknown type. */
int ipc_type_fd_count(uint16_t type);
static inline bool ipc_type_is_request(uint16_t type) { return (type & 1) == 0; }

void ipc_msg_init(struct ipc_msg *m, uint16_t type);
/* Frees the values and closes owned fds; the struct may be reused after
 * ipc_msg_init. Safe on a zeroed or already-freed message. */
void ipc_msg_free(struct ipc_msg *m);
static inline void ipc_msg_freep(struct ipc_msg *m) { ipc_msg_free(m); }
#define _cleanup_ipc_msg_ __attribute__((cleanup(ipc_msg_freep)))

/* Builders. Each checks the tag exists with that kind and fits the field
 * array; a failure is remembered and returned again by ipc_msg_encode, so
 * callers may chain puts and check once. Bounds and per-type tables are
 * checked by ipc_msg_encode with the decoder's own code. */
int ipc_msg_put_u32(struct ipc_msg *m, uint16_t tag, uint32_t v);
int ipc_msg_put_u64(struct ipc_msg *m, uint16_t tag, uint64_t v);
int ipc_msg_put_i32(struct ipc_msg *m, uint16_t tag, int32_t v);
/* For str, uuid and image id tags. */
int ipc_msg_put_str(struct ipc_msg *m, uint16_t tag, const char *s);
int ipc_msg_put_bytes(struct ipc_msg *m, uint16_t tag, const void *p, size_t len);
int ipc_msg_put_strv(struct ipc_msg *m, uint16_t tag, char *const *v);
/* Borrows fd: it must stay open until the message is sent. */
int ipc_msg_add_fd(struct ipc_msg *m, int fd);

/* Serialises m into buf (cap >= IPC_MSG_MAX always suffices) and validates
 * the result exactly as ipc_decode would, fd count included, so a sender
 * never emits what the receiver refuses. */
int ipc_msg_encode(const struct ipc_msg *m, void *buf, size_t cap, size_t *ret_len,
		   struct rkt_err *err);

/* Validates every byte of buf (header, type, flags, fd count, each field)
 * before filling *ret. On success *ret owns the nfds fds; on failure they
 * stay the caller's and *ret is left zeroed. -EBADMSG for malformed input,
 * -EMSGSIZE for a payload over 64 KiB, -EPROTONOSUPPORT for another
 * version. */
int ipc_decode(const void *buf, size_t len, const int *fds, unsigned nfds, struct ipc_msg *ret,
	       struct rkt_err *err);

/* Accessors: 0, -ENOENT when the field is absent, -EINVAL when the tag
 * has another kind. Returned pointers live as long as the message. */
int ipc_msg_get_u32(const struct ipc_msg *m, uint16_t tag, uint32_t *ret);
int ipc_msg_get_u64(const struct ipc_msg *m, uint16_t tag, uint64_t *ret);
int ipc_msg_get_i32(const struct ipc_msg *m, uint16_t tag, int32_t *ret);
int ipc_msg_get_str(const struct ipc_msg *m, uint16_t tag, const char **ret);
int ipc_msg_get_bytes(const struct ipc_msg *m, uint16_t tag, const void **ret, size_t *ret_len);
/* Allocates a NULL-terminated vector of copies (free with strv_free). */
int ipc_msg_get_strv(const struct ipc_msg *m, uint16_t tag, char ***ret);
bool ipc_msg_has(const struct ipc_msg *m, uint16_t tag);
/* Moves fd number idx out of a decoded message; -EBADF when absent. */
int ipc_msg_take_fd(struct ipc_msg *m, unsigned idx);

/* ---- socket.c ---------------------------------------------------------- */

/* One sendmsg of the encoded message with its fds (SCM_RIGHTS), retried on
 * EINTR, MSG_NOSIGNAL. The fds stay the caller's. */
int ipc_send(int fd, const struct ipc_msg *m, struct rkt_err *err);
/* One recvmsg(MSG_CMSG_CLOEXEC) into buf (IPC_MSG_MAX bytes of scratch),
 * then ipc_decode. Returns 1 with *ret filled, 0 when the peer closed the
 * connection, negative on error; *ret is zeroed first, so ipc_msg_free on
 * it is safe whatever the outcome. Refuses truncated data or control data,
 * control messages other than SCM_RIGHTS, more than IPC_FDS_MAX fds and a
 * count other than the type's; every received fd is closed on any error. */
int ipc_recv(int fd, void *buf, struct ipc_msg *ret, struct rkt_err *err);

/* ---- memfd.c ----------------------------------------------------------- */

/* memfd (MFD_ALLOW_SEALING|MFD_CLOEXEC) holding data, sealed with
 * F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE. */
int ipc_memfd_create_sealed(const char *name, const void *data, size_t len, int *ret_fd,
			    struct rkt_err *err);
/* Reads a memfd the peer sent: refuses anything but a regular file whose
 * F_GET_SEALS shows all four seals (-EPERM naming the missing ones), checks
 * the size against max only after that (-EFBIG), then reads it into a
 * NUL-terminated heap buffer. The fd's offset is not used or moved. */
int ipc_memfd_read_sealed(int fd, size_t max, char **ret_buf, size_t *ret_len, struct rkt_err *err);

/* ---- state.c ----------------------------------------------------------- */

/* Connection states (both sides track the same machine):
 * HELLO -> (one operation) -> STREAM (events, signals) -> RESULT -> closed. */
enum ipc_state {
	IPC_ST_START = 0,   /* nothing sent: only HELLO */
	IPC_ST_HELLO_SENT,  /* waiting for HELLO_OK (or a refusal) */
	IPC_ST_READY,	    /* one operation request */
	IPC_ST_WAIT_STATUS, /* STATUS_ANS or refusal */
	IPC_ST_WAIT_PREPARE,
	IPC_ST_WAIT_GENERIC, /* stop, rm, gc, render: GENERIC_ANS */
	IPC_ST_STREAM,	     /* run, run-prepared, enter: events, signals, result */
	IPC_ST_CLOSED,	     /* nothing more; close the connection */
	IPC_ST_MAX = IPC_ST_CLOSED,
};

enum ipc_side { IPC_SIDE_CLIENT, IPC_SIDE_HELPER };

const char *ipc_state_name(enum ipc_state st);
/* Is type allowed in state st? Sets *ret_next on success; -EPROTO naming
 * the state and type otherwise. */
int ipc_state_check(enum ipc_state st, uint16_t type, enum ipc_state *ret_next,
		    struct rkt_err *err);
/* Is `sender` the side that may send this type? Requests come from the
 * client, answers and events from the helper; -EPROTO otherwise. */
int ipc_check_sender(uint16_t type, enum ipc_side sender, struct rkt_err *err);
