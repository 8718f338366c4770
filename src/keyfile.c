/* SPDX-License-Identifier: MIT */
/* keyfile.c - private files: shared keys and saved sessions (see keyfile.h). */
#define _GNU_SOURCE
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials.h"
#include "log.h"
#include "platform.h"

/* Refuses a file that group or others may read: it holds a secret. Returns 0, or -1
 * with a reason naming path (the one sentence every secret file gets). */
static int check_private(int fd, const char *path, char *err, size_t err_size)
{
    struct stat st;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return errorf(err, err_size, "'%s' is not a regular file", path);
    if (platform_readable_by_others(&st))
        return errorf(err, err_size, "'%s' is readable by group or others (mode %03o): it "
                      "holds a secret; chmod 600 '%s'", path, (unsigned)(st.st_mode & 0777),
                      path);
    return 0;
}

/* Writes all of data to fd. Returns 0, or -1 with errno set. */
static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    ssize_t n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int keyfile_write_private(const char *path, const void *data, size_t len, char *err,
                          size_t err_size)
{
    char temporary[4096];
    struct stat st;
    int fd, saved;

    /* A secret written through a link could land anywhere; say so rather than ELOOP. */
    if (platform_is_link(path))
        return errorf(err, err_size, "'%s' is a symbolic link: a secret is written only to "
                      "a file of its own; give the file's real path", path);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return errorf(err, err_size, "'%s' is not a regular file", path);
    if ((size_t)snprintf(temporary, sizeof(temporary), "%s.XXXXXX", path) >= sizeof(temporary))
        return errorf(err, err_size, "cannot write '%s': the path is too long", path);
    /* A new file (mkstemp makes it 0600) renamed over the old one: a reader sees the old
     * key or the new one, never half of either, and a crash leaves the old key. */
    fd = platform_temporary_file(temporary);
    if (fd < 0)
        return errorf(err, err_size, "cannot write '%s': %s", path, strerror(errno));
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        saved = errno;
        close(fd);
        unlink(temporary);
        return errorf(err, err_size, "cannot write '%s': %s", path, strerror(saved));
    }
    if (close(fd) < 0) {
        saved = errno;
        unlink(temporary);
        return errorf(err, err_size, "cannot write '%s': %s", path, strerror(saved));
    }
    if (platform_replace_file(temporary, path) < 0) {
        saved = errno;
        unlink(temporary);
        return errorf(err, err_size, "cannot write '%s': %s", path, strerror(saved));
    }
    return 0;
}

int keyfile_open_append(const char *path, const char *what, char *err, size_t err_size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

    if (fd < 0)
        return errorf(err, err_size, "cannot write %s '%s': %s", what, path, strerror(errno));
    if (check_private(fd, path, err, err_size) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int keyfile_generate(const char *path, char *err, size_t err_size)
{
    unsigned char key[KEYFILE_KEY_SIZE];
    gnutls_datum_t raw = {key, sizeof(key)};
    char hex[2 * KEYFILE_KEY_SIZE + 1];
    size_t hex_size = sizeof(hex);
    int rc;

    if (gnutls_rnd(GNUTLS_RND_KEY, key, sizeof(key)) < 0)
        return errorf(err, err_size, "no random bytes for a key");
    rc = gnutls_hex_encode(&raw, hex, &hex_size);
    gnutls_memset(key, 0, sizeof(key));
    if (rc < 0)
        return errorf(err, err_size, "hex: %s", gnutls_strerror(rc));
    hex[2 * KEYFILE_KEY_SIZE] = '\n'; /* in place of the terminating zero */
    if (strcmp(path, "-") == 0) { /* as wg genkey: to stdout, for a pipe or a secret store */
        rc = write_all(STDOUT_FILENO, hex, sizeof(hex));
        if (rc < 0)
            errorf(err, err_size, "cannot write the key to stdout: %s", strerror(errno));
    } else {
        rc = keyfile_write_private(path, hex, sizeof(hex), err, err_size);
    }
    gnutls_memset(hex, 0, sizeof(hex));
    return rc;
}

int keyfile_read_private(const char *path, unsigned char *buf, size_t size, size_t *len,
                         char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return errorf(err, err_size, "cannot read '%s': %s", path, strerror(errno));
    if (check_private(fd, path, err, err_size) < 0) {
        close(fd);
        return -1;
    }
    n = read(fd, buf, size);
    close(fd);
    if (n < 0)
        return errorf(err, err_size, "cannot read '%s': %s", path, strerror(errno));
    *len = (size_t)n;
    return 0;
}

int keyfile_read(const char *path, unsigned char key[KEYFILE_KEY_SIZE], char *err,
                 size_t err_size)
{
    unsigned char text[2 * KEYFILE_KEY_SIZE + 8];
    size_t len;

    if (keyfile_read_private(path, text, sizeof(text), &len, err, err_size) < 0)
        return -1;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (len != 2 * KEYFILE_KEY_SIZE || credentials_hex_decode((const char *)text, len, key) < 0)
        return errorf(err, err_size, "'%s' is not a key of 128 hex digits (make one with "
                      "dtls_echo --genkey FILE)", path);
    return 0;
}
