/* ACI archives: one streaming import pass and safe extraction (DESIGN §7,
 * appc-oci.md §1). libarchive detects gzip/bzip2/xz/zstd/plain tar. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/appc.h"
#include "common/err.h"
#include "common/manifest.h"

struct aci_limits {
	uint64_t max_entry_size; /* per regular file; default 4 GiB */
	uint64_t max_total_size; /* sum of entry sizes; default 32 GiB */
	uint64_t max_entries;    /* default 1,000,000 */
};
void aci_limits_default(struct aci_limits *l);

/* Called every few MiB with bytes read from src so far (for progress). */
typedef void (*aci_progress_fn)(void *ctx, uint64_t src_bytes);

struct aci_import {
	char key[APPC_KEY_LEN + 1]; /* "sha512-" + first 64 hex */
	char full_hex[129];         /* the whole SHA-512 */
	uint64_t size;              /* decompressed bytes written */
	char *manifest_json;        /* raw manifest bytes, NUL-terminated */
	size_t manifest_len;
	struct image_manifest *manifest; /* parsed + validated */
};
void aci_import_done(struct aci_import *imp);

/* Reads src_fd (any supported compression) once: decompresses, hashes with
 * SHA-512 and writes the tar to out_fd (starting writeback as it goes), then
 * checks every entry header of what was written (seeking over data):
 * manifest + rootfs/ only, no "..", no absolute names, no symlink/hardlink
 * escape, no device nodes, sizes within limits, a valid manifest.
 * Each refusal names the entry and the reason:
 *   "entry \"rootfs/../etc/passwd\": path contains \"..\"". */
int aci_import_stream(int src_fd, int out_fd, const struct aci_limits *limits,
		      aci_progress_fn progress, void *progress_ctx, struct aci_import *ret,
		      struct rkt_err *err);

enum aci_extract_flags {
	ACI_EXTRACT_ROOTFS_ONLY = 1 << 0, /* write rootfs/ contents at the top */
	ACI_EXTRACT_KEEP_SETID = 1 << 1,  /* keep setuid/setgid bits (trusted image) */
	ACI_EXTRACT_OWNERS = 1 << 2,      /* chown to the archive's uid/gid (root only) */
};
/* With a whitelist, also drop directories not listed: a dependency's entries
 * filtered by an ancestor's pathWhitelist (appc-oci.md §1). */
enum { ACI_EXTRACT_WHITELIST_DIRS = 1 << 3 };
/* Extracts a stored (uncompressed, already validated) ACI beneath dest_dirfd,
 * never following a symlink out of it (openat2 RESOLVE_BENEATH/IN_ROOT).
 * whitelist: NULL-terminated absolute paths (pathWhitelist) or NULL.
 * Entries already present are replaced (later layers win, for render). */
int aci_extract(int blob_fd, int dest_dirfd, unsigned flags, char *const *whitelist,
		struct rkt_err *err);
