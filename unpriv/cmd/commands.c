/* rkt's command table. Commands whose work parses untrusted network or
 * archive data name a worker: rkt execs that program (DESIGN §3 load rule),
 * so `rkt list`, `status` and `image list` never load libcurl, gpgme or
 * libarchive. */
#include "commands.h"

#define WORKER_FETCH "rkt-fetch"

const struct command rkt_commands[] = {
	{ "version", "", "Print the version and exit", NULL, .run = cmd_version },
	{ "help", "[COMMAND]", "Help about any command", NULL, .run = cmd_help },
	{ "config", "", "Print configuration for each stage in JSON format", cmd_config_flags, .run = cmd_config },
	{ "fetch", "IMAGE_URL...", "Fetch image(s) and store them in the local store", .worker = WORKER_FETCH },
	{ "trust", "[--prefix PREFIX] [--root] [PUBKEY...]", "Trust a key for image verification", .worker = WORKER_FETCH },
	{ "image fetch", "IMAGE_URL...", "Fetch image(s) and store them in the local store", .worker = WORKER_FETCH, .hidden = true },
	{ "image extract", "IMAGE OUTPUT_DIR", "Extract a stored image to a directory", .worker = WORKER_FETCH },
	{ "image render", "IMAGE OUTPUT_DIR", "Render a stored image to a directory with all its dependencies", .worker = WORKER_FETCH },
	{ "image list", "", "List images in the local store", image_list_flags, .interspersed = true, .run = cmd_image_list, .log_prefix = "list" },
	{ "image rm", "IMAGE...", "Remove one or more images with the given IDs or image names from the local store", .interspersed = true, .run = cmd_image_rm, .log_prefix = "rm" },
	{ "image cat-manifest", "IMAGE", "Inspect and print the image manifest", image_cat_manifest_flags, .interspersed = true, .run = cmd_image_cat_manifest, .log_prefix = "cat-manifest" },
	{ "image export", "IMAGE OUTPUT_ACI_FILE", "Export a stored image to an ACI file", image_export_flags, .interspersed = true, .run = cmd_image_export, .log_prefix = "export" },
	{ "image gc", "", "Garbage collect local store", image_gc_flags, .interspersed = true, .run = cmd_image_gc, .log_prefix = "gc" },
	{ "list", "", "List pods", cmd_list_flags, .interspersed = true, .run = cmd_list },
	{ "status", "UUID", "Check the status of a rkt pod", cmd_status_flags, .interspersed = true, .run = cmd_status },
	{ "prepare", "IMAGE [flags] [-- args] [--- IMAGE ...]", "Prepare to run image(s) in a pod", podargs_flags, .keep_dashdash = true, .run = cmd_prepare },
	{ "run", "[flags] IMAGE [image flags] [-- args] [--- IMAGE ...]", "Run image(s) in a pod", cmd_run_flags, .keep_dashdash = true, .run = cmd_run },
	{ "run-prepared", "UUID", "Run a prepared application pod in rkt", run_only_flags, .interspersed = true, .run = cmd_run_prepared },
	{ "rm", "[--uuid-file=FILE] UUID...", "Remove all files and resources associated with an exited pod", cmd_rm_flags, .interspersed = true, .run = cmd_rm },
	{ "stop", "[--force] [--uuid-file=FILE] UUID...", "Stop a pod", cmd_stop_flags, .interspersed = true, .run = cmd_stop },
	{ "enter", "[--app=APP] UUID [CMD [ARGS...]]", "Enter the namespaces of an app within a rkt pod", cmd_enter_flags, .run = cmd_enter },
	{ "gc", "", "Garbage collect rkt pods no longer in use", cmd_gc_flags, .interspersed = true, .run = cmd_gc },
	{ "cat-manifest", "UUID", "Inspect and print the pod manifest", cmd_cat_manifest_flags, .interspersed = true, .run = cmd_cat_manifest },
	{ .name = NULL },
};
