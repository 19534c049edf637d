/* test_crc32c.c - CRC-32C values, piecewise extension, hardware == software,
 * and TensorFlow's masking. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

/* Bit-at-a-time reference, independent of the table and instruction paths. */
static uint32_t crc_ref(uint32_t crc, const uint8_t *p, size_t n)
{
	uint32_t c = ~crc;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

static void test_vectors(void **state)
{
	(void)state;
	uint8_t buf[32];

	assert_int_equal(tfs_crc32c("123456789", 9), 0xE3069283u);
	assert_int_equal(tfs_crc32c_extend_sw(0, "123456789", 9), 0xE3069283u);

	memset(buf, 0, sizeof buf);
	assert_int_equal(tfs_crc32c(buf, 32), 0x8A9136AAu);
	assert_int_equal(tfs_crc32c_extend_sw(0, buf, 32), 0x8A9136AAu);

	memset(buf, 0xff, sizeof buf);
	assert_int_equal(tfs_crc32c(buf, 32), 0x62A8AB43u);
	assert_int_equal(tfs_crc32c_extend_sw(0, buf, 32), 0x62A8AB43u);

	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(tfs_crc32c(buf, 32), 0x46DD794Eu);
	assert_int_equal(tfs_crc32c_extend_sw(0, buf, 32), 0x46DD794Eu);

	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(tfs_crc32c(buf, 32), 0x113FDB5Cu);
	assert_int_equal(tfs_crc32c_extend_sw(0, buf, 32), 0x113FDB5Cu);

	/* Empty input leaves the running value unchanged. */
	assert_int_equal(tfs_crc32c("", 0), 0u);
	assert_int_equal(tfs_crc32c_extend(0x12345678u, "", 0), 0x12345678u);
	assert_int_equal(tfs_crc32c_extend_sw(0x12345678u, NULL, 0), 0x12345678u);
}

static void test_extend_pieces(void **state)
{
	(void)state;
	uint8_t data[777];
	srand(1234);
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)rand();
	uint32_t whole = tfs_crc32c(data, sizeof data);
	assert_int_equal(whole, crc_ref(0, data, sizeof data));

	/* every split point into two pieces */
	for (size_t cut = 0; cut <= sizeof data; cut++) {
		uint32_t c = tfs_crc32c(data, cut);
		c = tfs_crc32c_extend(c, data + cut, sizeof data - cut);
		assert_int_equal(c, whole);
		uint32_t s = tfs_crc32c_extend_sw(0, data, cut);
		s = tfs_crc32c_extend_sw(s, data + cut, sizeof data - cut);
		assert_int_equal(s, whole);
	}
	/* many random-size pieces, alternating the two paths */
	for (int round = 0; round < 50; round++) {
		uint32_t c = 0;
		size_t pos = 0;
		int alt = 0;
		while (pos < sizeof data) {
			size_t n = (size_t)(rand() % 40);
			if (n > sizeof data - pos)
				n = sizeof data - pos;
			c = (alt ^= 1) ? tfs_crc32c_extend(c, data + pos, n)
			               : tfs_crc32c_extend_sw(c, data + pos, n);
			pos += n;
		}
		assert_int_equal(c, whole);
	}
	/* "123456789" one byte at a time */
	uint32_t c = 0;
	for (int i = 0; i < 9; i++)
		c = tfs_crc32c_extend(c, &"123456789"[i], 1);
	assert_int_equal(c, 0xE3069283u);
}

static void test_hw_equals_sw(void **state)
{
	(void)state;
	enum { MAXN = 1000 };
	uint8_t *buf = malloc(MAXN + 16);
	assert_non_null(buf);
	srand(99);
	for (size_t i = 0; i < MAXN + 16; i++)
		buf[i] = (uint8_t)rand();
	print_message("crc32c hardware path %s\n", tfs_crc32c_hw() ? "in use" : "not available");
	for (size_t n = 1; n <= MAXN; n++) {
		for (size_t off = 0; off < 8; off++) {
			uint32_t seed = (n & 1) ? 0 : (uint32_t)rand();
			uint32_t a = tfs_crc32c_extend(seed, buf + off, n);
			uint32_t b = tfs_crc32c_extend_sw(seed, buf + off, n);
			if (a != b)
				fail_msg("n=%zu off=%zu: default 0x%08x, software 0x%08x", n, off, a, b);
			if (n % 97 == 0)
				assert_int_equal(b, crc_ref(seed, buf + off, n));
		}
	}
	free(buf);
}

static void test_mask(void **state)
{
	(void)state;
	assert_int_equal(tfs_crc_mask(0), 0xa282ead8u);
	assert_int_equal(tfs_crc_mask(0xE3069283u), 0xC78AB0E5u);
	assert_int_equal(tfs_crc_mask(0x8A9136AAu), 0x0FD7FFFAu);
	assert_int_equal(tfs_crc_unmask(0xC78AB0E5u), 0xE3069283u);

	uint32_t c = tfs_crc32c("foo", 3);
	assert_int_equal(c, 0xCFC4AE1Du);
	assert_int_equal(tfs_crc_mask(c), 0xFEBE8A61u);
	assert_true(tfs_crc_mask(c) != c);
	assert_true(tfs_crc_mask(tfs_crc_mask(c)) != c);
	assert_int_equal(tfs_crc_unmask(tfs_crc_mask(c)), c);
	assert_int_equal(tfs_crc_unmask(tfs_crc_unmask(tfs_crc_mask(tfs_crc_mask(c)))), c);

	srand(7);
	for (int i = 0; i < 100000; i++) {
		uint32_t v = (uint32_t)rand() ^ ((uint32_t)rand() << 16);
		assert_int_equal(tfs_crc_unmask(tfs_crc_mask(v)), v);
		assert_int_equal(tfs_crc_mask(tfs_crc_unmask(v)), v);
	}
	uint32_t edge[] = { 0u, 1u, 0x7fffffffu, 0x80000000u, 0xffffffffu, 0xa282ead8u };
	for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
		assert_int_equal(tfs_crc_unmask(tfs_crc_mask(edge[i])), edge[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_extend_pieces),
		cmocka_unit_test(test_hw_equals_sw),
		cmocka_unit_test(test_mask),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
