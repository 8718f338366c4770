/* SPDX-License-Identifier: MIT */
/* platform_windows.c - the platform seam on Windows (platform.h, sockets.h): Winsock 2
 * started once; its calls wrapped so that a failure sets errno from WSAGetLastError and
 * strerror words it (Winsock's own sentence, FormatMessage, for a code with no POSIX
 * name); sendmsg and recvmsg over WSASendMsg and WSARecvMsg (the datagram's destination
 * address, the reply's source); poll as WSAPoll; pipes as connected pairs of loopback TCP
 * sockets (WSAPoll waits on sockets only); standard input through a reader thread into such
 * a pair; %ProgramData%\dtls_echo or the exe's folder in place of /etc/dtls_echo. The
 * server always runs one socket here (platform_has_connected_udp): which socket of a
 * shared port receives a datagram is undefined on Windows. Compiles to nothing elsewhere.
 * platform_posix.c's batching, timed waits and poller serve Windows too. */
#define DTLS_ECHO_WINSOCK_ITSELF
#include "platform.h"

#if PLATFORM_WINDOWS

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <windows.h>

#include "log.h"

/* ---- what Windows has and has not -------------------------------------------------- */

const char *platform_name(void)
{
    return "Windows";
}

int platform_has_workers(void)
{
    return 0;
}

int platform_has_tun(void)
{
    return 0; /* wintun is a later step: ARCHITECTURE.md "Platforms" */
}

int platform_has_connected_udp(void)
{
    return 0;
}

int platform_has_user(void)
{
    return 0;
}

unsigned platform_cpu_count(void)
{
    SYSTEM_INFO info;

    GetSystemInfo(&info);
    return info.dwNumberOfProcessors > 0 ? (unsigned)info.dwNumberOfProcessors : 1;
}

const char *platform_config_dir(void)
{
    static char dir[MAX_PATH + 16];
    const char *data = getenv("ProgramData");
    DWORD attributes, n;
    char *slash;

    if (data != NULL) {
        snprintf(dir, sizeof(dir), "%s\\dtls_echo", data);
        attributes = GetFileAttributesA(dir);
        if (attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY))
            return dir;
    }
    n = GetModuleFileNameA(NULL, dir, MAX_PATH); /* else the folder of the exe */
    if (n == 0 || n >= MAX_PATH || (slash = strrchr(dir, '\\')) == NULL)
        return ".";
    *slash = '\0';
    return dir;
}

/* ---- errors: WSAGetLastError into errno and words ---------------------------------- */

static _Thread_local int last_wsa_error; /* the code behind the last EIO we set */

static const struct {
    int wsa, posix;
    const char *text;
} wsa_errors[] = {
    {WSAEWOULDBLOCK, EAGAIN, "Resource temporarily unavailable"},
    {WSAEINTR, EINTR, "Interrupted system call"},
    {WSAECONNREFUSED, ECONNREFUSED, "Connection refused"},
    {WSAECONNRESET, ECONNREFUSED, "Connection refused"}, /* ICMP port unreachable */
    {WSAEADDRINUSE, EADDRINUSE, "Address already in use"},
    {WSAEADDRNOTAVAIL, EADDRNOTAVAIL, "Cannot assign requested address"},
    {WSAEAFNOSUPPORT, EAFNOSUPPORT, "Address family not supported by protocol"},
    {WSAENETUNREACH, ENETUNREACH, "Network is unreachable"},
    {WSAEHOSTUNREACH, EHOSTUNREACH, "No route to host"},
    {WSAEMSGSIZE, EMSGSIZE, "Message too long"},
    {WSAENOBUFS, ENOBUFS, "No buffer space available"},
    {WSAETIMEDOUT, ETIMEDOUT, "Connection timed out"},
    {WSAEACCES, EACCES, "Permission denied"},
    {WSAEINVAL, EINVAL, "Invalid argument"},
    {WSAENOTSOCK, EBADF, "Bad file descriptor"},
};

/* Sets errno from WSAGetLastError. Returns -1, for the callers' return. */
static int wsa_failed(void)
{
    int code = WSAGetLastError();
    size_t i;

    for (i = 0; i < sizeof(wsa_errors) / sizeof(wsa_errors[0]); i++)
        if (wsa_errors[i].wsa == code) {
            errno = wsa_errors[i].posix;
            return -1;
        }
    last_wsa_error = code;
    errno = EIO;
    return -1;
}

const char *win_strerror(int errnum)
{
    static _Thread_local char text[256];
    size_t i;

    for (i = 0; i < sizeof(wsa_errors) / sizeof(wsa_errors[0]); i++)
        if (wsa_errors[i].posix == errnum)
            return wsa_errors[i].text;
    if (errnum == EIO && last_wsa_error != 0 &&
        FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                       (DWORD)last_wsa_error, 0, text, sizeof(text), NULL) > 0) {
        text[strcspn(text, "\r\n")] = '\0'; /* one line */
        return text;
    }
    return strerror(errnum);
}

/* ---- the socket calls ------------------------------------------------------------- */

int platform_init(char *err, size_t err_size)
{
    WSADATA data;
    int rc = WSAStartup(MAKEWORD(2, 2), &data);

    if (rc != 0)
        return errorf(err, err_size, "WSAStartup: Winsock 2.2 is not available (error %d)", rc);
    /* Bytes in, bytes out: no \n to \r\n on the echoes, the transcript or stdin. */
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    return 0;
}

int win_socket(int family, int type, int protocol)
{
    SOCKET s = WSASocketW(family, type, protocol, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);

    return s == INVALID_SOCKET ? wsa_failed() : (int)s;
}

int win_bind(int fd, const struct sockaddr *addr, int len)
{
    return bind((SOCKET)fd, addr, len) == 0 ? 0 : wsa_failed();
}

int win_connect(int fd, const struct sockaddr *addr, int len)
{
    return connect((SOCKET)fd, addr, len) == 0 ? 0 : wsa_failed();
}

int win_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    return getsockname((SOCKET)fd, addr, len) == 0 ? 0 : wsa_failed();
}

int win_setsockopt(int fd, int level, int name, const void *value, int len)
{
    return setsockopt((SOCKET)fd, level, name, value, len) == 0 ? 0 : wsa_failed();
}

int win_getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
    return getsockopt((SOCKET)fd, level, name, value, len) == 0 ? 0 : wsa_failed();
}

int win_shutdown(int fd, int how)
{
    return shutdown((SOCKET)fd, how) == 0 ? 0 : wsa_failed();
}

ssize_t win_recv(int fd, void *buf, size_t len, int flags)
{
    int n = recv((SOCKET)fd, buf, (int)len, flags);

    return n == SOCKET_ERROR ? wsa_failed() : n;
}

ssize_t win_send(int fd, const void *buf, size_t len, int flags)
{
    int n = send((SOCKET)fd, buf, (int)len, flags);

    return n == SOCKET_ERROR ? wsa_failed() : n;
}

int win_poll(struct pollfd *fds, unsigned long count, int timeout_ms)
{
    int n = WSAPoll(fds, count, timeout_ms);

    return n == SOCKET_ERROR ? wsa_failed() : n;
}

#define IOV_MAX_WIN 16

/* msg as Winsock's WSAMSG m, its buffers in bufs. Returns 0, or -1 (EMSGSIZE). */
static int to_wsamsg(const struct msghdr *msg, WSABUF *bufs, WSAMSG *m)
{
    size_t i;

    if (msg->msg_iovlen > IOV_MAX_WIN) {
        errno = EMSGSIZE;
        return -1;
    }
    for (i = 0; i < msg->msg_iovlen; i++) {
        bufs[i].buf = msg->msg_iov[i].iov_base;
        bufs[i].len = (ULONG)msg->msg_iov[i].iov_len;
    }
    memset(m, 0, sizeof(*m));
    m->name = msg->msg_name;
    m->namelen = (INT)msg->msg_namelen;
    m->lpBuffers = bufs;
    m->dwBufferCount = (DWORD)msg->msg_iovlen;
    m->Control.buf = msg->msg_control;
    m->Control.len = (ULONG)msg->msg_controllen;
    return 0;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    WSABUF bufs[IOV_MAX_WIN];
    WSAMSG m;
    DWORD sent = 0;

    if (to_wsamsg(msg, bufs, &m) < 0)
        return -1;
    if (WSASendMsg((SOCKET)fd, &m, (DWORD)flags, &sent, NULL, NULL) != 0)
        return wsa_failed();
    return (ssize_t)sent;
}

/* WSARecvMsg is an extension: its address comes from the provider, once. */
static LPFN_WSARECVMSG recvmsg_function(int fd)
{
    static _Atomic(LPFN_WSARECVMSG) function;
    LPFN_WSARECVMSG f = atomic_load(&function);
    GUID guid = WSAID_WSARECVMSG;
    DWORD bytes;

    if (f == NULL && WSAIoctl((SOCKET)fd, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid,
                              sizeof(guid), &f, sizeof(f), &bytes, NULL, NULL) == 0)
        atomic_store(&function, f);
    return f;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    LPFN_WSARECVMSG receive = recvmsg_function(fd);
    WSABUF bufs[IOV_MAX_WIN];
    WSAMSG m;
    DWORD got = 0;

    if (to_wsamsg(msg, bufs, &m) < 0)
        return -1;
    if (receive == NULL)
        return wsa_failed();
    m.dwFlags = (DWORD)flags;
    if (receive((SOCKET)fd, &m, &got, NULL, NULL) != 0) {
        if (WSAGetLastError() != WSAEMSGSIZE) /* a datagram larger than the buffer: cut */
            return wsa_failed();
        got = 0;
        for (DWORD i = 0; i < m.dwBufferCount; i++)
            got += bufs[i].len;
    }
    msg->msg_namelen = (socklen_t)m.namelen;
    msg->msg_controllen = m.Control.len;
    msg->msg_flags = (int)m.dwFlags;
    return (ssize_t)got;
}

/* ---- sockets --------------------------------------------------------------------- */

void platform_close_socket(int fd)
{
    closesocket((SOCKET)fd);
}

int platform_set_nonblocking(int fd)
{
    u_long on = 1;

    return ioctlsocket((SOCKET)fd, FIONBIO, &on) == 0 ? 0 : wsa_failed();
}

int platform_recv_timeout(int fd, int64_t ms)
{
    DWORD timeout = ms <= 0 ? 1 : (DWORD)ms; /* zero would mean "wait forever" */

    return win_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
}

unsigned long platform_raise_fd_limit(unsigned long wanted)
{
    return wanted; /* sockets are handles: no descriptor table to outgrow */
}

int platform_udp_socket(int family, int nonblock)
{
    int fd = win_socket(family, SOCK_DGRAM, IPPROTO_UDP);

    if (fd >= 0 && nonblock && platform_set_nonblocking(fd) < 0) {
        int saved = errno;
        closesocket((SOCKET)fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int platform_dont_fragment(int fd, int family, char *err, size_t err_size)
{
    if (platform_set_option(fd, IPPROTO_IP, IP_DONTFRAGMENT, 1, "IP_DONTFRAGMENT", err,
                            err_size) < 0 &&
        family == AF_INET) /* a dual-stack IPv6 socket may refuse the IPv4 option */
        return -1;
    if (family == AF_INET6)
        return platform_set_option(fd, IPPROTO_IPV6, IPV6_DONTFRAG, 1, "IPV6_DONTFRAG", err,
                                   err_size);
    return 0;
}

int platform_share_port(int fd, char *err, size_t err_size)
{
    /* Nothing shares the port here (one socket, and SO_REUSEADDR would let another
     * program take it over). What the one socket needs instead: an ICMP port unreachable
     * for one peer must not fail the listener's next read (SIO_UDP_CONNRESET off). */
    BOOL report = FALSE;
    DWORD bytes;

    (void)err, (void)err_size;
    if (WSAIoctl((SOCKET)fd, SIO_UDP_CONNRESET, &report, sizeof(report), NULL, 0, &bytes, NULL,
                 NULL) != 0)
        log_debug("SIO_UDP_CONNRESET: %s", win_strerror((wsa_failed(), errno)));
    return 0;
}

/* ---- pipes: loopback socket pairs ------------------------------------------------- */

/* A connected pair of TCP sockets on the loopback: ordered, flow-controlled, and WSAPoll
 * waits on them. The listening socket takes one connection and is closed; the accepted
 * one must be ours (its peer address is our connecting socket's). */
static int socket_pair(SOCKET pair[2])
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    struct sockaddr_in mine, theirs;
    int len = sizeof(addr), mine_len = sizeof(mine), theirs_len = sizeof(theirs);
    SOCKET listener;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    pair[0] = pair[1] = INVALID_SOCKET;
    listener = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (listener == INVALID_SOCKET)
        return wsa_failed();
    if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &len) != 0 || listen(listener, 1) != 0)
        goto failed;
    pair[1] = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (pair[1] == INVALID_SOCKET ||
        connect(pair[1], (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(pair[1], (struct sockaddr *)&mine, &mine_len) != 0)
        goto failed;
    pair[0] = accept(listener, (struct sockaddr *)&theirs, &theirs_len);
    if (pair[0] == INVALID_SOCKET)
        goto failed;
    if (theirs.sin_port != mine.sin_port || theirs.sin_addr.s_addr != mine.sin_addr.s_addr) {
        WSASetLastError(WSAECONNREFUSED); /* someone else's connection: not our pipe */
        goto failed;
    }
    closesocket(listener);
    return 0;
failed:
    wsa_failed();
    closesocket(listener);
    if (pair[0] != INVALID_SOCKET)
        closesocket(pair[0]);
    if (pair[1] != INVALID_SOCKET)
        closesocket(pair[1]);
    return -1;
}

int platform_pipe(int fds[2], int nonblock)
{
    SOCKET pair[2];

    if (socket_pair(pair) < 0)
        return -1;
    fds[0] = (int)pair[0];
    fds[1] = (int)pair[1];
    if (nonblock &&
        (platform_set_nonblocking(fds[0]) < 0 || platform_set_nonblocking(fds[1]) < 0)) {
        platform_pipe_close(fds);
        return -1;
    }
    return 0;
}

ssize_t platform_pipe_read(int fd, void *buf, size_t size)
{
    return win_recv(fd, buf, size, 0);
}

ssize_t platform_pipe_write(int fd, const void *buf, size_t size)
{
    return win_send(fd, buf, size, 0);
}

void platform_pipe_close(int fds[2])
{
    if (fds[0] >= 0)
        closesocket((SOCKET)fds[0]);
    if (fds[1] >= 0)
        closesocket((SOCKET)fds[1]);
    fds[0] = fds[1] = -1;
}

/* ---- standard input: a reader thread ---------------------------------------------- */

/* Reads the console or the file or pipe behind stdin and writes it into the pipe, whose
 * write end blocks (the client reads at its pace; nothing is lost); at the end of stdin
 * it closes the write end, which the client reads as 0. */
static DWORD WINAPI stdin_reader(LPVOID arg)
{
    SOCKET out = (SOCKET)(intptr_t)arg;
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    char buf[4096];
    DWORD n;
    int sent, k;

    while (ReadFile(in, buf, sizeof(buf), &n, NULL) && n > 0)
        for (k = 0; k < (int)n; k += sent)
            if ((sent = send(out, buf + k, (int)n - k, 0)) == SOCKET_ERROR)
                goto done;
done:
    shutdown(out, SD_SEND);
    closesocket(out);
    return 0;
}

int platform_stdin_open(void)
{
    int fds[2];
    HANDLE thread;

    if (platform_pipe(fds, 0) < 0 || platform_set_nonblocking(fds[0]) < 0)
        return -1;
    thread = CreateThread(NULL, 0, stdin_reader, (LPVOID)(intptr_t)fds[1], 0, NULL);
    if (thread == NULL) {
        platform_pipe_close(fds);
        errno = EAGAIN;
        return -1;
    }
    CloseHandle(thread); /* it ends with stdin, or with the process */
    return fds[0];
}

ssize_t platform_stdin_read(int fd, void *buf, size_t size)
{
    return win_recv(fd, buf, size, 0);
}

void platform_interface_name(unsigned index, char *out, size_t size)
{
    snprintf(out, size, "%u", index); /* if_indextoname is in iphlpapi: the number will do */
}

int platform_reuseport(int fd, char *err, size_t err_size)
{
    (void)fd;
    return errorf(err, err_size, "SO_REUSEPORT: %s has none", platform_name());
}

/* ---- files and the C library's missing names --------------------------------------- */

int platform_is_link(const char *path)
{
    DWORD attributes = GetFileAttributesA(path);

    return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_REPARSE_POINT);
}

int platform_readable_by_others(const struct stat *st)
{
    (void)st; /* the mode bits say nothing on Windows: the folder's ACL decides */
    return 0;
}

int platform_temporary_file(char *template)
{
    if (_mktemp_s(template, strlen(template) + 1) != 0) {
        errno = EINVAL;
        return -1;
    }
    return _open(template, _O_CREAT | _O_EXCL | _O_WRONLY | O_CLOEXEC, _S_IREAD | _S_IWRITE);
}

int platform_replace_file(const char *from, const char *to)
{
    if (MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        return 0;
    errno = GetLastError() == ERROR_ACCESS_DENIED ? EACCES : EIO;
    return -1;
}

char *strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *copy = malloc(len + 1);

    if (copy != NULL) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

ssize_t getline(char **line, size_t *size, FILE *f)
{
    size_t len = 0;
    int c;

    if (*line == NULL || *size == 0) {
        *size = 128;
        if ((*line = malloc(*size)) == NULL)
            return -1;
    }
    while ((c = getc(f)) != EOF) {
        if (len + 2 > *size) {
            char *bigger = realloc(*line, *size * 2);
            if (bigger == NULL)
                return -1;
            *line = bigger;
            *size *= 2;
        }
        (*line)[len++] = (char)c;
        if (c == '\n')
            break;
    }
    (*line)[len] = '\0';
    return len > 0 ? (ssize_t)len : -1;
}

/* ---- GnuTLS, linked static ------------------------------------------------------- */

/* GnuTLS's header declares its allocator variables dllimport on Windows (for its DLL), so
 * a caller reaches gnutls_malloc and gnutls_free through the import pointers __imp_*; in
 * the static library (make windows) they are plain variables, and these are their
 * pointers. (This file leaves gnutls.h out, whose declarations these would contradict.)
 * Linked with the DLL (MSYS2), its import library has them. */
#ifdef DTLS_ECHO_GNUTLS_STATIC
extern char gnutls_malloc[], gnutls_free[];
void *__imp_gnutls_malloc = gnutls_malloc;
void *__imp_gnutls_free = gnutls_free;
#endif

/* ---- memory ---------------------------------------------------------------------- */

void *platform_alloc_pages(size_t size)
{
    return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

void platform_free_pages(void *p, size_t size)
{
    (void)size;
    if (p != NULL)
        VirtualFree(p, 0, MEM_RELEASE);
}

#endif
