/*
 * vtape_tool.c - rmt-vtape: create virtual tapes and look inside them.
 *
 *   rmt-vtape create [--capacity SIZE] [--early-warning SIZE] [--write-protect]
 *                    [--barcode ID] FILE.tap
 *   rmt-vtape list FILE.tap     files, records per file with their sizes, marks, EOD
 *   rmt-vtape info FILE.tap     metadata, saved position, counts
 *   rmt-vtape write-protect on|off FILE.tap   the cartridge's write-protect tab
 *
 * list and info change nothing: they read the .idx when it describes the image and scan
 * the image otherwise. See man/rmt-vtape.1 for the image format.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mtio.h>
#include <time.h>

#include "backend_vtape.h"
#include "tapeimage.h"
#include "tapeindex.h"
#include "tapemeta.h"

static const char usage_text[] =
    "usage: rmt-vtape create [--capacity SIZE] [--early-warning SIZE] [--write-protect]\n"
    "                        [--barcode ID] FILE.tap\n"
    "       rmt-vtape list FILE.tap\n"
    "       rmt-vtape info FILE.tap\n"
    "       rmt-vtape write-protect on|off FILE.tap\n"
    "       rmt-vtape --help\n"
    "SIZE is a number of bytes with an optional K, M, G or T suffix (powers of 1024).\n";

static int usage(FILE *out, int status)
{
	fputs(usage_text, out);
	return status;
}

/* A mistake: what is wrong, then the usage; exit status 2. */
static int usage_mistake(const char *what, const char *word)
{
	fprintf(stderr, "rmt-vtape: %s%s%s%s\n", what, word != NULL ? " '" : "",
	        word != NULL ? word : "", word != NULL ? "'" : "");
	return usage(stderr, 2);
}

static bool valid_barcode(const char *id)
{
	size_t length = strlen(id);

	if (length == 0 || length > TAPEIMAGE_BARCODE_MAX)
		return false;
	for (size_t i = 0; i < length; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return false;
	return true;
}

/*
 * rmtd serves a name as a virtual tape only when it ends in .tap (NAME.tap.rewind
 * being the same tape, rewound on close); under any other name the image would
 * be served as a plain file. Returns false after saying why.
 */
static bool servable_tape_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t length;

	base = base != NULL ? base + 1 : path;
	length = strlen(base);
	if (length > 11 && strcmp(base + length - 11, ".tap.rewind") == 0) {
		fprintf(stderr,
		        "rmt-vtape: %s: that is the rewinding name of %.*s; create that instead\n",
		        path, (int)(strlen(path) - 7), path);
		return false;
	}
	if (length <= 4 || strcmp(base + length - 4, ".tap") != 0) {
		fprintf(stderr,
		        "rmt-vtape: %s: a virtual tape's name ends in .tap (rmtd serves any "
		        "other name as a plain file)\n",
		        path);
		return false;
	}
	return true;
}

static int command_create(int argc, char **argv)
{
	static const struct option options[] = {
	    {"capacity", required_argument, NULL, 'c'},
	    {"early-warning", required_argument, NULL, 'e'},
	    {"write-protect", no_argument, NULL, 'w'},
	    {"barcode", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct tapeimage_meta meta;
	uint64_t capacity = VTAPE_DEFAULT_CAPACITY, early_warning = 0;
	bool early_warning_given = false, write_protect = false;
	const char *barcode = NULL;
	int c, error;

	optind = 1;
	opterr = 0; /* getopt would name the command "create", not rmt-vtape */
	while ((c = getopt_long(argc, argv, ":c:e:wb:h", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (tapeimage_parse_size(optarg, &capacity) < 0) {
				fprintf(stderr, "rmt-vtape: bad capacity '%s'\n", optarg);
				return 2;
			}
			break;
		case 'e':
			if (tapeimage_parse_size(optarg, &early_warning) < 0) {
				fprintf(stderr, "rmt-vtape: bad early warning '%s'\n", optarg);
				return 2;
			}
			early_warning_given = true;
			break;
		case 'w':
			write_protect = true;
			break;
		case 'b':
			if (!valid_barcode(optarg)) {
				fprintf(stderr,
				        "rmt-vtape: a barcode is 1 to %d printable characters "
				        "without spaces\n",
				        TAPEIMAGE_BARCODE_MAX);
				return 2;
			}
			barcode = optarg;
			break;
		case 'h':
			return usage(stdout, 0);
		case ':':
		default: {
			/* A long option whole, a short one by its letter (maybe in a cluster). */
			const char *word = argv[optind - 1];
			char letter[3] = {'-', (char)optopt, '\0'};

			return usage_mistake(c == ':' ? "create: this option wants a value:"
			                              : "create: unknown option",
			                     strncmp(word, "--", 2) == 0 ? word : letter);
		}
		}
	}
	if (argc - optind != 1)
		return usage_mistake(argc - optind == 0 ? "create: no FILE.tap named"
		                                        : "create: one FILE.tap, not more",
		                     NULL);
	if (!servable_tape_name(argv[optind]))
		return 2;
	if (early_warning_given && capacity != 0 && early_warning >= capacity) {
		fprintf(stderr, "rmt-vtape: the early warning must be smaller than the capacity\n");
		return 2;
	}
	tapeimage_meta_init(&meta, capacity);
	if (early_warning_given)
		meta.early_warning = early_warning;
	meta.write_protect = write_protect;
	meta.created = (int64_t)time(NULL);
	if (barcode != NULL)
		strlcpy(meta.barcode, barcode, sizeof(meta.barcode));
	error = vtape_create(AT_FDCWD, argv[optind], &meta);
	tapeimage_meta_free(&meta);
	if (error < 0) {
		fprintf(stderr, "rmt-vtape: %s: %s\n", argv[optind], strerror(-error));
		return 1;
	}
	return 0;
}

static int inspect(const char *name, struct vtape_inspection *inspection)
{
	int error = vtape_inspect(AT_FDCWD, name, inspection);

	if (error < 0) {
		fprintf(stderr, "rmt-vtape: %s: %s\n", name, strerror(-error));
		vtape_inspection_free(inspection);
		return -1;
	}
	return 0;
}

static const char *end_note(const struct tapeimage_index *index)
{
	switch (index->end) {
	case TAPEIMAGE_END_EOM:
		return " (end-of-medium word)";
	case TAPEIMAGE_END_TORN:
		return " (followed by an incomplete object: an interrupted write)";
	case TAPEIMAGE_END_CORRUPT:
		return " (followed by unreadable data)";
	case TAPEIMAGE_END_CLEAN:
		break;
	}
	return "";
}

/* Print one file's records (runs between marks) and what ends it. */
static void list_file(const struct tapeimage_index *index, size_t file, size_t *run)
{
	uint64_t limit = file < index->n_marks ? index->marks[file].object : index->n_objects;
	uint64_t records = 0, bytes = 0;
	size_t r;

	for (r = *run; r < index->n_runs && index->runs[r].first_object < limit; r++) {
		records += index->runs[r].count;
		bytes +=
		    (uint64_t)(index->runs[r].word & TAPEIMAGE_MAX_RECORD) * index->runs[r].count;
	}
	printf("file %zu: %" PRIu64 " record%s, %" PRIu64 " bytes\n", file, records,
	       records == 1 ? "" : "s", bytes);
	for (r = *run; r < index->n_runs && index->runs[r].first_object < limit; r++) {
		const struct tapeimage_run *x = &index->runs[r];

		printf("  %u x %u bytes (objects %" PRIu64 "-%" PRIu64 ")%s\n", x->count,
		       x->word & TAPEIMAGE_MAX_RECORD, x->first_object,
		       x->first_object + x->count - 1,
		       (x->word & TAPEIMAGE_ERROR_FLAG) ? " error flag" : "");
	}
	*run = r;
	if (file < index->n_marks)
		printf("  filemark (object %" PRIu64 ", offset %" PRIu64 ")\n", limit,
		       index->marks[file].offset);
}

static int command_list(int argc, char **argv)
{
	struct vtape_inspection in;
	const struct tapeimage_index *index = &in.index;
	size_t run = 0;

	if (argc != 2)
		return usage_mistake("list takes one FILE.tap", NULL);
	if (inspect(argv[1], &in) < 0)
		return 1;
	for (size_t file = 0; file <= index->n_marks; file++) {
		uint64_t first = file == 0 ? 0 : index->marks[file - 1].object + 1;

		/* After the last mark there is a file only if records follow it. */
		if (file == index->n_marks && file > 0 && first == index->n_objects)
			break;
		list_file(index, file, &run);
	}
	printf("end of data: object %" PRIu64 ", offset %" PRIu64 "%s\n", index->n_objects,
	       index->data_size, end_note(index));
	vtape_inspection_free(&in);
	return 0;
}

static void print_size(const char *label, uint64_t bytes)
{
	if (bytes >= ((uint64_t)1 << 30))
		printf("%-16s%" PRIu64 " bytes (%.2f GiB)\n", label, bytes,
		       (double)bytes / (double)((uint64_t)1 << 30));
	else if (bytes >= ((uint64_t)1 << 20))
		printf("%-16s%" PRIu64 " bytes (%.2f MiB)\n", label, bytes,
		       (double)bytes / (double)((uint64_t)1 << 20));
	else
		printf("%-16s%" PRIu64 " bytes\n", label, bytes);
}

static const char *index_state_name(enum tapeimage_index_state state)
{
	switch (state) {
	case TAPEIMAGE_INDEX_VALID:
		return "saved index is valid";
	case TAPEIMAGE_INDEX_GROWN:
		return "saved index covers the start; the rest was scanned";
	case TAPEIMAGE_INDEX_STALE:
		break;
	}
	return "no valid saved index; the image was scanned";
}

static int command_info(int argc, char **argv)
{
	struct vtape_inspection in;
	const struct tapeimage_meta *m = &in.meta;
	const struct tapeimage_index *x = &in.index;
	uint64_t records;
	char when[64] = "unknown";

	if (argc != 2)
		return usage_mistake("info takes one FILE.tap", NULL);
	if (inspect(argv[1], &in) < 0)
		return 1;
	records = x->n_objects - x->n_marks;
	if (m->created > 0) {
		time_t t = (time_t)m->created;
		struct tm tm;

		if (gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
	printf("%-16s%s\n", "image:", argv[1]);
	print_size("image size:", in.image_size);
	printf("%-16s%s\n", "metadata:", in.has_meta ? "present" : "none (defaults)");
	printf("%-16s%s\n", "barcode:", m->barcode[0] ? m->barcode : "(none)");
	printf("%-16s%s\n", "created:", when);
	printf("%-16s%s\n", "write protect:", m->write_protect ? "yes" : "no");
	if (m->capacity == 0)
		printf("%-16s%s\n", "capacity:", "unlimited");
	else
		print_size("capacity:", m->capacity);
	print_size("early warning:", m->early_warning);
	printf("%-16s%s, %" PRIu64 " load%s\n", "loaded:", m->loaded ? "yes" : "no (unloaded)",
	       m->loads, m->loads == 1 ? "" : "s");
	if (m->block_size == 0)
		printf("%-16s%s\n", "block size:", "variable");
	else
		printf("%-16s%u bytes (fixed)\n", "block size:", m->block_size);
	printf("%-16s0x%02x\n", "density:", m->density);
	printf("%-16s%s\n", "compression:", m->compression ? "on" : "off");
	printf("%-16s0x%x (two-fm %s, fast-mteom %s)\n", "drive options:", m->drive_options,
	       (m->drive_options & MT_ST_TWO_FM) ? "on" : "off",
	       (m->drive_options & MT_ST_FAST_MTEOM) ? "on" : "off");
	if (m->has_position)
		printf("%-16sobject %" PRIu64 " (offset %" PRIu64 "), file %d, block %d, eof "
		       "state %s\n",
		       "position:", m->position, m->position_offset, m->file_number,
		       m->block_number, tapeimage_eof_state_name(m->eof_state));
	else
		printf("%-16s%s\n", "position:", "beginning of tape (none saved)");
	printf("%-16s%zu\n", "filemarks:", x->n_marks);
	printf("%-16s%" PRIu64 "\n", "records:", records);
	printf("%-16s%" PRIu64 "\n", "objects:", x->n_objects);
	print_size("record data:", tapeimage_index_data_bytes(x));
	printf("%-16soffset %" PRIu64 "%s\n", "end of data:", x->data_size, end_note(x));
	printf("%-16s%s\n", "index:", index_state_name(in.index_state));
	if (in.busy)
		printf("%-16s%s\n", "in use:", "yes (a drive holds it open)");
	else if (m->in_use)
		printf("%-16s%s\n", "in use:",
		       "no, but its last writer ended without closing it (the next open "
		       "writes the filemark)");
	else
		printf("%-16s%s\n", "in use:", "no");
	printf("%-16s%" PRIu64 " bytes in %" PRIu64 " records, %" PRIu64 " filemarks\n",
	       "written:", m->bytes_written, m->records_written, m->filemarks_written);
	printf("%-16s%" PRIu64 " bytes in %" PRIu64 " records\n", "read:", m->bytes_read,
	       m->records_read);
	printf("%-16s%" PRIu64 "\n", "errors:", m->errors);
	vtape_inspection_free(&in);
	return 0;
}

static int command_write_protect(int argc, char **argv)
{
	bool protect;
	int error;

	if (argc != 3)
		return usage_mistake("write-protect takes on or off, then one FILE.tap", NULL);
	if (strcmp(argv[1], "on") == 0)
		protect = true;
	else if (strcmp(argv[1], "off") == 0)
		protect = false;
	else
		return usage_mistake("write-protect takes on or off, not", argv[1]);
	error = vtape_set_write_protect(AT_FDCWD, argv[2], protect);
	if (error == -EBUSY) {
		fprintf(stderr, "rmt-vtape: %s: in use by a drive; try again once it is closed\n",
		        argv[2]);
		return 1;
	}
	if (error < 0) {
		fprintf(stderr, "rmt-vtape: %s: %s\n", argv[2], strerror(-error));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_mistake("no command", NULL);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout, 0);
	if (strcmp(argv[1], "create") == 0)
		return command_create(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return command_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "info") == 0)
		return command_info(argc - 1, argv + 1);
	if (strcmp(argv[1], "write-protect") == 0)
		return command_write_protect(argc - 1, argv + 1);
	return usage_mistake("unknown command", argv[1]);
}
