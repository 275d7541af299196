#include "commands.h"

const struct command fetch_commands[] = {
	{ "fetch", "IMAGE_URL...", "Fetch image(s) and store them in the local store", cmd_fetch_flags, .run = cmd_fetch },
	{ "image fetch", "IMAGE_URL...", "Fetch image(s) and store them in the local store", cmd_fetch_flags, .run = cmd_fetch, .hidden = true, .log_prefix = "fetch" },
	{ "image extract", "IMAGE OUTPUT_DIR", "Extract a stored image to a directory", image_extract_flags, .interspersed = true, .run = cmd_image_extract, .log_prefix = "image extract" },
	{ "image render", "IMAGE OUTPUT_DIR", "Render a stored image to a directory with all its dependencies", image_render_flags, .interspersed = true, .run = cmd_image_render, .log_prefix = "image render" },
	{ "trust", "[--prefix PREFIX] [--root] [PUBKEY...]", "Trust a key for image verification", trust_flags, .interspersed = true, .run = cmd_trust },
	{ .name = NULL },
};
