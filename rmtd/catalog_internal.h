/*
 * catalog_internal.h - what catalog_file.c (the catalog's file) needs of
 * catalog.c's entries. Not for other modules: they use catalog.h.
 */
#ifndef RMTD_CATALOG_INTERNAL_H
#define RMTD_CATALOG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"

/* No {"truncate":k} pending. */
#define NO_TRUNCATE UINT64_MAX
/* The longest string of an entry, as stored. */
#define CATALOG_STRING_MAX 1024

void catalog_entry_free_strings(struct catalog_entry *e);

void catalog_entry_init(struct catalog_entry *e, uint64_t file_number);

/* Bounded copy (cut, always terminated). */
void catalog_copy_bounded(char *dst, size_t size, const char *src);

/* *slot = copy of s, or NULL for an empty s. Returns false on ENOMEM. */
bool catalog_set_string(char **slot, const char *s);

/* Index of file_number, or where it would go; *found tells which. */
size_t catalog_find_index(const struct catalog *cat, uint64_t file_number, bool *found);

/* Make room at index and put a fresh entry for file_number there. */
struct catalog_entry *catalog_insert_entry(struct catalog *cat, size_t index, uint64_t file_number);

/* Drop entries from file_number on; returns whether any were dropped. */
bool catalog_drop_from(struct catalog *cat, uint64_t file_number);

#endif
