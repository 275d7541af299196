/* unpriv/cli/flags: the pflag-like parser, here its optional-value flags
 * (pflag NoOptDefVal: rkt's bare `--net` means `--net=default`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/util.h"
#include "unpriv/cli/flags.h"

static char **net;
static char *name;

static const struct flag_spec specs[] = {
	{ "net", FLAG_STRING_LIST, &net, "networks", "none", .split = true, .noopt_value = "default" },
	{ "name", FLAG_STRING, &name, "a plain string flag", "" },
	{ .name = NULL },
};

/* Parses argv (NULL-terminated) like run does: options precede images. */
static int parse(char ***ret_args, struct rkt_err *err, char **argv)
{
	strv_free(net);
	net = NULL;
	free(name);
	name = NULL;
	const struct flag_spec *lists[] = { specs, NULL };
	*ret_args = NULL;
	return flags_parse(lists, (int)strv_len(argv), argv, false, false, ret_args, err);
}

static void test_bare_optional_flag_takes_no_argument(void **state)
{
	(void)state;
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **args = NULL;
	assert_int_equal(parse(&args, &err, (char *[]){ "--net", "img.aci", NULL }), 0);
	assert_int_equal(strv_len(net), 1);
	assert_string_equal(net[0], "default");
	assert_int_equal(strv_len(args), 1);
	assert_string_equal(args[0], "img.aci");
	strv_free(args);

	/* last on the line: still the default, not "flag needs an argument" */
	assert_int_equal(parse(&args, &err, (char *[]){ "--net", NULL }), 0);
	assert_string_equal(net[0], "default");
	assert_null(args);
}

static void test_optional_flag_value_only_with_equals(void **state)
{
	(void)state;
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **args = NULL;
	assert_int_equal(parse(&args, &err, (char *[]){ "--net=host", "img.aci", NULL }), 0);
	assert_int_equal(strv_len(net), 1);
	assert_string_equal(net[0], "host");
	assert_string_equal(args[0], "img.aci");
	strv_free(args);

	assert_int_equal(parse(&args, &err, (char *[]){ "--net=a,b", "--net", "img.aci", NULL }), 0);
	assert_int_equal(strv_len(net), 3);
	assert_string_equal(net[1], "b");
	assert_string_equal(net[2], "default");
	strv_free(args);

	/* "--net none": none is the first positional, the net is the default */
	assert_int_equal(parse(&args, &err, (char *[]){ "--net", "none", NULL }), 0);
	assert_string_equal(net[0], "default");
	assert_string_equal(args[0], "none");
}

static void test_plain_string_flag_still_takes_next(void **state)
{
	(void)state;
	struct rkt_err err = { 0 };
	_cleanup_strv_ char **args = NULL;
	assert_int_equal(parse(&args, &err, (char *[]){ "--name", "web", "img.aci", NULL }), 0);
	assert_string_equal(name, "web");
	assert_string_equal(args[0], "img.aci");
	strv_free(args);

	assert_int_equal(parse(&args, &err, (char *[]){ "--name", NULL }), -EINVAL);
	assert_string_equal(err.msg, "flag needs an argument: --name");
	strv_free(args);
	args = NULL;
	strv_free(net);
	net = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bare_optional_flag_takes_no_argument),
		cmocka_unit_test(test_optional_flag_value_only_with_equals),
		cmocka_unit_test(test_plain_string_flag_still_takes_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
