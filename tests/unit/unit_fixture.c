/* Fixture files for the unit tests: raw messages and golden renderings under
 * tests/fixtures/, read whole. Paths are relative to the repository root, where make
 * runs tests. */
#include "sip_msg.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

char *unit_fixture_load(const char *dir, const char *name, size_t *len)
{
	char path[256];
	char *buf = NULL;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out_close;
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
out_close:
	fclose(f);
	return buf;
}

struct sip_msg *unit_fixture_parse(const char *dir, const char *name)
{
	struct sip_msg *m = NULL;
	size_t len = 0;
	char *raw = unit_fixture_load(dir, name, &len);

	if (raw && sip_msg_parse(raw, len, &m, NULL, 0) < 0)
		m = NULL;
	free(raw);
	return m;
}
