/* uri: which libvirt connection URIs the portal accepts.
 *
 * An administrator types these, and libvirt treats some URI parameters as
 * commands or files (`command=`, `netcat=`, `no_verify=`), so the check is an
 * allow-list: the transports the portal supports, a host part that is a plain
 * name or address, and the few parameters that only tune authentication. */
#include "virt_priv.h"

#include <string.h>

enum { URI_MAX = 1024 };

static bool
all_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static bool
in_set(char c, const char *extra)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(extra, c));
}

static bool
span_all(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++)
        if (!in_set(s[i], extra))
            return false;
    return true;
}

/* test:///default or test:///ABSOLUTE/PATH.xml */
static int
check_test(const char *rest, err *e)
{
    if (strcmp(rest, "/default") == 0)
        return 0;
    size_t n = strlen(rest);
    if (rest[0] != '/' || n < 6 || strcmp(rest + n - 4, ".xml") != 0)
        return err_set(e, ERR_INVALID,
                       "a test URI must be test:///default or test:///absolute/path.xml");
    if (!span_all(rest, n, "._/+-"))
        return err_set(e, ERR_INVALID,
                       "the test inventory path may only contain letters, digits and ._/+-");
    if (strstr(rest, "//") || strstr(rest, "/../") || strstr(rest, "/./"))
        return err_set(e, ERR_INVALID,
                       "the test inventory path must be a normalised absolute path");
    return 0;
}

static int
check_port(const char *p, size_t n, err *e)
{
    if (n == 0 || n > 5 || !span_all(p, n, ""))
        return err_set(e, ERR_INVALID, "the port must be a number from 1 to 65535");
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return err_set(e, ERR_INVALID, "the port must be a number from 1 to 65535");
        v = v * 10 + (p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return err_set(e, ERR_INVALID, "the port must be a number from 1 to 65535");
    return 0;
}

static int
check_hostname(const char *s, size_t n, err *e)
{
    if (n == 0)
        return err_set(e, ERR_INVALID, "a remote URI needs a host name");
    if (s[0] == '[') {
        if (n < 3 || s[n - 1] != ']' || !span_all(s + 1, n - 2, ":."))
            return err_set(e, ERR_INVALID, "the IPv6 address in the URI is malformed");
        return 0;
    }
    if (n > 253 || !span_all(s, n, ".-") || s[0] == '-' || s[0] == '.' || s[n - 1] == '.' ||
        s[n - 1] == '-')
        return err_set(e, ERR_INVALID, "the host name in the URI is not a valid name or address");
    return 0;
}

/* [user@]host[:port] */
static int
check_authority(const char *a, size_t n, err *e)
{
    const char *at = memchr(a, '@', n);
    if (at) {
        size_t un = (size_t)(at - a);
        if (un == 0 || un > 32 || !span_all(a, un, "._-"))
            return err_set(e, ERR_INVALID, "the user name in the URI is not valid");
        n -= un + 1;
        a = at + 1;
    }
    const char *colon = NULL;
    if (n && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close)
            return err_set(e, ERR_INVALID, "the IPv6 address in the URI is malformed");
        if ((size_t)(close + 1 - a) < n) {
            if (close[1] != ':')
                return err_set(e, ERR_INVALID, "unexpected text after the IPv6 address");
            colon = close + 1;
        }
    } else {
        colon = memchr(a, ':', n);
    }
    size_t hn = colon ? (size_t)(colon - a) : n;
    if (check_hostname(a, hn, e) < 0)
        return -1;
    if (colon && check_port(colon + 1, n - hn - 1, e) < 0)
        return -1;
    return 0;
}

static const char *const ssh_params[] = {
    "keyfile", "known_hosts", "known_hosts_verify", "no_tty", "sshauth", "mode", "socket", NULL};
static const char *const tls_params[] = {"pkipath", "tls_priority", "mode", NULL};
static const char *const tcp_params[] = {"mode", NULL};

static int
check_param(const char *p, size_t n, const char *const *allowed, err *e)
{
    const char *eq = memchr(p, '=', n);
    size_t kn = eq ? (size_t)(eq - p) : n;
    for (const char *const *k = allowed; *k; k++) {
        if (strlen(*k) == kn && memcmp(*k, p, kn) == 0) {
            if (!eq || !span_all(eq + 1, n - kn - 1, "._/~:%+-"))
                return err_set(e, ERR_INVALID, "URI parameter '%.*s' has an invalid value",
                               (int)(kn > 32 ? 32 : kn), p);
            return 0;
        }
    }
    if (kn == 9 && memcmp(p, "no_verify", 9) == 0)
        return err_set(e, ERR_INVALID, "no_verify is refused: it disables certificate checks");
    return err_set(e, ERR_INVALID, "unsupported URI parameter '%.*s'", (int)(kn > 32 ? 32 : kn), p);
}

static int
check_query(const char *q, const char *const *allowed, err *e)
{
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n == 0 || check_param(q, n, allowed, e) < 0)
            return n == 0 ? err_set(e, ERR_INVALID, "empty URI parameter") : -1;
        q += n + (amp ? 1 : 0);
    }
    return 0;
}

static int
check_remote(const char *rest, const char *const *allowed, err *e)
{
    const char *slash = strchr(rest, '/');
    if (!slash)
        return err_set(e, ERR_INVALID, "a remote URI must end in /system or /session");
    if (check_authority(rest, (size_t)(slash - rest), e) < 0)
        return -1;
    const char *q = strchr(slash, '?');
    size_t pn = q ? (size_t)(q - slash) : strlen(slash);
    if (!((pn == 7 && memcmp(slash, "/system", 7) == 0) ||
          (pn == 8 && memcmp(slash, "/session", 8) == 0)))
        return err_set(e, ERR_INVALID, "the URI path must be /system or /session");
    return q ? check_query(q + 1, allowed, e) : 0;
}

int
virt_uri_validate(const char *uri, err *e)
{
    if (!uri || !*uri)
        return err_set(e, ERR_INVALID, "the URI is empty");
    if (strlen(uri) > URI_MAX)
        return err_set(e, ERR_INVALID, "the URI is longer than %d characters", URI_MAX);
    if (!all_printable(uri))
        return err_set(e, ERR_INVALID, "the URI contains spaces or control characters");
    if (strchr(uri, '#'))
        return err_set(e, ERR_INVALID, "the URI must not contain a fragment ('#')");
    const char *sep = strstr(uri, "://");
    if (!sep)
        return err_set(e, ERR_INVALID, "the URI must look like transport://[host]/path");
    size_t sn = (size_t)(sep - uri);
    const char *rest = sep + 3;
    if (sn == 4 && memcmp(uri, "qemu", 4) == 0) {
        if (strcmp(rest, "/system") == 0 || strcmp(rest, "/session") == 0)
            return 0;
        if (rest[0] != '/')
            return err_set(e, ERR_INVALID,
                           "a remote host needs a transport: qemu+ssh, qemu+tls "
                           "or qemu+tcp");
        return err_set(e, ERR_INVALID, "a local URI must be qemu:///system or qemu:///session");
    }
    if (sn == 4 && memcmp(uri, "test", 4) == 0)
        return check_test(rest, e);
    if (sn == 8 && memcmp(uri, "qemu+ssh", 8) == 0)
        return check_remote(rest, ssh_params, e);
    if (sn == 8 && memcmp(uri, "qemu+tls", 8) == 0)
        return check_remote(rest, tls_params, e);
    if (sn == 8 && memcmp(uri, "qemu+tcp", 8) == 0)
        return check_remote(rest, tcp_params, e);
    return err_set(e, ERR_INVALID,
                   "unsupported transport '%.*s': use qemu:///system, qemu+ssh://, qemu+tls://, "
                   "qemu+tcp:// or test:///",
                   (int)(sn > 24 ? 24 : sn), uri);
}
