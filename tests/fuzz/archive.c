/* Fuzzes the ACI import: any bytes, any compression, must be either a valid
 * image or one clean refusal, within small limits and without leaks. */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"
#include "common/aci_archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int in = memfd_create("fuzz-in", MFD_CLOEXEC);
	int out = memfd_create("fuzz-out", MFD_CLOEXEC);
	if (in < 0 || out < 0)
		__builtin_trap();
	if (write_all(in, data, size) < 0 || lseek(in, 0, SEEK_SET) < 0)
		__builtin_trap();
	/* Small limits keep decompression bombs cheap. */
	struct aci_limits lim = {
		.max_entry_size = 1u << 20,
		.max_total_size = 4u << 20,
		.max_entries = 256,
	};
	struct aci_import imp;
	struct rkt_err err = { 0 };
	if (aci_import_stream(in, out, &lim, NULL, NULL, &imp, &err) == 0) {
		if (!imp.manifest || imp.key[0] != 's' || err.msg[0])
			__builtin_trap();
		aci_import_done(&imp);
	} else if (!err.msg[0]) {
		__builtin_trap(); /* every refusal says why */
	}
	close(in);
	close(out);
	return 0;
}
