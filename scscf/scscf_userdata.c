/* User-Data of an SAA (TS 29.228 Annex E, TS 29.229 6.3.3): the S-CSCF needs the private
 * identity and, for P-Associated-URI, the implicit registration set: every
 * IMSSubscription/ServiceProfile/PublicIdentity with its Identity and BarringIndication.
 * A small scanner, not an XML library: elements must nest, everything else is skipped,
 * and every bound (size, depth, identity length, count) is checked. DOCTYPE is refused,
 * so no entity definitions exist to expand. */
#include "scscf.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define DEPTH_MAX 32 /* nesting of elements; Annex E needs 6 */
#define TEXT_MAX  SCSCF_URI_MAX

/* The elements read; any other is ELEM_OTHER. */
enum elem {
	ELEM_OTHER,
	ELEM_SUBSCRIPTION, /* IMSSubscription */
	ELEM_PRIVATE_ID,   /* IMSSubscription/PrivateID */
	ELEM_PROFILE,      /* IMSSubscription/ServiceProfile */
	ELEM_PUBLIC,       /* ServiceProfile/PublicIdentity */
	ELEM_IDENTITY,     /* PublicIdentity/Identity */
	ELEM_BARRING,      /* PublicIdentity/BarringIndication */
};

/* An open element. */
struct frame {
	enum elem id;     /* what it is */
	const char *name; /* its name in the document, for the end tag check */
	size_t len;       /* length of name */
};

/* Scanner state. */
struct scan {
	const char *p;                 /* next byte */
	const char *end;               /* end of the document */
	struct frame stack[DEPTH_MAX]; /* open elements */
	size_t depth;                  /* entries in stack */
	char text[TEXT_MAX];           /* text of the element being captured */
	size_t text_len;               /* bytes in text */
	struct scscf_identity cur;     /* PublicIdentity being read */
	bool cur_has_uri;              /* cur has its Identity */
	size_t roots;                  /* top-level elements seen (XML 1.0 2.1: one) */
	struct scscf_userdata *out;    /* result */
};

static const struct {
	const char *name; /* local name */
	enum elem parent; /* the element it must be a child of */
	enum elem id;     /* what it is then */
} elems[] = {
    {"IMSSubscription", ELEM_OTHER, ELEM_SUBSCRIPTION},
    {"PrivateID", ELEM_SUBSCRIPTION, ELEM_PRIVATE_ID},
    {"ServiceProfile", ELEM_SUBSCRIPTION, ELEM_PROFILE},
    {"PublicIdentity", ELEM_PROFILE, ELEM_PUBLIC},
    {"Identity", ELEM_PUBLIC, ELEM_IDENTITY},
    {"BarringIndication", ELEM_PUBLIC, ELEM_BARRING},
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool capturing(const struct scan *sc)
{
	enum elem top = sc->depth ? sc->stack[sc->depth - 1].id : ELEM_OTHER;

	return top == ELEM_PRIVATE_ID || top == ELEM_IDENTITY || top == ELEM_BARRING;
}

/* First occurrence of the NUL-terminated needle in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; p + n <= end; p++)
		if (memcmp(p, needle, n) == 0)
			return p;
	return NULL;
}

static bool starts(const char *p, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(end - p) >= n && memcmp(p, prefix, n) == 0;
}

static int text_put(struct scan *sc, const char *s, size_t n)
{
	if (sc->text_len + n >= sizeof(sc->text))
		return -EMSGSIZE;
	memcpy(sc->text + sc->text_len, s, n);
	sc->text_len += n;
	return 0;
}

/* UTF-8 encoding of a character reference (XML 1.0 4.1, production Char). */
static int put_codepoint(struct scan *sc, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
	    (cp < 0x20 && cp != 0x9 && cp != 0xa && cp != 0xd))
		return -EBADMSG;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return text_put(sc, u, n);
}

/* XML 1.0 4.1 and 4.6: a character reference or one of the five predefined entities,
 * starting at '&'; [p, semi) is the reference. */
static int put_reference(struct scan *sc, const char *p, const char *semi)
{
	static const struct {
		const char *name; /* entity name */
		char c;           /* its character */
	} predefined[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
	size_t n = (size_t)(semi - p - 1);
	unsigned long cp = 0;
	const char *q;

	if (n > 0 && p[1] == '#') {
		bool hex = n > 1 && p[2] == 'x';
		unsigned base = hex ? 16 : 10;

		q = p + (hex ? 3 : 2);
		if (q == semi)
			return -EBADMSG;
		for (; q < semi; q++) {
			unsigned d;

			if (*q >= '0' && *q <= '9')
				d = (unsigned)(*q - '0');
			else if (hex && *q >= 'a' && *q <= 'f')
				d = (unsigned)(*q - 'a' + 10);
			else if (hex && *q >= 'A' && *q <= 'F')
				d = (unsigned)(*q - 'A' + 10);
			else
				return -EBADMSG;
			cp = cp * base + d;
			if (cp > 0x10ffff)
				return -EBADMSG;
		}
		return put_codepoint(sc, cp);
	}
	for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++)
		if (strlen(predefined[i].name) == n && memcmp(p + 1, predefined[i].name, n) == 0)
			return text_put(sc, &predefined[i].c, 1);
	return -EBADMSG;
}

/* Character data up to the next '<'. */
static int scan_text(struct scan *sc)
{
	const char *lt = memchr(sc->p, '<', (size_t)(sc->end - sc->p));
	const char *stop = lt ? lt : sc->end;
	bool keep = capturing(sc);

	while (sc->p < stop) {
		const char *amp = memchr(sc->p, '&', (size_t)(stop - sc->p));
		const char *run_end = amp ? amp : stop;
		const char *semi;
		size_t room;
		int rc;

		if (keep && (rc = text_put(sc, sc->p, (size_t)(run_end - sc->p))) < 0)
			return rc;
		sc->p = run_end;
		if (!amp)
			break;
		/* The longest reference is "&#x10FFFF;" (10 bytes). */
		room = (size_t)(stop - amp);
		semi = memchr(amp, ';', room < 12 ? room : 12);
		if (!semi)
			return -EBADMSG;
		if (keep && (rc = put_reference(sc, amp, semi)) < 0)
			return rc;
		sc->p = semi + 1;
	}
	return 0;
}

/* The text captured, without surrounding whitespace, NUL-terminated in place. */
static const char *captured(struct scan *sc, size_t *len)
{
	size_t s = 0, e = sc->text_len;

	while (s < e && is_space(sc->text[s]))
		s++;
	while (e > s && is_space(sc->text[e - 1]))
		e--;
	sc->text[e] = '\0';
	*len = e - s;
	return sc->text + s;
}

static enum elem classify(const struct scan *sc, const char *name, size_t len)
{
	enum elem parent = sc->depth ? sc->stack[sc->depth - 1].id : ELEM_OTHER;
	const char *colon = memchr(name, ':', len);

	/* Namespace prefixes do not matter here: compare the local name. */
	if (colon) {
		len -= (size_t)(colon + 1 - name);
		name = colon + 1;
	}
	for (size_t i = 0; i < sizeof(elems) / sizeof(elems[0]); i++)
		if (strlen(elems[i].name) == len && memcmp(elems[i].name, name, len) == 0 &&
		    elems[i].parent == parent)
			return elems[i].id;
	return ELEM_OTHER;
}

static void element_start(struct scan *sc, enum elem id)
{
	if (id == ELEM_PUBLIC) {
		memset(&sc->cur, 0, sizeof(sc->cur));
		sc->cur_has_uri = false;
	}
	if (id == ELEM_PRIVATE_ID || id == ELEM_IDENTITY || id == ELEM_BARRING)
		sc->text_len = 0;
}

static int element_end(struct scan *sc, enum elem id)
{
	struct scscf_userdata *out = sc->out;
	const char *t;
	size_t len;

	switch (id) {
	case ELEM_PRIVATE_ID:
		t = captured(sc, &len);
		memcpy(out->impi, t, len + 1);
		break;
	case ELEM_IDENTITY:
		t = captured(sc, &len);
		memcpy(sc->cur.uri, t, len + 1);
		sc->cur_has_uri = len > 0;
		break;
	case ELEM_BARRING:
		/* xs:boolean: 1/true or 0/false. */
		t = captured(sc, &len);
		if (strcmp(t, "1") == 0 || strcmp(t, "true") == 0)
			sc->cur.barred = true;
		else if (strcmp(t, "0") == 0 || strcmp(t, "false") == 0)
			sc->cur.barred = false;
		else
			return -EBADMSG;
		break;
	case ELEM_PUBLIC:
		if (!sc->cur_has_uri)
			break;
		if (out->n_ids == SCSCF_IMPUS_MAX)
			out->truncated = true;
		else
			out->ids[out->n_ids++] = sc->cur;
		break;
	default:
		break;
	}
	return 0;
}

static size_t name_len(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && !is_space(*q) && *q != '/' && *q != '>' && *q != '<' && *q != '=')
		q++;
	return (size_t)(q - p);
}

/* "</name>" at sc->p. */
static int scan_end_tag(struct scan *sc)
{
	const char *name = sc->p + 2;
	size_t len = name_len(name, sc->end);
	const char *q = name + len;
	struct frame *f;

	while (q < sc->end && is_space(*q))
		q++;
	if (len == 0 || q == sc->end || *q != '>' || sc->depth == 0)
		return -EBADMSG;
	f = &sc->stack[sc->depth - 1];
	if (f->len != len || memcmp(f->name, name, len) != 0)
		return -EBADMSG;
	sc->p = q + 1;
	sc->depth--;
	return element_end(sc, f->id);
}

/* "<name attr="v" ...>" or "<name .../>" at sc->p. */
static int scan_start_tag(struct scan *sc)
{
	const char *name = sc->p + 1;
	size_t len = name_len(name, sc->end);
	const char *q = name + len;
	char quote = 0;
	bool empty;
	enum elem id;

	if (len == 0)
		return -EBADMSG;
	for (; q < sc->end; q++) {
		if (quote) {
			if (*q == quote)
				quote = 0;
		} else if (*q == '"' || *q == '\'') {
			quote = *q;
		} else if (*q == '<') {
			return -EBADMSG;
		} else if (*q == '>') {
			break;
		}
	}
	if (q == sc->end)
		return -EBADMSG;
	empty = q[-1] == '/' && q - 1 >= name + len;
	sc->p = q + 1;
	if (sc->depth == DEPTH_MAX)
		return -EMSGSIZE;
	if (sc->depth == 0)
		sc->roots++;
	id = classify(sc, name, len);
	sc->stack[sc->depth++] = (struct frame){id, name, len};
	element_start(sc, id);
	if (!empty)
		return 0;
	sc->depth--;
	return element_end(sc, id);
}

/* One markup construct at sc->p ('<'). */
static int scan_markup(struct scan *sc)
{
	const char *close;

	if (starts(sc->p, sc->end, "<?")) {
		close = find(sc->p + 2, sc->end, "?>");
		if (!close)
			return -EBADMSG;
		sc->p = close + 2;
		return 0;
	}
	if (starts(sc->p, sc->end, "<!--")) {
		close = find(sc->p + 4, sc->end, "-->");
		if (!close)
			return -EBADMSG;
		sc->p = close + 3;
		return 0;
	}
	if (starts(sc->p, sc->end, "<![CDATA[")) {
		const char *s = sc->p + 9;
		int rc = 0;

		close = find(s, sc->end, "]]>");
		if (!close || sc->depth == 0)
			return -EBADMSG;
		if (capturing(sc))
			rc = text_put(sc, s, (size_t)(close - s));
		sc->p = close + 3;
		return rc;
	}
	/* DOCTYPE and anything else starting with "<!": no entity definitions here. */
	if (starts(sc->p, sc->end, "<!"))
		return -EBADMSG;
	if (starts(sc->p, sc->end, "</"))
		return scan_end_tag(sc);
	return scan_start_tag(sc);
}

int scscf_userdata_parse(const char *xml, size_t len, struct scscf_userdata *out)
{
	struct scan sc = {.p = xml, .end = xml + len, .out = out};

	memset(out, 0, sizeof(*out));
	if (len > CX_USER_DATA_MAX)
		return -EMSGSIZE;
	if (memchr(xml, '\0', len))
		return -EBADMSG;
	while (sc.p < sc.end) {
		int rc;

		if (*sc.p != '<') {
			const char *before = sc.p;

			rc = scan_text(&sc);
			/* Outside the root only whitespace may appear (XML 1.0 2.1 Misc). */
			if (rc == 0 && sc.depth == 0)
				for (const char *q = before; q < sc.p; q++)
					if (!is_space(*q))
						return -EBADMSG;
		} else {
			rc = scan_markup(&sc);
		}
		if (rc < 0)
			return rc;
	}
	return sc.depth == 0 && sc.roots == 1 ? 0 : -EBADMSG;
}
