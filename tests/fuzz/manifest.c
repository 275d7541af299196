/* libFuzzer target: the appc image and pod manifest parsers must reject or
 * accept any byte string without crashing or leaking. Seeds: the §11
 * vectors of reference/appc-oci.md. */
#include <stddef.h>
#include <stdint.h>

#include "common/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rkt_err err = {0};
	struct image_manifest *im = NULL;
	struct pod_manifest *pm = NULL;

	if (image_manifest_parse((const char *)data, size, &im, &err) == 0) {
		(void)image_manifest_label(im, "version");
		(void)image_manifest_annotation(im, "created");
		image_manifest_free(im);
	}
	if (pod_manifest_parse((const char *)data, size, &pm, &err) == 0)
		pod_manifest_free(pm);
	return 0;
}
