/* password: Argon2id hashing with a concurrency cap, and the password policy. */
#include "password.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>

#include "autoptr.h"
#include "secret.h"

#define PW_T_COST 2
#define PW_M_COST 19456 /* KiB = 19 MiB */
#define PW_PARALLEL 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

/* Upper bounds for parameters read back from storage: a corrupted or planted
 * hash must not make one verification allocate gigabytes or spin for minutes. */
#define PW_M_COST_MAX 262144 /* 256 MiB */
#define PW_T_COST_MAX 16
#define PW_PARALLEL_MAX 8

/* ---- the hashing semaphore (the module's only global state) ---- */

static pthread_mutex_t pw_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pw_cond = PTHREAD_COND_INITIALIZER;
static int pw_running; /* guarded by pw_lock */

static void
pw_slot_acquire(void)
{
    pthread_mutex_lock(&pw_lock);
    while (pw_running >= AUTH_PASSWORD_MAX_CONCURRENT)
        pthread_cond_wait(&pw_cond, &pw_lock);
    pw_running++;
    pthread_mutex_unlock(&pw_lock);
}

static void
pw_slot_release(void)
{
    pthread_mutex_lock(&pw_lock);
    pw_running--;
    pthread_cond_signal(&pw_cond);
    pthread_mutex_unlock(&pw_lock);
}

int
auth_password_slots_in_use(void)
{
    pthread_mutex_lock(&pw_lock);
    int n = pw_running;
    pthread_mutex_unlock(&pw_lock);
    return n;
}

/* ---- hashing ---- */

int
auth_password_hash(const char *pw, char **out_encoded, err *e)
{
    size_t pwlen = strlen(pw);
    if (pwlen > AUTH_PASSWORD_MAX_BYTES)
        return err_set(e, ERR_INVALID, "password must be at most %d bytes",
                       AUTH_PASSWORD_MAX_BYTES);
    unsigned char salt[PW_SALT_LEN];
    if (auth_random_bytes(salt, sizeof(salt), e) < 0)
        return -1;
    size_t enclen =
        argon2_encodedlen(PW_T_COST, PW_M_COST, PW_PARALLEL, PW_SALT_LEN, PW_HASH_LEN, Argon2_id);
    AUTOFREE char *enc = malloc(enclen);
    if (!enc)
        return err_set(e, ERR_INTERNAL, "out of memory");
    pw_slot_acquire();
    int rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_PARALLEL, pw, pwlen, salt, sizeof(salt),
                                   PW_HASH_LEN, enc, enclen);
    pw_slot_release();
    if (rc != ARGON2_OK)
        return err_set(e, rc == ARGON2_MEMORY_ALLOCATION_ERROR ? ERR_UNAVAILABLE : ERR_INTERNAL,
                       "password hashing failed");
    *out_encoded = STEAL(enc);
    return 0;
}

/* Reads a decimal number at *p up to a non-digit; advances *p. -1 when none or huge. */
static long
pw_num(const char **p)
{
    long v = 0;
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > 100000000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *p = s;
    return v;
}

/* Parses "$argon2id$v=19$m=M,t=T,p=P$..." parameters. Returns 0 or -1. */
static int
pw_params(const char *enc, long *m, long *t, long *par)
{
    static const char pre[] = "$argon2id$v=19$m=";
    if (!enc || strncmp(enc, pre, sizeof(pre) - 1) != 0)
        return -1;
    const char *p = enc + sizeof(pre) - 1;
    if ((*m = pw_num(&p)) < 0 || strncmp(p, ",t=", 3) != 0)
        return -1;
    p += 3;
    if ((*t = pw_num(&p)) < 0 || strncmp(p, ",p=", 3) != 0)
        return -1;
    p += 3;
    if ((*par = pw_num(&p)) < 0 || *p != '$')
        return -1;
    return 0;
}

int
auth_password_verify(const char *encoded, const char *pw)
{
    long m, t, par;
    if (pw_params(encoded, &m, &t, &par) < 0 || m > PW_M_COST_MAX || t > PW_T_COST_MAX || t < 1 ||
        par < 1 || par > PW_PARALLEL_MAX)
        return -1;
    size_t pwlen = strlen(pw);
    if (pwlen > AUTH_PASSWORD_MAX_BYTES)
        return 0; /* no stored hash can match: we never hash such input */
    pw_slot_acquire();
    int rc = argon2id_verify(encoded, pw, pwlen);
    pw_slot_release();
    if (rc == ARGON2_OK)
        return 1;
    return rc == ARGON2_VERIFY_MISMATCH ? 0 : -1;
}

void
auth_password_dummy_verify(const char *pw)
{
    /* Argon2id with today's parameters of a random password nobody knows; made
     * once with auth_password_hash. Verifying against it costs what a real
     * verification costs. Update it together with PW_*_COST. */
    static const char dummy[] = "$argon2id$v=19$m=19456,t=2,p=1$TeIry130ZPIga1rmKxOUbQ$"
                                "fsUvQnziMm8tchTlT81SjjJQf8obDCwwC9Vmpzjhmpc";
    (void)auth_password_verify(dummy, pw);
}

bool
auth_password_needs_rehash(const char *encoded)
{
    long m, t, par;
    if (pw_params(encoded, &m, &t, &par) < 0)
        return true;
    return m != PW_M_COST || t != PW_T_COST || par != PW_PARALLEL;
}

/* ---- policy ---- */

/* Most common breached passwords and their stems (lowercase, >= 5 bytes so a
 * match covers a meaningful part of a 12-character password). Sources: public
 * "top 100" lists (NCSC, SplashData, RockYou), plus our own product's names. */
static const char *const pw_common[] = {
    "password",  "passw0rd", "p@ssw0rd", "p@ssword",      "iloveyou",  "princess", "sunshine",
    "letmein",   "monkey",   "dragon",   "football",      "baseball",  "welcome",  "shadow",
    "master",    "michael",  "jennifer", "jordan",        "superman",  "batman",   "trustno1",
    "hunter",    "hello",    "freedom",  "whatever",      "qazwsx",    "1qaz2wsx", "zaq12wsx",
    "1q2w3e4r",  "1q2w3e",   "q1w2e3r4", "qweasd",        "qweasdzxc", "starwars", "pokemon",
    "charlie",   "donald",   "ashley",   "bailey",        "buster",    "soccer",   "hockey",
    "killer",    "george",   "computer", "michelle",      "jessica",   "pepper",   "ginger",
    "joshua",    "cheese",   "summer",   "winter",        "spring",    "autumn",   "flower",
    "lovely",    "loveme",   "babygirl", "angel",         "secret",    "samsung",  "google",
    "internet",  "access",   "admin",    "administrator", "login",     "changeme", "default",
    "guest",     "azerty",   "qwertz",   "111111",        "000000",    "121212",   "123123",
    "112233",    "159753",   "147258",   "666666",        "777777",    "888888",   "555555",
    "123321",    "abc123",   "aa123456", "mustang",       "harley",    "ranger",   "thomas",
    "robert",    "matthew",  "daniel",   "andrew",        "anthony",   "chelsea",  "arsenal",
    "liverpool", "maggie",   "tigger",   "purple",        "orange",    "banana",   "cookie",
    "chocolate", "nicole",   "hannah",   "silver",        "golden",    "diamond",  "corvette",
    "ferrari",   "mercedes", "yankees",  "cowboys",       "matrix",    "zombie",   "monster",
    "fuckyou",   "fuckoff",  "asshole",  "biteme",        "blahblah",  "passport", "money",
    "family",    "friends",  "forever",  "virtportal",    "libvirt",   "vmware",   "proxmox",
    "openstack", "linux",    "ubuntu",   "debian",        "root123",   "toor123",  "test123",
    "demo123",
};

/* Rows walked by hand: alphabet, digits and keyboard rows; also matched reversed. */
static const char *const pw_rows[] = {
    "abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "!@#$%^&*()",
    "qazwsxedcrfvtgbyhnujmikolp",
};

#define PW_RUN_MIN 4    /* a walk of 4+ characters counts as trivial */
#define PW_REMAIN_MIN 8 /* characters that must be left after removing trivial parts */
#define PW_PERIOD_MAX 4 /* "abcabcabcabc" has period 3 */

/* Counts code points of a valid UTF-8 string without control characters.
 * Returns the count, -1 for invalid UTF-8, -2 for a control character. */
static long
pw_utf8_count(const unsigned char *s, size_t n)
{
    long cps = 0;
    for (size_t i = 0; i < n; cps++) {
        unsigned c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (len == 0 || i + len > n)
            return -1;
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return -1;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
            return -2;
        i += len;
    }
    return cps;
}

static void
pw_lower(const char *s, char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    out[n] = '\0';
}

/* True when s[n] is a unit of at most PW_PERIOD_MAX bytes repeated. */
static bool
pw_periodic(const char *s, size_t n)
{
    for (size_t p = 1; p <= PW_PERIOD_MAX && p < n; p++) {
        size_t i = p;
        while (i < n && s[i] == s[i - p])
            i++;
        if (i == n)
            return true;
    }
    return false;
}

/* Marks every occurrence of needle in hay[n]. */
static void
pw_mark_word(const char *hay, size_t n, const char *needle, bool *mark)
{
    size_t nl = strlen(needle);
    for (const char *p = hay; nl > 0 && (p = strstr(p, needle)) != NULL; p++)
        memset(mark + (p - hay), 1, nl);
}

/* Marks walks of PW_RUN_MIN+ characters along `row`, forwards and backwards. */
static void
pw_mark_row(const char *s, size_t n, const char *row, bool *mark)
{
    size_t rl = strlen(row);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < rl; j++) {
            if (row[j] != s[i])
                continue;
            size_t fw = 1, bw = 1;
            while (i + fw < n && j + fw < rl && s[i + fw] == row[j + fw])
                fw++;
            while (i + bw < n && bw <= j && s[i + bw] == row[j - bw])
                bw++;
            size_t run = fw > bw ? fw : bw;
            if (run >= PW_RUN_MIN)
                memset(mark + i, 1, run);
        }
    }
}

/* Code points of lower[n] not covered by a common password, a walk or the login. */
static long
pw_remaining(const char *lower, size_t n, const char *login_lower)
{
    AUTOFREE bool *mark = calloc(n + 1, sizeof(bool));
    if (!mark)
        return -1;
    for (size_t i = 0; i < sizeof(pw_common) / sizeof(pw_common[0]); i++)
        pw_mark_word(lower, n, pw_common[i], mark);
    for (size_t i = 0; i < sizeof(pw_rows) / sizeof(pw_rows[0]); i++)
        pw_mark_row(lower, n, pw_rows[i], mark);
    if (login_lower && strlen(login_lower) >= 3)
        pw_mark_word(lower, n, login_lower, mark);
    long left = 0;
    for (size_t i = 0; i < n; i++) {
        if (!mark[i] && ((unsigned char)lower[i] & 0xc0) != 0x80)
            left++;
    }
    return left;
}

int
auth_password_policy(const char *pw, const char *login, err *e)
{
    if (!pw)
        return err_set(e, ERR_INVALID, "password is required");
    size_t n = strlen(pw);
    if (n > AUTH_PASSWORD_MAX_BYTES)
        return err_set(e, ERR_INVALID, "password must be at most %d bytes",
                       AUTH_PASSWORD_MAX_BYTES);
    long cps = pw_utf8_count((const unsigned char *)pw, n);
    if (cps == -1)
        return err_set(e, ERR_INVALID, "password must be valid UTF-8 text");
    if (cps == -2)
        return err_set(e, ERR_INVALID, "password must not contain control characters");
    if (cps < AUTH_PASSWORD_MIN_CHARS)
        return err_set(e, ERR_INVALID, "password must be at least %d characters",
                       AUTH_PASSWORD_MIN_CHARS);
    char lower[AUTH_PASSWORD_MAX_BYTES + 1];
    char login_lower[256] = "";
    pw_lower(pw, lower, n);
    if (login && strlen(login) < sizeof(login_lower))
        pw_lower(login, login_lower, strlen(login));
    int rc = 0;
    long left;
    if (login_lower[0] && strlen(login_lower) >= 3 && strstr(lower, login_lower))
        rc = err_set(e, ERR_INVALID, "password must not contain the login");
    else if (pw_periodic(lower, n))
        rc = err_set(e, ERR_INVALID,
                     "password must not be one character or a short pattern "
                     "repeated");
    else if ((left = pw_remaining(lower, n, login_lower)) < 0)
        rc = err_set(e, ERR_INTERNAL, "out of memory");
    else if (left < PW_REMAIN_MIN)
        rc = err_set(e, ERR_INVALID,
                     "password is too predictable: it is mostly common passwords, sequences "
                     "(1234, abcd) or keyboard patterns (qwerty)");
    OPENSSL_cleanse(lower, sizeof(lower));
    return rc;
}
