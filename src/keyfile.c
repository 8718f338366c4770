/* keyfile.c - private files: shared keys and saved sessions (see keyfile.h). */
#define _GNU_SOURCE
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials.h"
#include "log.h"

int keyfile_write_private(const char *path, const void *data, size_t len, char *err,
                          size_t err_size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    ssize_t n;

    if (fd < 0)
        return errorf(err, err_size, "cannot write '%s': %s", path, strerror(errno));
    /* An existing file keeps its mode through O_TRUNC: make it private too. */
    if (fchmod(fd, 0600) < 0 || (n = write(fd, data, len)) != (ssize_t)len ||
        fsync(fd) < 0) {
        int saved = errno;
        close(fd);
        return errorf(err, err_size, "cannot write '%s': %s", path, strerror(saved));
    }
    if (close(fd) < 0)
        return errorf(err, err_size, "cannot write '%s': %s", path, strerror(errno));
    return 0;
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
    rc = keyfile_write_private(path, hex, sizeof(hex), err, err_size);
    gnutls_memset(hex, 0, sizeof(hex));
    return rc;
}

int keyfile_read_private(const char *path, unsigned char *buf, size_t size, size_t *len,
                         char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    ssize_t n;

    if (fd < 0)
        return errorf(err, err_size, "cannot read '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return errorf(err, err_size, "'%s' is not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return errorf(err, err_size, "'%s' is readable by group or others (mode %03o): it "
                      "holds a secret; chmod 600 '%s'", path, (unsigned)(st.st_mode & 0777),
                      path);
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
    if (len != 2 * KEYFILE_KEY_SIZE || hex_decode((const char *)text, len, key) < 0)
        return errorf(err, err_size, "'%s' is not a key of 128 hex digits (make one with "
                      "dtls_echo --genkey FILE)", path);
    return 0;
}
