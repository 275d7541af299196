/* unpriv/fetch/discovery: the <meta> scanner and template filling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/appc.h"
#include "common/cleanup.h"
#include "unpriv/fetch/discovery.h"

static void parse_ref(const char *s, struct appc_image_ref *ref)
{
	struct rkt_err err = { 0 };
	assert_int_equal(appc_image_ref_parse(s, false, ref, &err), 0);
}

/* Parses page for ref_str; the caller frees res. */
static void parse(const char *page, const char *ref_str, struct discovery_result *res)
{
	struct appc_image_ref ref = { 0 };
	struct rkt_err err = { 0 };
	parse_ref(ref_str, &ref);
	memset(res, 0, sizeof *res);
	assert_int_equal(discovery_parse_page(page, strlen(page), &ref, res, &err), 0);
	appc_image_ref_done(&ref);
}

static void test_basic_and_pubkeys(void **state)
{
	(void)state;
	const char *page =
		"<!DOCTYPE html><html><head>\n"
		"<meta name=\"ac-discovery\" content=\"example.com https://example.com/{name}-{version}-{os}-{arch}.{ext}\">\n"
		"<meta name=\"ac-discovery-pubkeys\" content=\"example.com https://example.com/pubkeys.gpg\">\n"
		"<meta name=\"ac-discovery-pubkeys\" content=\"example.com/app https://example.com/app.gpg\">\n"
		"</head></html>";
	struct discovery_result r;
	parse(page, "example.com/app:1.0.0,os=linux,arch=amd64", &r);
	assert_string_equal(r.aci_url, "https://example.com/example.com/app-1.0.0-linux-amd64.aci");
	assert_string_equal(r.sig_url, "https://example.com/example.com/app-1.0.0-linux-amd64.aci.asc");
	assert_non_null(r.pubkeys);
	assert_string_equal(r.pubkeys[0], "https://example.com/pubkeys.gpg");
	assert_string_equal(r.pubkeys[1], "https://example.com/app.gpg");
	assert_null(r.pubkeys[2]);
	discovery_result_done(&r);
}

static void test_first_matching_endpoint_wins(void **state)
{
	(void)state;
	const char *page =
		"<meta name=\"ac-discovery\" content=\"example.org https://wrong.example/{name}.{ext}\">"
		"<meta name=\"ac-discovery\" content=\"example.com/other https://wrong2.example/{name}.{ext}\">"
		"<meta name=\"ac-discovery\" content=\"example.com https://first.example/{name}.{ext}\">"
		"<meta name=\"ac-discovery\" content=\"example.com/app https://second.example/{name}.{ext}\">";
	struct discovery_result r;
	parse(page, "example.com/app", &r);
	assert_string_equal(r.aci_url, "https://first.example/example.com/app.aci");
	assert_null(r.pubkeys);
	discovery_result_done(&r);
}

static void test_prefix_not_matching(void **state)
{
	(void)state;
	const char *page =
		"<meta name=\"ac-discovery\" content=\"example.org https://x.example/{name}.{ext}\">"
		"<meta name=\"ac-discovery-pubkeys\" content=\"example.com/apps https://x.example/k.gpg\">";
	struct discovery_result r;
	parse(page, "example.com/app", &r);
	assert_null(r.aci_url);
	assert_null(r.sig_url);
	assert_null(r.pubkeys);
	discovery_result_done(&r);
}

static void test_unfilled_template_skipped(void **state)
{
	(void)state;
	const char *page =
		"<meta name=\"ac-discovery\" content=\"example.com https://a.example/{name}-{channel}.{ext}\">"
		"<meta name=\"ac-discovery\" content=\"example.com https://b.example/{name}-{version}.{ext}\">";
	struct discovery_result r;
	parse(page, "example.com/app", &r);
	/* {channel} has no value; {version} defaults to latest */
	assert_string_equal(r.aci_url, "https://b.example/example.com/app-latest.aci");
	discovery_result_done(&r);

	/* with the label given, the first template is usable */
	parse(page, "example.com/app,channel=beta", &r);
	assert_string_equal(r.aci_url, "https://a.example/example.com/app-beta.aci");
	assert_string_equal(r.sig_url, "https://a.example/example.com/app-beta.aci.asc");
	discovery_result_done(&r);
}

static void test_entities(void **state)
{
	(void)state;
	const char *page =
		"<meta name=\"ac-discovery\" content=\"example.com https://e.example/get?n={name}&amp;v={version}&#38;x=&#x41;&lt;&gt;&quot;&amp&bogus;.{ext}\">";
	struct discovery_result r;
	parse(page, "example.com/app:2.0", &r);
	assert_string_equal(r.aci_url, "https://e.example/get?n=example.com/app&v=2.0&x=A<>\"&&bogus;.aci");
	discovery_result_done(&r);
}

static void test_quoting_and_case(void **state)
{
	(void)state;
	struct discovery_result r;
	/* upper case tag and attributes, single quotes, unquoted value, '>' in a value */
	parse("<HEAD><META NAME='ac-discovery' CoNtEnT='example.com https://q.example/{name}.{ext}?a>b'/></HEAD>",
	      "example.com/app", &r);
	assert_string_equal(r.aci_url, "https://q.example/example.com/app.aci?a>b");
	discovery_result_done(&r);

	parse("<meta content=\"example.com  https://u.example/{name}.{ext}\" name=ac-discovery>", "example.com/app",
	      &r);
	assert_string_equal(r.aci_url, "https://u.example/example.com/app.aci");
	discovery_result_done(&r);

	parse("<meta\n\tname = \"ac-discovery-pubkeys\"\n\tcontent = \"example.com https://k.example/k\" >",
	      "example.com/app", &r);
	assert_non_null(r.pubkeys);
	assert_string_equal(r.pubkeys[0], "https://k.example/k");
	discovery_result_done(&r);
}

static void test_not_real_tags_ignored(void **state)
{
	(void)state;
	const char *page =
		"<!-- <meta name=\"ac-discovery\" content=\"example.com https://comment.example/{name}.{ext}\"> -->"
		"<script>var s = '<meta name=\"ac-discovery\" content=\"example.com https://script.example/{name}.{ext}\">';</script>"
		"<div title='<meta name=\"ac-discovery\" content=\"example.com https://attr.example/{name}.{ext}\">'></div>"
		"<title><meta name=\"ac-discovery\" content=\"example.com https://title.example/{name}.{ext}\"></title>"
		"<metadata name=\"ac-discovery\" content=\"example.com https://metadata.example/{name}.{ext}\">"
		"<meta name=\"ac-discovery-x\" content=\"example.com https://x.example/{name}.{ext}\">"
		"<meta name=\"ac-discovery\" content=\"example.com https://three.example/{name}.{ext} extra\">"
		"<meta name=\"ac-discovery\" content=\"example.com https://real.example/{name}.{ext}\">";
	struct discovery_result r;
	parse(page, "example.com/app", &r);
	assert_string_equal(r.aci_url, "https://real.example/example.com/app.aci");
	discovery_result_done(&r);
}

static void test_truncated_tag_ignored(void **state)
{
	(void)state;
	struct discovery_result r;
	parse("<meta name=\"ac-discovery\" content=\"example.com https://t.example/{name}.{ext}\"", "example.com/app",
	      &r);
	assert_null(r.aci_url);
	discovery_result_done(&r);
	parse("<meta name=\"ac-discovery\" content=\"example.com https://t.example/{name}.{ext}", "example.com/app",
	      &r);
	assert_null(r.aci_url);
	discovery_result_done(&r);
	parse("", "example.com/app", &r);
	assert_null(r.aci_url);
	discovery_result_done(&r);
}

static void test_fill_template(void **state)
{
	(void)state;
	struct appc_image_ref ref = { 0 };
	parse_ref("example.com/app:1.2.3,os=linux,arch=arm64,flavor=slim", &ref);
	_cleanup_free_ char *a = discovery_fill_template("https://h/{name}/{version}/{os}-{arch}-{flavor}.{ext}",
							 &ref, "aci");
	assert_string_equal(a, "https://h/example.com/app/1.2.3/linux-arm64-slim.aci");
	_cleanup_free_ char *b = discovery_fill_template("https://h/{name}.{ext}", &ref, NULL);
	assert_null(b);
	_cleanup_free_ char *c = discovery_fill_template("https://h/{nope}", &ref, "aci");
	assert_null(c);
	/* a lone brace is not a template expression */
	_cleanup_free_ char *d = discovery_fill_template("https://h/{name}.{ext}?x={", &ref, "aci");
	assert_string_equal(d, "https://h/example.com/app.aci?x={");
	appc_image_ref_done(&ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_and_pubkeys),
		cmocka_unit_test(test_first_matching_endpoint_wins),
		cmocka_unit_test(test_prefix_not_matching),
		cmocka_unit_test(test_unfilled_template_skipped),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_quoting_and_case),
		cmocka_unit_test(test_not_real_tags_ignored),
		cmocka_unit_test(test_truncated_tag_ignored),
		cmocka_unit_test(test_fill_template),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
