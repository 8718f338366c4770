/* SPDX-License-Identifier: MIT */
/* keyfile.h - secrets that replicas share (the cookie key, the session ticket key) and a
 * client's saved session: files of mode 0600, never the command line. A key file is one
 * line of 128 hex digits (64 random bytes), written by `dtls_echo --genkey FILE`. */
#ifndef DTLS_ECHO_KEYFILE_H
#define DTLS_ECHO_KEYFILE_H

#include <stddef.h>

#define KEYFILE_KEY_SIZE 64 /* GnuTLS's session ticket key size; the cookie key is its start */

/* Writes a fresh random key to path, mode 0600 (replacing what was there, as
 * keyfile_write_private does), or to stdout when path is "-". Returns 0, or -1 with a
 * reason. */
int keyfile_generate(const char *path, char *err, size_t err_size);

/* Reads a key file into key. Refuses a file that group or others may read, or that is
 * not one line of 128 hex digits. Returns 0, or -1 with a reason naming the file. */
int keyfile_read(const char *path, unsigned char key[KEYFILE_KEY_SIZE], char *err,
                 size_t err_size);

/* Reads up to size bytes of a private file (refused when group or others may read it)
 * into buf; *len is what it holds. Returns 0, or -1 with a reason naming the file. */
int keyfile_read_private(const char *path, unsigned char *buf, size_t size, size_t *len,
                         char *err, size_t err_size);

/* Writes len bytes to path, mode 0600, atomically: a temporary file beside it renamed
 * over it. Refuses a symbolic link or anything but a regular file. Returns 0, or -1 with
 * a reason. */
int keyfile_write_private(const char *path, const void *data, size_t len, char *err,
                          size_t err_size);

/* Opens path to append secrets (the key log), creating it mode 0600; refuses a file that
 * group or others may read. what names the file in errors. Returns the descriptor, or -1
 * with a reason. */
int keyfile_open_append(const char *path, const char *what, char *err, size_t err_size);

#endif
