/*
 * Writer and reader of the container defined in format.h. The writer
 * runs inside profiled processes: it uses no malloc and no stdio. The
 * reader trusts nothing it reads: every length is checked first.
 */
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t str_copy(char *dst, size_t cap, const char *a, const char *b, const char *c)
{
	size_t n = 0;
	const char *parts[3] = { a, b, c };

	for (int i = 0; i < 3; i++)
		for (const char *s = parts[i]; s && *s && n + 1 < cap; s++)
			dst[n++] = *s;
	dst[n] = 0;
	return n;
}

void fmt_decimal(char *out, uint64_t v)
{
	char rev[24];
	int n = 0;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*out++ = rev[--n];
	*out = 0;
}

static void flush(struct fmt_writer *w)
{
	size_t done = 0;

	while (!w->failed && done < w->used) {
		ssize_t n = write(w->fd, w->buf + done, w->used - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->failed = n < 0 ? errno : EIO;
			break;
		}
		done += (size_t)n;
	}
	w->used = 0;
}

int fmt_writer_open(struct fmt_writer *w, const char *dir, const char *name,
		    enum fmt_kind kind, uint32_t features)
{
	char pid[24];
	struct fmt_header h;

	w->fd = -1;
	w->failed = 0;
	w->offset = 0;
	w->used = 0;
	w->nsections = 0;
	w->in_section = 0;
	str_copy(w->final_path, sizeof(w->final_path), dir, "/", name);
	fmt_decimal(pid, (uint64_t)getpid());
	char tmpname[PATH_MAX];
	str_copy(tmpname, sizeof(tmpname), ".", name, ".tmp");
	str_copy(w->tmp_path, sizeof(w->tmp_path), dir, "/", tmpname);
	size_t len = strlen(w->tmp_path);
	str_copy(w->tmp_path + len, sizeof(w->tmp_path) - len, pid, NULL, NULL);

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	/* O_NOFOLLOW|O_EXCL: a symlink planted under our name is never
	 * followed; a stale temporary of a dead process with our PID is. */
	unlink(w->tmp_path);
	w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return -1;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, FMT_MAGIC, FMT_MAGIC_LEN);
	h.version = FMT_VERSION;
	h.kind = (uint16_t)kind;
	h.features = features;
	fmt_writer_put(w, &h, sizeof(h));
	return 0;
}

void fmt_writer_put(struct fmt_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;

	w->offset += len;
	while (len) {
		size_t room = sizeof(w->buf) - w->used;
		size_t n = len < room ? len : room;
		memcpy(w->buf + w->used, p, n);
		w->used += n;
		p += n;
		len -= n;
		if (w->used == sizeof(w->buf))
			flush(w);
	}
}

void fmt_writer_begin(struct fmt_writer *w, enum fmt_section_type type, uint32_t count)
{
	struct fmt_section s = { .type = type, .count = count, .size = 0 };

	w->section_at = w->offset;
	w->in_section = 1;
	fmt_writer_put(w, &s, sizeof(s));
}

void fmt_writer_end(struct fmt_writer *w)
{
	static const unsigned char zeros[8];
	uint64_t size = w->offset - w->section_at - sizeof(struct fmt_section);

	if (!w->in_section)
		return;
	fmt_writer_put(w, zeros, (8 - size % 8) % 8);
	flush(w);
	/* The size field sits 8 bytes into the section header. */
	if (!w->failed &&
	    pwrite(w->fd, &size, sizeof(size), (off_t)(w->section_at + 8)) != sizeof(size))
		w->failed = errno ? errno : EIO;
	w->in_section = 0;
	w->nsections++;
}

void fmt_writer_abort(struct fmt_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlink(w->tmp_path);
	}
	w->fd = -1;
}

int fmt_writer_commit(struct fmt_writer *w)
{
	uint32_t n = w->nsections;

	fmt_writer_begin(w, FMT_SEC_END, n);
	fmt_writer_end(w);
	flush(w);
	if (!w->failed && fsync(w->fd) < 0)
		w->failed = errno;
	if (!w->failed && rename(w->tmp_path, w->final_path) < 0)
		w->failed = errno;
	if (w->failed) {
		int err = w->failed;
		fmt_writer_abort(w);
		errno = err;
		return -1;
	}
	close(w->fd);
	w->fd = -1;
	return 0;
}

/* ---- reader ---- */

const char *fmt_kind_name(uint32_t kind)
{
	switch (kind) {
	case FMT_KIND_PROFILE:
		return "call profile";
	case FMT_KIND_SNAPSHOT:
		return "memory snapshot";
	default:
		return "unknown kind of cprof file";
	}
}

static int read_all(const char *path, unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a regular file", path);
		close(fd);
		return -1;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	unsigned char *buf = malloc(cap);
	if (!buf) {
		snprintf(err, errlen, "'%s' is too large to read (%lld bytes)", path,
			 (long long)st.st_size);
		close(fd);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			unsigned char *bigger = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!bigger) {
				snprintf(err, errlen, "'%s' is too large to read", path);
				free(buf);
				close(fd);
				return -1;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
}

int fmt_file_open(struct fmt_file *f, const char *path, char *err, size_t errlen)
{
	unsigned char *data;
	size_t size;

	memset(f, 0, sizeof(*f));
	if (read_all(path, &data, &size, err, errlen) < 0)
		return -1;
	return fmt_file_parse(f, data, size, path, err, errlen);
}

int fmt_file_parse(struct fmt_file *f, unsigned char *data, size_t size, const char *path,
		   char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	f->data = data;
	f->size = size;
	if (f->size == 0) {
		snprintf(err, errlen, "'%s' is empty (the run may have been killed before writing it)",
			 path);
		goto fail;
	}
	if (f->size < sizeof(f->header) || memcmp(f->data, FMT_MAGIC, FMT_MAGIC_LEN) != 0) {
		snprintf(err, errlen, "'%s' is not a cprof file (expected a .prof or .snap written by cprof)",
			 path);
		goto fail;
	}
	memcpy(&f->header, f->data, sizeof(f->header));
	if (f->header.version != FMT_VERSION) {
		snprintf(err, errlen, "'%s' has format version %u; this cprof reads version %u (use the cprof that wrote it)",
			 path, f->header.version, FMT_VERSION);
		goto fail;
	}
	if (f->header.features & ~(uint32_t)FMT_FEATURES_KNOWN) {
		snprintf(err, errlen, "'%s' uses features 0x%x this cprof does not know (use a newer cprof)",
			 path, f->header.features & ~(uint32_t)FMT_FEATURES_KNOWN);
		goto fail;
	}
	if (f->header.kind != FMT_KIND_PROFILE && f->header.kind != FMT_KIND_SNAPSHOT) {
		snprintf(err, errlen, "'%s' is corrupt: unknown file kind %u", path, f->header.kind);
		goto fail;
	}

	size_t off = sizeof(f->header), cap = 0;
	int has_end = 0;
	while (off < f->size) {
		struct fmt_section s;
		if (f->size - off < sizeof(s)) {
			snprintf(err, errlen, "'%s' is truncated at byte %zu (inside a section header)", path, off);
			goto fail;
		}
		memcpy(&s, f->data + off, sizeof(s));
		off += sizeof(s);
		if (s.size > f->size - off) {
			snprintf(err, errlen, "'%s' is truncated at byte %zu (section %u needs %llu bytes, %zu left)",
				 path, off, s.type, (unsigned long long)s.size, f->size - off);
			goto fail;
		}
		if (f->nsections == cap) {
			cap = cap ? cap * 2 : 16;
			struct fmt_file_section *more = realloc(f->sections, cap * sizeof(*more));
			if (!more) {
				snprintf(err, errlen, "out of memory reading '%s'", path);
				goto fail;
			}
			f->sections = more;
		}
		f->sections[f->nsections++] = (struct fmt_file_section){
			.type = s.type, .count = s.count, .size = s.size, .payload = f->data + off,
		};
		size_t padded = (size_t)s.size + (8 - s.size % 8) % 8;
		off += padded <= f->size - off ? padded : f->size - off;
		if (s.type == FMT_SEC_END) {
			if (s.count != f->nsections - 1 || s.size != 0) {
				snprintf(err, errlen, "'%s' is corrupt: its end marker does not match its sections", path);
				goto fail;
			}
			has_end = 1;
			break;
		}
	}
	if (!has_end) {
		snprintf(err, errlen, "'%s' is truncated (no end marker after %zu sections; the writer was interrupted)",
			 path, f->nsections);
		goto fail;
	}
	if (off != f->size) {
		snprintf(err, errlen, "'%s' is corrupt: %zu stray bytes after its end marker", path,
			 f->size - off);
		goto fail;
	}
	return 0;
fail:
	fmt_file_close(f);
	return -1;
}

void fmt_file_close(struct fmt_file *f)
{
	free(f->data);
	free(f->sections);
	f->data = NULL;
	f->sections = NULL;
	f->nsections = 0;
}

const struct fmt_file_section *fmt_file_find(const struct fmt_file *f, uint32_t type)
{
	for (size_t i = 0; i < f->nsections; i++)
		if (f->sections[i].type == type)
			return &f->sections[i];
	return NULL;
}
