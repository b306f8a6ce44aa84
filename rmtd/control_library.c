/*
 * control_library.c - rmtctl's library commands: parsed here, done by
 * library_runtime.c, answered as text or JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "control_library.h"
#include "json_bytes.h"
#include "library_runtime.h"
#include "log.h"

#define WORDS_MAX 6

static const char *code_of(int error)
{
	switch (error) {
	case -ENOENT:
		return CONTROL_ERR_NOTFOUND;
	case -EBUSY:
		return CONTROL_ERR_BUSY;
	case -EINVAL:
		return CONTROL_ERR_USAGE;
	case -EEXIST:
	case -ENOSPC:
	case -ENOMEDIUM:
		return CONTROL_ERR_UNAVAILABLE;
	default:
		return CONTROL_ERR_INTERNAL;
	}
}

static const char *errno_name(int error)
{
	switch (-error) {
	case ENOENT:
		return "ENOENT";
	case EBUSY:
		return "EBUSY";
	case EINVAL:
		return "EINVAL";
	case EEXIST:
		return "EEXIST";
	case ENOSPC:
		return "ENOSPC";
	case ENOMEDIUM:
		return "ENOMEDIUM";
	default:
		return "EIO";
	}
}

struct reply {
	FILE *out;
	char *text;
	size_t length;
};

static int fail(int error, const char *why, const char **code, char *message, size_t size)
{
	*code = code_of(error);
	snprintf(message, size, "%s: %s", errno_name(error), why);
	return -1;
}

/* One answer line for a change: what the library looks like where it moved. */
static void changed(FILE *out, bool json, const char *what)
{
	json_t *o;

	if (json) {
		o = json_object();
		if (o != NULL && !json_set_text(o, "done", what)) {
			json_decref(o);
			o = NULL;
		}
		if (json_write_file(o, out) == 0)
			fputc('\n', out);
	} else
		fprintf(out, "%s\n", what);
}

static struct library_runtime *library_named(const char *name, const char **code, char *message,
                                             size_t size)
{
	struct library_runtime *lib = libraries_find(name);

	if (lib == NULL)
		fail(-ENOENT, "no such library", code, message, size);
	return lib;
}

bool control_library_is_command(const char *line, size_t length)
{
	static const char *const words[] = {"inventory", "cartridges", "load",   "unload",
	                                    "move",      "import",     "export", "readonly"};
	size_t n = 0;

	while (n < length && line[n] != ' ' && line[n] != '\t' && line[n] != '\r' &&
	       line[n] != '\n')
		n++;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && memcmp(words[i], line, n) == 0)
			return true;
	return false;
}

int control_library_request(const char *line, size_t length, uid_t uid, pid_t pid, char **body,
                            size_t *body_length, const char **code, char *message,
                            size_t message_size)
{
	char copy[CONTROL_REQUEST_MAX], *w[WORDS_MAX + 1], *save = NULL, who[64], why[200] = "";
	struct element_address from, to;
	struct library_runtime *lib = NULL;
	struct reply r = {0};
	bool json = false;
	int n = 0, error = 0, drive;
	const char *command;

	*body = NULL;
	*body_length = 0;
	if (length >= sizeof(copy))
		return fail(-EINVAL, "request too long", code, message, message_size);
	memcpy(copy, line, length);
	copy[length] = '\0';
	copy[strcspn(copy, "\r\n")] = '\0';
	for (char *word = strtok_r(copy, " \t", &save); word != NULL && n <= WORDS_MAX;
	     word = strtok_r(NULL, " \t", &save))
		w[n++] = word;
	if (n == 0)
		return fail(-EINVAL, "no command", code, message, message_size);
	command = w[0];
	if (n > 1 && strcmp(w[1], "--json") == 0) {
		json = true;
		memmove(&w[1], &w[2], (size_t)(n - 2) * sizeof(w[0]));
		n--;
	}
	if (n > WORDS_MAX)
		return fail(-EINVAL, "too many arguments", code, message, message_size);
	if (libraries_count() == 0)
		return fail(-ENOENT, "no library is configured", code, message, message_size);
	snprintf(who, sizeof(who), "uid %u pid %d", (unsigned)uid, (int)pid);
	r.out = open_memstream(&r.text, &r.length);
	if (r.out == NULL)
		return fail(-ENOMEM, "out of memory", code, message, message_size);

	if (strcmp(command, "inventory") == 0) {
		if (n > 2) {
			error = -EINVAL;
			snprintf(why, sizeof(why), "usage: inventory [--json] [LIBRARY]");
		} else if (n == 2 && (lib = libraries_find(w[1])) == NULL) {
			error = -ENOENT;
			snprintf(why, sizeof(why), "no such library");
		} else {
			if (json)
				fputs(n == 2 ? "" : "[", r.out);
			for (int i = 0; i < libraries_count(); i++) {
				struct library_runtime *each = libraries_at(i);

				if (n == 2 && each != lib)
					continue;
				if (json && n == 1 && i > 0)
					fputc(',', r.out);
				if ((error = library_op_inventory(each, why, sizeof(why))) < 0) {
					log_warnx("library %s: inventory failed (by %s): %s",
					          each->spec.name, who, why);
					break;
				}
				log_info("library %s: inventory (by %s)", each->spec.name, who);
				library_format_inventory(each, r.out, json);
			}
			if (json && n == 1)
				fputs("]\n", r.out);
		}
	} else if (strcmp(command, "cartridges") == 0) {
		if (n > 2) {
			error = -EINVAL;
			snprintf(why, sizeof(why), "usage: cartridges [--json] [CARTRIDGE]");
		} else if (n == 2) {
			lib = libraries_of_cartridge(w[1]);
			error = lib == NULL ? -ENOENT
			                    : library_format_cartridges(lib, w[1], r.out, json);
			if (error < 0)
				snprintf(why, sizeof(why), "no cartridge %s in any library", w[1]);
		} else {
			for (int i = 0; i < libraries_count(); i++)
				library_format_cartridges(libraries_at(i), NULL, r.out, json);
		}
	} else if (strcmp(command, "load") == 0) {
		if (n != 3) {
			error = -EINVAL;
			snprintf(why, sizeof(why), "usage: load CARTRIDGE|slot:N DRIVE");
		} else if ((lib = libraries_of_drive_name(w[2], &drive)) == NULL) {
			error = -ENOENT;
			snprintf(why, sizeof(why), "%s is no library's drive", w[2]);
		} else if ((error = library_op_load(lib, w[1], drive, who, why, sizeof(why))) ==
		           0) {
			snprintf(why, sizeof(why), "loaded %s into %s", w[1], w[2]);
			changed(r.out, json, why);
		}
	} else if (strcmp(command, "unload") == 0) {
		to.number = 0;
		if (n < 2 || n > 3 ||
		    (n == 3 && (library_parse_address(w[2], &to) < 0 || to.kind != ELEMENT_SLOT))) {
			error = -EINVAL;
			snprintf(why, sizeof(why), "usage: unload DRIVE [slot:N]");
		} else if ((lib = libraries_of_drive_name(w[1], &drive)) == NULL) {
			error = -ENOENT;
			snprintf(why, sizeof(why), "%s is no library's drive", w[1]);
		} else if ((error = library_op_unload(lib, drive, to.number, who, why,
		                                      sizeof(why))) == 0) {
			snprintf(why, sizeof(why), "unloaded %s", w[1]);
			changed(r.out, json, why);
		}
	} else if (strcmp(command, "move") == 0) {
		if (n != 4 || library_parse_address(w[2], &from) < 0 ||
		    library_parse_address(w[3], &to) < 0) {
			error = -EINVAL;
			snprintf(why, sizeof(why),
			         "usage: move LIBRARY FROM TO (drive:N, slot:N, portal:N)");
		} else if ((lib = library_named(w[1], code, message, message_size)) == NULL) {
			fclose(r.out);
			free(r.text);
			return -1;
		} else if ((error = library_op_move(lib, &from, &to, who, why, sizeof(why))) == 0) {
			snprintf(why, sizeof(why), "moved %s to %s", w[2], w[3]);
			changed(r.out, json, why);
		}
	} else if (strcmp(command, "import") == 0) {
		from.number = 0;
		if (n < 2 || n > 3 ||
		    (n == 3 &&
		     (library_parse_address(w[2], &from) < 0 || from.kind != ELEMENT_PORTAL))) {
			error = -EINVAL;
			snprintf(why, sizeof(why), "usage: import LIBRARY [portal:N]");
		} else if ((lib = library_named(w[1], code, message, message_size)) == NULL) {
			fclose(r.out);
			free(r.text);
			return -1;
		} else if ((error = library_op_import(lib, from.number, who, why, sizeof(why))) ==
		           0) {
			snprintf(why, sizeof(why), "imported into %s", w[1]);
			changed(r.out, json, why);
		}
	} else if (strcmp(command, "export") == 0) {
		if (n != 2) {
			error = -EINVAL;
			snprintf(why, sizeof(why), "usage: export CARTRIDGE");
		} else if ((lib = libraries_of_cartridge(w[1])) == NULL) {
			error = -ENOENT;
			snprintf(why, sizeof(why), "no cartridge %s in any library", w[1]);
		} else if ((error = library_op_export(lib, w[1], who, why, sizeof(why))) == 0) {
			snprintf(why, sizeof(why), "exported %s", w[1]);
			changed(r.out, json, why);
		}
	} else { /* readonly */
		if (n != 3 || (strcmp(w[2], "on") != 0 && strcmp(w[2], "off") != 0)) {
			error = -EINVAL;
			snprintf(why, sizeof(why), "usage: readonly CARTRIDGE on|off");
		} else if ((lib = libraries_of_cartridge(w[1])) == NULL) {
			error = -ENOENT;
			snprintf(why, sizeof(why), "no cartridge %s in any library", w[1]);
		} else if ((error = library_op_readonly(lib, w[1], strcmp(w[2], "on") == 0, who,
		                                        why, sizeof(why))) == 0) {
			snprintf(why, sizeof(why), "%s read-only %s", w[1], w[2]);
			changed(r.out, json, why);
		}
	}
	if (fclose(r.out) != 0 && error == 0) {
		error = -ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
	}
	if (error == 0) {
		*body = r.text;
		*body_length = r.length;
		return 0;
	}
	free(r.text);
	return fail(error, why[0] ? why : strerror(-error), code, message, message_size);
}

int control_library_catalog_name(const char *barcode, char *out, size_t size)
{
	struct library_runtime *lib;

	if (!library_barcode_valid(barcode) || (lib = libraries_of_cartridge(barcode)) == NULL ||
	    !lib->spec.is_virtual)
		return -ENOENT;
	return library_image_path(lib, barcode, out, size);
}

void control_library_next_line(const char *barcode, char *out, size_t size)
{
	struct library_runtime *lib;
	const struct continuation *c;
	struct element_address at;
	char where[32] = "outside the library";

	out[0] = '\0';
	if (!library_barcode_valid(barcode) || (lib = libraries_of_cartridge(barcode)) == NULL)
		return;
	library_lock(lib);
	c = library_continuation(&lib->state, barcode);
	if (c == NULL) {
		snprintf(out, size, "Cartridge %s continues on no other cartridge\n", barcode);
	} else {
		if (library_locate(&lib->state, c->to, &at) == 0)
			library_format_address(&at, where, sizeof(where));
		snprintf(out, size,
		         "Cartridge %s file %" PRIu64 " continues on cartridge %s file %" PRIu64
		         ": load %s next (%s)\n",
		         c->from, c->from_file, c->to, c->to_file, c->to, where);
	}
	library_unlock(lib);
}
