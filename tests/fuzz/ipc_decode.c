/* libFuzzer target for the IPC decoder (DESIGN §5): the helper's first
 * contact with bytes from an unprivileged peer. Each input is decoded with
 * no fds and again with the fd count its header's type asks for (so the
 * field parser is reached), every field is read back through the accessors,
 * and a message that decodes must re-encode to exactly the same bytes. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "ipc/ipc.h"

static void touch_fields(const struct ipc_msg *m)
{
	for (unsigned i = 0; i < m->nfields; i++) {
		uint16_t tag = m->fields[i].tag;
		uint32_t u32;
		uint64_t u64;
		int32_t i32;
		const char *s;
		const void *p;
		size_t len;
		char **v = NULL;
		(void)ipc_msg_get_u32(m, tag, &u32);
		(void)ipc_msg_get_u64(m, tag, &u64);
		(void)ipc_msg_get_i32(m, tag, &i32);
		if (ipc_msg_get_str(m, tag, &s) == 0 && strlen(s) != m->fields[i].len)
			abort();
		(void)ipc_msg_get_bytes(m, tag, &p, &len);
		if (ipc_msg_get_strv(m, tag, &v) == 0)
			strv_free(v);
	}
}

static void check_reencode(const struct ipc_msg *m, const uint8_t *data, size_t size)
{
	static uint8_t out[IPC_MSG_MAX];
	size_t len = 0;
	struct rkt_err err = { 0 };
	if (ipc_msg_encode(m, out, sizeof out, &len, &err) < 0)
		abort();
	if (len != size || memcmp(out, data, size) != 0)
		abort();
}

static void run(const uint8_t *data, size_t size, unsigned nfds)
{
	int fds[IPC_FDS_MAX];
	for (unsigned i = 0; i < nfds; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			abort();
	}
	struct ipc_msg m;
	struct rkt_err err = { 0 };
	if (ipc_decode(data, size, fds, nfds, &m, &err) == 0) {
		touch_fields(&m);
		check_reencode(&m, data, size);
		ipc_msg_free(&m); /* closes the fds it owns */
	} else {
		if (err.msg[0] == '\0')
			abort(); /* every refusal names its reason */
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, 0);
	if (size >= IPC_HDR_SIZE) {
		uint16_t type = (uint16_t)(data[6] | data[7] << 8);
		int want = ipc_type_fd_count(type);
		if (want > 0)
			run(data, size, (unsigned)want);
	}
	return 0;
}
