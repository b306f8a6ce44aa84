/*
 * config_reader.h - the configuration file for SIGHUP, opened outside the sandbox.
 *
 * Landlock admits a file by the inode it had when the rules were made: once an
 * editor writes a new file in its place (sed -i, vim), a daemon confined to
 * the old inode can never read its configuration again, and granting the whole
 * directory would open every file beside it (/etc). So a small child, forked
 * before the daemon confines itself, keeps the right to read files in that
 * one directory and nothing else: asked, it opens the configuration file and
 * passes the descriptor back. It ends when the daemon closes its end.
 */
#ifndef RMTD_CONFIG_READER_H
#define RMTD_CONFIG_READER_H

struct config_reader;

/* Fork the reader for path (same user, no other descriptor). NULL on failure (logged). */
struct config_reader *config_reader_start(const char *path);

/* The configuration file, opened read-only: a descriptor, or -errno. */
int config_reader_open(struct config_reader *reader);

/* Let the reader end and reap it. */
void config_reader_stop(struct config_reader *reader);

#endif
