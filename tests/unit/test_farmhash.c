/* test_farmhash.c - Fingerprint64 and FingerprintCat64 against values taken
 * from TensorFlow and from FarmHash's own self-test. */
#include "testutil.h"

#include <string.h>

#include "farmhash.h"

/* The byte pattern of the TensorFlow table: xorshift32 from 2463534242,
 * top byte of each state. */
static void pattern(uint8_t *p, size_t n)
{
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* Fingerprint64(pattern[0..n)) for n = 0..300, computed by TensorFlow 2.21
 * (tf.fingerprint(method="farmhash64") on a [1, n] uint8 tensor; each value
 * also agreed with tf.strings.to_hash_bucket_fast modulo 2^63-1, 1000003 and
 * 2^31-1). */
static const uint64_t tf_vectors[301] = {
	0x9ae16a3b2f90404fULL, 0x2f16f213552b75c9ULL, 0x0e69cc5ae906b320ULL,
	0x5e8f4770b5d818a2ULL, 0x0f1d0ba9db4d2660ULL, 0xbea28a5f068328eaULL,
	0x3295608ba4e4fed7ULL, 0x76ff78814494fb29ULL, 0xac0c0f27e994382bULL,
	0x99f7ea3a4291ec73ULL, 0x34b8e30578d59f88ULL, 0xfe0ba39aac304006ULL,
	0x43a1190648ca821bULL, 0x29f82419217e57c8ULL, 0x446b62ecccd78917ULL,
	0x84cf66f7e9fd4d5fULL, 0xb688474d33fbf76eULL, 0x9388a8ae4c8cd7a2ULL,
	0x01f13e0352c308b4ULL, 0x49aaa3fb79e31617ULL, 0xb0d98cf58d112cbeULL,
	0x97cc3b24b41c6327ULL, 0x9d1350825be653c5ULL, 0xa881a90e0ced3211ULL,
	0x89b961ee7662d50cULL, 0xabcb486c1d304887ULL, 0x5339f434b5e0bb31ULL,
	0xa79c71d4fc29783eULL, 0xde7b6114dbe26d79ULL, 0xd3482529d1955e9fULL,
	0x1406fe816ad00879ULL, 0xd28c4c30104eb37cULL, 0x628d6332dfb914b8ULL,
	0x648e70bf5d2323b4ULL, 0x0c980f6cc3f581b8ULL, 0x931e75f2761471beULL,
	0x99ff9cdb2c2ea36aULL, 0x367a1d683325746fULL, 0xebd82e6f3430cbd9ULL,
	0xe47efb05e0178559ULL, 0x812ce53529dc522fULL, 0x3ff400668866ed45ULL,
	0xea47749474ba754cULL, 0x43f17335920fe93eULL, 0x03c2b25f6dd08fedULL,
	0x2645f68aaf6313aeULL, 0x5984da79ab77aa61ULL, 0x9cc7ec6ad08bc578ULL,
	0xb2f25c68be2b5021ULL, 0x5b390dd70c57852aULL, 0x35beeef813720c76ULL,
	0x06341f2e040eec1cULL, 0x0066db3614309ba4ULL, 0x8a4c557dbba090b5ULL,
	0x192e383f28c94cb3ULL, 0xb4adabb44dff9e87ULL, 0x44c73f0bd20aa49aULL,
	0xd223264cb225586bULL, 0x66330927fe8a83b8ULL, 0x4e71a574db7ec5bdULL,
	0x71a4a21a2cc37329ULL, 0xc7eb6be4cbe7def2ULL, 0x086c67fcab962ca4ULL,
	0x8ecab43fca6d6a8fULL, 0x3ac86b18aa5774b1ULL, 0x64a99d753bb808c5ULL,
	0x301b21241c2c82dbULL, 0x42c153dedecc393cULL, 0x57419d87e1ab0cc3ULL,
	0x58cc7ea2c8b02f48ULL, 0xe1edd7b82e694a4fULL, 0xeae54e249630e3cbULL,
	0x5a331ae8172657f0ULL, 0xee171288b0f0d78fULL, 0x8d08e202e0c341c8ULL,
	0x16209118816c268dULL, 0x02b4d7c64c10e270ULL, 0xab2054e35c75e8b4ULL,
	0x96d7f21b358aaa38ULL, 0x5ebaba8e3d20045fULL, 0x4f80b72e339cc8e4ULL,
	0x82111c66104078d6ULL, 0x898bb2129c9994ecULL, 0x100895179fb4b491ULL,
	0xcf71e6f938d7bfd7ULL, 0x9e96eb41588bdb4bULL, 0x9b17af6a6152898aULL,
	0x4b5c9161af8095c2ULL, 0x5a35faf04cf4158bULL, 0x9140f117cc4e5159ULL,
	0x75b9216a2b74648cULL, 0x3d16328eb291e0fdULL, 0xe84b6412bc2b06f0ULL,
	0x8fdd01803192e140ULL, 0x1fd87b711912b5ccULL, 0xbaa1141ada042fc0ULL,
	0x15cb62abc8cbac11ULL, 0xd8066ce9d3ec9fa4ULL, 0x37e18d7008432699ULL,
	0x8f7651fbe9734cabULL, 0x7f864b959e930074ULL, 0x7521d46750c3bbfeULL,
	0x77fceeb2c22d2062ULL, 0x358c62ef0d720602ULL, 0x7ff5644d78e3fdfdULL,
	0xb0ca1d3a54454a75ULL, 0x4b58338ae0e249c3ULL, 0x082cfcba3d65bc18ULL,
	0xc377ce89c3cc6563ULL, 0x84a86684a3e1ef44ULL, 0x783ad5ad3e388a3eULL,
	0xc8f64ce5464680f3ULL, 0x56e519f5d8c94e1bULL, 0xa665555e46a3dd9bULL,
	0x9c082b676f169cd4ULL, 0x3d9b56831ff98aa7ULL, 0x4759340238e6c13dULL,
	0xe4203f7ff61255f8ULL, 0xf08149fb42ca9ab6ULL, 0xaa74d66e7f945abdULL,
	0x8951367f1006df74ULL, 0x6377bb0611602f2bULL, 0x1e3af3eb73bcf067ULL,
	0x8a72727bb074f013ULL, 0x2eecfb9460d433f8ULL, 0x4bb28d2df0f987a6ULL,
	0x6b9f9ef00ff0e122ULL, 0x5168091bd893510eULL, 0x89a7a38b25795861ULL,
	0x5ed71a239082f6fcULL, 0x1f7b71a1a47a7f04ULL, 0xa8701ceebfd8dbf8ULL,
	0x4fceb919bd6aa085ULL, 0x6a1730647e0757deULL, 0xf077447c01ae5effULL,
	0x5bfe0349ce319ef7ULL, 0x6dd4f3e21781c385ULL, 0xd4cdfe215bebc998ULL,
	0x4c4594884b8eb73aULL, 0xd0edbb37c67e193bULL, 0x1e3b26ade09b0297ULL,
	0x5b7f96ae178eb512ULL, 0x2fc68155adc4d9e0ULL, 0xfb13ec794f2f8303ULL,
	0x2dab6ffad9861387ULL, 0x82940342c24d858aULL, 0xf2d390fd7a16656cULL,
	0x0354757d2b9cb1f2ULL, 0xf3cd8f85f2114a75ULL, 0x81368a49970c8be7ULL,
	0x203b386247a1a608ULL, 0xe8b5ae743213f2eeULL, 0x129f34ba13604eb1ULL,
	0xee60f4c1722e81fdULL, 0xdc760a3aeada6e6dULL, 0x4a2f175015c43821ULL,
	0x630b7f1c659204edULL, 0x36ea09e3f32bca3dULL, 0xa5d8acdc8339e378ULL,
	0xe79499621949623eULL, 0x60042433a4d073ceULL, 0x59be3f9089cf4027ULL,
	0x893dde80daf95300ULL, 0x725369ada9b0d37eULL, 0x22746cbf804b68b9ULL,
	0x11b30d03be3c6ab1ULL, 0xfe5b7b82cc5a473fULL, 0x1d3a91cfdaf7fb7eULL,
	0x04aceea6cbfcb7daULL, 0x7f2cd679711b4afeULL, 0x10bbe562dcf193d6ULL,
	0xeff394ec2dd3f874ULL, 0x0b04bdbd5cd94409ULL, 0x02409ac006185c85ULL,
	0x62e069600f894b01ULL, 0x13ec008d8f4d8e7cULL, 0xf96d8e35ede984b0ULL,
	0x6d0cd4a1014fc435ULL, 0x698c52dc6a218713ULL, 0xdb8fd4642095775fULL,
	0xcfe16f0aca71e363ULL, 0x6fbf6d571ba8b508ULL, 0x3c9afa153617f7ffULL,
	0xfce8b19f72c68449ULL, 0x14c68557352e40dfULL, 0xbadac1780ab03cf4ULL,
	0xf4e715fac69bf3e5ULL, 0x79d7631f85dd1e37ULL, 0x88d901cbe751571fULL,
	0xa5dc5afffded902bULL, 0xa9295feeebe91904ULL, 0x015070887861a8a9ULL,
	0x5b170ad0eec3536cULL, 0xe6c59c7646d8384fULL, 0x77fd715f869b1165ULL,
	0x0aeb879799a0df8cULL, 0x92d28c493d1741a3ULL, 0x1d276d2a02ddb288ULL,
	0x89978f1d21cd163dULL, 0x159d1de3b82b4592ULL, 0x66ce1ece644b80edULL,
	0x40811315d0345023ULL, 0xe30de4f71e9a3452ULL, 0xfc9aa0178bd0acb0ULL,
	0xb2a3241124ba4f81ULL, 0xe832cf7eeac5685fULL, 0xad1a19606eb09fd2ULL,
	0xab48a08d2dd72e96ULL, 0xdb65274529799091ULL, 0x396a67270c938ef1ULL,
	0x2be5b73b17cca944ULL, 0x993f606f0b155301ULL, 0x697f27f507206faeULL,
	0x6294746c1a02a208ULL, 0xd7814b08a352b729ULL, 0x475fdea9518d5c70ULL,
	0x4887e02cdb6b285eULL, 0xfbcafd61b35a584aULL, 0xbbdef9c1ba4fe59eULL,
	0xc1a8731642bbc1aeULL, 0x1ff2fe855871de7bULL, 0x76b3f18d2ad76601ULL,
	0x9d66b9d174d23132ULL, 0x67fcc9b0d03087c9ULL, 0xa8939f1433237ec4ULL,
	0xc3d4b178b85dfea4ULL, 0x78797b4babd03879ULL, 0xe797574c3b91f764ULL,
	0x8cd91ac26794fbc7ULL, 0x775d458896afb6fcULL, 0xed9f06a883ec9886ULL,
	0xcaafb0271d42f4d0ULL, 0xef98372e1a192497ULL, 0x57ac89f610b6eceaULL,
	0xb0c97d4e73546debULL, 0x645eeeb350d05ae6ULL, 0x5f551f8a97c49424ULL,
	0x2eba208a15209739ULL, 0x980bb387b9ed014cULL, 0x5a690341a6ee20caULL,
	0x4b5c9307671e16beULL, 0x388b395552781083ULL, 0x1306225dd3ed239fULL,
	0x326be88eb717c9e7ULL, 0x92c3d0ccf15cf577ULL, 0x782ed20b8332ce98ULL,
	0xafe8643d2244a7daULL, 0xbf89eed62eaf5b24ULL, 0xb6bb1bafa637128eULL,
	0x3506518473b1bf86ULL, 0x0063fc1cd5259b6dULL, 0x5c240a813eadeebdULL,
	0xeb4cde0dac4cb344ULL, 0x5babf5330baa8700ULL, 0xc7f0d7ee213f6a0eULL,
	0x2322097b049402bfULL, 0x42d7364804236dc6ULL, 0x8f9ea4a3ced80714ULL,
	0x902a4cb3bb2c7fa2ULL, 0xa24cfde04740f678ULL, 0xb40d906279eafb06ULL,
	0x9b0c42ecc54bf18eULL, 0x7dc7802066e79740ULL, 0x5e0dd0ac5b853ed8ULL,
	0xc7902acec4bc2dc3ULL, 0x74e06947f6251389ULL, 0xb9aacd1d181b9a87ULL,
	0x6a4256697622b95bULL, 0x4f08c05b27026cb3ULL, 0x2ccca6e1f9857cd1ULL,
	0x67a05310bad5c4dcULL, 0x646182ccb7235316ULL, 0x7893ff888be2832eULL,
	0xe3fcac3ff32eadd8ULL, 0x3c9fb173bbb3a4dbULL, 0xd6ae93ac3b4c05e3ULL,
	0xb6486eb32d6730c0ULL, 0x9debac1d60baf9c8ULL, 0x1c9c349938caa783ULL,
	0x8b07faceaccbbac0ULL, 0xcb1cb03c4e9148e6ULL, 0x485a8ed2c50544c6ULL,
	0x2999cca89eaf6a4fULL, 0xecec232901151f5fULL, 0xfe4b74bebc68b8baULL,
	0x4dba3da0a9bf8691ULL, 0x513db5178124d2b7ULL, 0x79b661205ae2a17cULL,
	0x5148f60c5eb443c4ULL, 0xf7525c1a8de8fcf3ULL, 0x9797cd4bfc941da7ULL,
	0x5c74af13657e9e50ULL, 0xd2062607b75daa6aULL, 0xc10683fe5698cbb5ULL,
	0x9c9b46813e46496bULL, 0x34f4ada1e6143b8dULL, 0x01075a2bf59c725cULL,
	0x59d7b111a1108e6cULL, 0xb87648e1a8a89683ULL, 0xb2fa433e73e2686dULL,
	0x53b8cce9192aa529ULL,
};

static void test_tensorflow_vectors(void **state)
{
	(void)state;
	uint8_t p[300];
	pattern(p, sizeof p);
	for (size_t n = 0; n <= 300; n++) {
		if (tfs_fingerprint64(p, n) != tf_vectors[n])
			fail_msg("length %zu: %016llx, TensorFlow says %016llx", n,
			         (unsigned long long)tfs_fingerprint64(p, n), (unsigned long long)tf_vectors[n]);
	}
	assert_true(tfs_fingerprint64(NULL, 0) == 0x9ae16a3b2f90404fULL);
}

/* The result depends only on the bytes, not on their alignment. */
static void test_unaligned(void **state)
{
	(void)state;
	uint8_t buf[300 + 8];
	for (size_t off = 1; off < 8; off++) {
		pattern(buf + off, 300);
		for (size_t n = 0; n <= 300; n++)
			assert_true(tfs_fingerprint64(buf + off, n) == tf_vectors[n]);
	}
}

/* FarmHash's self-test (farmhashnaTest in google/farmhash src/farmhash.cc):
 * data from its seeded generator, Hash64(data + i*i, i) published as two
 * 32-bit halves (the third of the three values printed per i). */
static const uint32_t farmhash_published[][3] = {
	{ 0, 2598464059u, 797982799u },   { 1, 1410420968u, 2134990486u },  { 2, 255297188u, 2992121793u },
	{ 3, 4019337850u, 452431531u },   { 4, 299850021u, 2532580744u },   { 5, 2199864459u, 3696623795u },
	{ 6, 1053458494u, 1882212500u },  { 7, 458884671u, 3033004529u },   { 8, 2700149065u, 2699376854u },
	{ 9, 4220361840u, 1712034059u },  { 10, 594028478u, 2921867846u },  { 11, 3280331829u, 326029180u },
	{ 12, 3824583307u, 1612122221u }, { 13, 2233466664u, 1432476832u }, { 14, 1628777059u, 1499109081u },
	{ 15, 1145519619u, 3190844552u }, { 16, 65721842u, 489963606u },    { 17, 1790705123u, 2128624475u },
	{ 18, 155445229u, 1672724608u },  { 19, 3610042449u, 1911523866u }, { 20, 1099072299u, 1389770549u },
	{ 24, 916494250u, 1230085527u },  { 31, 1438494951u, 507436733u },  { 32, 126024219u, 146044391u },
	{ 33, 165589978u, 1578546616u },  { 40, 22638523u, 648000590u },    { 48, 23075771u, 3252374102u },
	{ 63, 2834153464u, 1481069623u }, { 64, 3740748788u, 3388062747u }, { 65, 1020177209u, 734239551u },
	{ 66, 2610427744u, 49703572u },   { 70, 3669691805u, 263366740u },  { 72, 2747519432u, 4129538640u },
};

static void test_farmhash_selftest(void **state)
{
	(void)state;
	static uint8_t data[80 * 80];
	const uint64_t k0 = 0xc3a5c85c97cb3127ULL;
	uint64_t a = 9, b = 777;
	for (size_t i = 0; i < sizeof data; i++) {
		a += b;
		b += a;
		a = (a ^ (a >> 41)) * k0;
		b = (b ^ (b >> 41)) * k0 + i;
		data[i] = (uint8_t)(b >> 37);
	}
	for (size_t k = 0; k < sizeof farmhash_published / sizeof farmhash_published[0]; k++) {
		uint32_t i = farmhash_published[k][0];
		uint64_t want = ((uint64_t)farmhash_published[k][1] << 32) | farmhash_published[k][2];
		if (tfs_fingerprint64(data + (size_t)i * i, i) != want)
			fail_msg("farmhash self-test i=%u", i);
	}
}

/* FingerprintCat64: Cat(Cat(key, FP64(a)), FP64(b)). tf.sparse.cross_hashed
 * with hash_key=key computes exactly this chain and reports it modulo 2^63-1;
 * these full values agreed with it there. */
static void test_cat64(void **state)
{
	(void)state;
	static const struct {
		uint64_t key;
		const char *a, *b;
		uint64_t want;
	} v[] = {
		{ 1, "serving_default", "x", 0x304a953334c99268ULL },
		{ 1, "", "abc", 0x43afb6e418b6b42bULL },
		{ 0x0123456789abcdefULL, "serving_default", "x", 0x86384cac49a00c0eULL },
		{ 0x0123456789abcdefULL, "", "abc", 0x38618ed3a3d89c92ULL },
		{ 956888297470ULL, "serving_default", "x", 0x6df866edd1bea395ULL },
		{ 956888297470ULL, "", "abc", 0x3b2d4e5b8d30258fULL },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint64_t h = tfs_fingerprint_cat64(v[i].key, tfs_fingerprint64(v[i].a, strlen(v[i].a)));
		h = tfs_fingerprint_cat64(h, tfs_fingerprint64(v[i].b, strlen(v[i].b)));
		assert_true(h == v[i].want);
	}
	/* not commutative */
	assert_true(tfs_fingerprint_cat64(1, 2) != tfs_fingerprint_cat64(2, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tensorflow_vectors),
		cmocka_unit_test(test_unaligned),
		cmocka_unit_test(test_farmhash_selftest),
		cmocka_unit_test(test_cat64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
