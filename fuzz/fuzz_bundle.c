/*
 * fuzz_bundle.c - tensor bundles: the input is
 *     u32 LE index length L | L bytes of variables.index | data shard bytes
 * (L is clamped to what is there). Both files are written into this process's
 * temp dir as variables.index and variables.data-00000-of-00001, then
 * tfs_bundle_open reads them and every entry is verified and looked up.
 * The shard is also every shard of bundles of 2 to 4 shards (hard links), so
 * multi-shard headers get as far as the entries.
 */
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "fuzz.h"

static char *prefix, *index_path, *shard_path;

static void init(void)
{
	prefix = fuzz_path("variables");
	index_path = fuzz_path("variables.index");
	shard_path = fuzz_path("variables.data-00000-of-00001");
	fuzz_write_file(shard_path, "", 0);
	for (int n = 2; n <= 4; n++)
		for (int i = 0; i < n; i++) {
			char rel[64];
			snprintf(rel, sizeof rel, "variables.data-%05d-of-%05d", i, n);
			char *p = fuzz_path(rel);
			FUZZ_ASSERT(link(shard_path, p) == 0);
			free(p);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!prefix)
		init();
	uint32_t l = fuzz_take_u32(&data, &size);
	if (l > size)
		l = (uint32_t)size;
	fuzz_write_file(index_path, data, l);
	fuzz_write_file(shard_path, data + l, size - l);
	tfs_bundle *b = NULL;
	if (fuzz_note("open", tfs_bundle_open(prefix, &b)) < 0)
		return 0;
	for (size_t i = 0; i < b->n; i++) {
		const tfs_bundle_entry *e = &b->e[i];
		FUZZ_ASSERT(tfs_bundle_find(b, e->key, e->key_len) == e);
		const uint8_t *p;
		uint64_t n;
		FUZZ_ASSERT(tfs_bundle_data(b, e, &p, &n) == 0);
		volatile uint8_t sink = 0;
		if (n) /* the entry's bytes are inside the mapped shard */
			sink ^= p[0] ^ p[n - 1];
		(void)sink;
		(void)fuzz_note("verify", tfs_bundle_verify(b, e));
	}
	tfs_bundle_free(b);
	return 0;
}
