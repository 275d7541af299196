/* libFuzzer target: the helper's policy parser. */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/policy.h"

static int any_group(const char *name, gid_t *ret, void *ctx)
{
	(void)name;
	(void)ctx;
	*ret = 1000;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct rkt_err err = { 0 };
	if (policy_parse((const char *)data, size, "fuzz.json", any_group, NULL, &p, &err) == 0)
		policy_free(p);
	return 0;
}
