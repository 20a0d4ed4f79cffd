/*
 * A German-eID-like card for the PACE peer tests, built on OpenPACE's card-side calls
 * (libeac: EAC_CTX_init_ef_cardaccess, PACE_SEC_new, PACE_STEP1_enc_nonce,
 * PACE_STEP3A..3D_*, EAC_CTX_set_encryption_ctx, EAC_encrypt/decrypt,
 * EAC_authenticate/EAC_verify_authentication). It speaks vsmartcard's vpcd socket protocol:
 * it connects to 127.0.0.1:PORT (vpcd listens there for one virtual reader) and then reads
 * messages of a 2-byte big-endian length and a payload; a 1-byte payload is a control code
 * (0 power off, 1 power on, 2 reset, 4 send the ATR), longer payloads are APDUs, answered
 * the same way.
 *
 * It serves:
 *   - EF.CardAccess (011C, plain): PACE-ECDH-GM-AES-128 on brainpoolP256r1 (id 13), or
 *     the AES key length (--cipher 2|3|4) and curve (--param ID) given;
 *   - EF 0101 (the bytes given with --ef HEX), readable only under secure messaging;
 *   - MSE:Set AT for CAN (2), PIN (3), PUK (4); PIN status words 9000 / 63C2 / 63C1
 *     (suspended) / 63C0 (blocked) / 6283 (deactivated, --deactivated);
 *   - General Authenticate steps 1-4, plain or inside a running secure channel (the PIN
 *     after the CAN resumes a suspended PIN); a wrong PIN counts down (63Cx), a wrong
 *     CAN/PUK answers 6300;
 *   - RESET RETRY COUNTER 00 2C 02 03 <new PIN> (after PACE with the PIN) and
 *     00 2C 03 03 (after PACE with the PUK), under secure messaging only;
 *   - --corrupt-mac: every protected response carries a wrong MAC;
 *   - --log-keys: prints each mapping public key the terminal sends ("map HEX").
 * A plain command while a channel is open ends the channel (as the nPA does).
 *
 * Usage: pace_card --port N --can CAN --pin PIN --puk PUK --ef HEX [--corrupt-mac]
 *        [--deactivated] [--log-keys] [--cipher 2|3|4] [--param ID]
 */

#include <arpa/inet.h>
#include <eac/eac.h>
#include <eac/pace.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* EF.CardAccess: one PACEInfo { id-PACE-ECDH-GM-AES-CBC-CMAC-x, version 2, parameter id }.
 * By default AES-128 (arc 2) on brainpoolP256r1 (13); --cipher and --param change the two
 * bytes marked below. */
static unsigned char CARD_ACCESS[] = {
    0x31, 0x14, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02,
    0x02, 0x04, 0x02, 0x02 /* cipher */, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0D /* param */};
#define CIPHER_AT 15
#define PARAM_AT 21
/* The protocol OID's value inside CARD_ACCESS. */
#define PACE_OID (CARD_ACCESS + 6)
#define PACE_OID_LEN 10
static const unsigned char ATR[] = {0x3B, 0x8A, 0x80, 0x01, 0x80, 0x31, 0xF8, 0x73,
                                    0xF7, 0x41, 0xE0, 0x82, 0x90, 0x00, 0x75};

#define MAX_MSG 70000
#define REF_CAN 2
#define REF_PIN 3
#define REF_PUK 4

struct card {
    char can[16], pin[16], puk[16];
    unsigned char ef[4096];
    size_t ef_len;
    int pin_retries;
    int deactivated;
    int corrupt_mac;
    int log_keys;
    /* Secure messaging: the context of the last successful PACE, or NULL. */
    EAC_CTX *sm;
    int sm_ref;
    /* PACE in progress. */
    EAC_CTX *pace;
    PACE_SEC *sec;
    BUF_MEM *my_token;
    int pace_ref, pace_step;
    int selected;
};

static int debug;

static void logf_(const char *what) {
    if (debug)
        fprintf(stderr, "pace_card: %s\n", what);
}

/* ---- byte buffers ------------------------------------------------------ */

struct out {
    unsigned char b[MAX_MSG];
    size_t n;
};

static void put(struct out *o, const void *p, size_t n) {
    if (o->n + n > sizeof o->b)
        abort();
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put_sw(struct out *o, unsigned sw) {
    unsigned char s[2] = {sw >> 8, sw & 0xFF};
    put(o, s, 2);
}

static void put_tlv(struct out *o, unsigned tag, const unsigned char *v, size_t n) {
    unsigned char h[4];
    size_t k = 0;
    h[k++] = tag;
    if (n < 0x80) {
        h[k++] = n;
    } else if (n < 0x100) {
        h[k++] = 0x81;
        h[k++] = n;
    } else {
        h[k++] = 0x82;
        h[k++] = n >> 8;
        h[k++] = n & 0xFF;
    }
    put(o, h, k);
    put(o, v, n);
}

static BUF_MEM *bm(const unsigned char *p, size_t n) {
    BUF_MEM *m = BUF_MEM_new();
    if (!m || !BUF_MEM_grow(m, n)) {
        BUF_MEM_free(m);
        return NULL;
    }
    memcpy(m->data, p, n);
    m->length = n;
    return m;
}

/* Finds `tag` (one byte) in a run of BER-TLVs; returns its value or NULL. `raw` and
 * `raw_len` (optional) get the whole encoded object. */
static const unsigned char *find_tlv(const unsigned char *p, size_t n, unsigned tag,
                                     size_t *len, const unsigned char **raw,
                                     size_t *raw_len) {
    size_t i = 0;
    while (i + 2 <= n) {
        unsigned t = p[i];
        size_t start = i, l;
        i++;
        if (p[i] < 0x80) {
            l = p[i++];
        } else if (p[i] == 0x81 && i + 1 < n) {
            l = p[i + 1];
            i += 2;
        } else if (p[i] == 0x82 && i + 2 < n) {
            l = ((size_t)p[i + 1] << 8) | p[i + 2];
            i += 3;
        } else {
            return NULL;
        }
        if (i + l > n)
            return NULL;
        if (t == tag) {
            *len = l;
            if (raw) {
                *raw = p + start;
                *raw_len = i + l - start;
            }
            return p + i;
        }
        i += l;
    }
    return NULL;
}

/* ---- APDUs --------------------------------------------------------------- */

struct apdu {
    unsigned char cla, ins, p1, p2;
    const unsigned char *data;
    size_t lc;
    int has_le;
    size_t le;
};

static int parse_apdu(const unsigned char *b, size_t n, struct apdu *a) {
    memset(a, 0, sizeof *a);
    if (n < 4)
        return 0;
    a->cla = b[0], a->ins = b[1], a->p1 = b[2], a->p2 = b[3];
    b += 4, n -= 4;
    if (n == 0)
        return 1;
    if (n == 1) {
        a->has_le = 1, a->le = b[0] ? b[0] : 256;
        return 1;
    }
    if (b[0] == 0 && n >= 3) { /* extended */
        size_t x = ((size_t)b[1] << 8) | b[2];
        if (n == 3) {
            a->has_le = 1, a->le = x ? x : 65536;
            return 1;
        }
        if (x == 0 || n < 3 + x)
            return 0;
        a->data = b + 3, a->lc = x;
        if (n == 3 + x)
            return 1;
        if (n == 5 + x) {
            size_t l = ((size_t)b[3 + x] << 8) | b[4 + x];
            a->has_le = 1, a->le = l ? l : 65536;
            return 1;
        }
        return 0;
    }
    if (b[0] == 0 || n < 1 + (size_t)b[0])
        return 0;
    a->data = b + 1, a->lc = b[0];
    if (n == 1 + a->lc)
        return 1;
    if (n == 2 + a->lc) {
        a->has_le = 1, a->le = b[1 + a->lc] ? b[1 + a->lc] : 256;
        return 1;
    }
    return 0;
}

/* ---- PACE ------------------------------------------------------------------ */

static void pace_abort(struct card *c) {
    EAC_CTX_clear_free(c->pace);
    PACE_SEC_clear_free(c->sec);
    BUF_MEM_clear_free(c->my_token);
    c->pace = NULL, c->sec = NULL, c->my_token = NULL;
    c->pace_step = 0;
}

static void sm_end(struct card *c) {
    EAC_CTX_clear_free(c->sm);
    c->sm = NULL, c->sm_ref = 0;
}

static void mse_set_at(struct card *c, const struct apdu *a, struct out *o) {
    size_t n, rn;
    const unsigned char *oid = find_tlv(a->data, a->lc, 0x80, &n, NULL, NULL);
    const unsigned char *ref = find_tlv(a->data, a->lc, 0x83, &rn, NULL, NULL);
    pace_abort(c);
    if (a->p1 != 0xC1 || a->p2 != 0xA4 || !oid || n != PACE_OID_LEN ||
        memcmp(oid, PACE_OID, n) != 0 || !ref || rn != 1) {
        put_sw(o, 0x6A80);
        return;
    }
    if (ref[0] != REF_CAN && ref[0] != REF_PIN && ref[0] != REF_PUK) {
        put_sw(o, 0x6A88);
        return;
    }
    c->pace = EAC_CTX_new();
    if (!c->pace || !EAC_CTX_init_ef_cardaccess(CARD_ACCESS, sizeof CARD_ACCESS, c->pace)) {
        pace_abort(c);
        put_sw(o, 0x6F00);
        return;
    }
    c->pace_ref = ref[0];
    c->pace_step = 1;
    if (ref[0] != REF_PIN) {
        put_sw(o, 0x9000);
    } else if (c->deactivated) {
        put_sw(o, 0x6283);
    } else if (c->pin_retries >= 3) {
        put_sw(o, 0x9000);
    } else {
        put_sw(o, 0x63C0 | c->pin_retries);
    }
}

/* Switches secure messaging to the PACE context that just finished. */
static void pace_done(struct card *c) {
    sm_end(c);
    c->sm = c->pace;
    c->sm_ref = c->pace_ref;
    c->pace = NULL;
    PACE_SEC_clear_free(c->sec);
    BUF_MEM_clear_free(c->my_token);
    c->sec = NULL, c->my_token = NULL, c->pace_step = 0;
    if (!EAC_CTX_set_encryption_ctx(c->sm, EAC_ID_PACE))
        sm_end(c);
}

/* Returns 1 when PACE has just succeeded (the channel switches after this response). */
static int general_authenticate(struct card *c, const struct apdu *a, struct out *o) {
    size_t n, dn;
    const unsigned char *dyn = find_tlv(a->data, a->lc, 0x7C, &dn, NULL, NULL);
    int last = (a->cla & 0x10) == 0;
    BUF_MEM *in = NULL, *mine = NULL;
    struct out r = {.n = 0};
    if (!c->pace || !dyn || last != (c->pace_step == 4)) {
        pace_abort(c);
        put_sw(o, 0x6985);
        return 0;
    }
    switch (c->pace_step) {
    case 1: {
        const char *pw = c->pace_ref == REF_CAN ? c->can : c->pace_ref == REF_PIN ? c->pin : c->puk;
        enum s_type type = c->pace_ref == REF_CAN ? PACE_CAN : c->pace_ref == REF_PIN ? PACE_PIN : PACE_PUK;
        if (c->pace_ref == REF_PIN && (c->deactivated || c->pin_retries == 0)) {
            pace_abort(c);
            put_sw(o, 0x6983);
            return 0;
        }
        if (c->pace_ref == REF_PIN && c->pin_retries == 1 && c->sm_ref != REF_CAN) {
            pace_abort(c);
            put_sw(o, 0x6985); /* suspended: PACE with the CAN first */
            return 0;
        }
        c->sec = PACE_SEC_new(pw, strlen(pw), type);
        mine = c->sec ? PACE_STEP1_enc_nonce(c->pace, c->sec) : NULL;
        if (!mine)
            goto fail;
        put_tlv(&r, 0x80, (unsigned char *)mine->data, mine->length);
        break;
    }
    case 2: {
        const unsigned char *v = find_tlv(dyn, dn, 0x81, &n, NULL, NULL);
        if (!v || !(in = bm(v, n)))
            goto fail;
        if (c->log_keys) { /* the terminal's mapping key, for the test to check */
            printf("map ");
            for (size_t k = 0; k < n; k++)
                printf("%02X", v[k]);
            printf("\n");
            fflush(stdout);
        }
        mine = PACE_STEP3A_generate_mapping_data(c->pace);
        if (!mine || !PACE_STEP3A_map_generator(c->pace, in))
            goto fail;
        put_tlv(&r, 0x82, (unsigned char *)mine->data, mine->length);
        break;
    }
    case 3: {
        const unsigned char *v = find_tlv(dyn, dn, 0x83, &n, NULL, NULL);
        if (!v || !(in = bm(v, n)))
            goto fail;
        mine = PACE_STEP3B_generate_ephemeral_key(c->pace);
        if (!mine || !PACE_STEP3B_compute_shared_secret(c->pace, in) ||
            !PACE_STEP3C_derive_keys(c->pace))
            goto fail;
        c->my_token = PACE_STEP3D_compute_authentication_token(c->pace, in);
        if (!c->my_token)
            goto fail;
        put_tlv(&r, 0x84, (unsigned char *)mine->data, mine->length);
        break;
    }
    case 4: {
        const unsigned char *v = find_tlv(dyn, dn, 0x85, &n, NULL, NULL);
        if (!v || !(in = bm(v, n)))
            goto fail;
        if (PACE_STEP3D_verify_authentication_token(c->pace, in) != 1) {
            BUF_MEM_free(in);
            if (c->pace_ref == REF_PIN) {
                if (c->pin_retries > 0)
                    c->pin_retries--;
                put_sw(o, 0x63C0 | c->pin_retries);
            } else {
                put_sw(o, 0x6300);
            }
            logf_("token of the terminal does not verify");
            pace_abort(c);
            return 0;
        }
        BUF_MEM_free(in);
        if (c->pace_ref == REF_PIN)
            c->pin_retries = 3;
        struct out t = {.n = 0};
        put_tlv(&t, 0x86, (unsigned char *)c->my_token->data, c->my_token->length);
        put_tlv(o, 0x7C, t.b, t.n);
        put_sw(o, 0x9000);
        logf_("PACE established");
        return 1;
    }
    }
    BUF_MEM_free(in);
    BUF_MEM_free(mine);
    c->pace_step++;
    put_tlv(o, 0x7C, r.b, r.n);
    put_sw(o, 0x9000);
    return 0;
fail:
    logf_("PACE step failed");
    BUF_MEM_free(in);
    BUF_MEM_free(mine);
    pace_abort(c);
    put_sw(o, 0x6A80);
    return 0;
}

/* ---- files and PIN management ------------------------------------------------ */

static void read_binary(struct card *c, const struct apdu *a, int secure, struct out *o) {
    const unsigned char *f;
    size_t len, off = ((size_t)(a->p1 & 0x7F) << 8) | a->p2, want = a->has_le ? a->le : 256;
    if (c->selected == 0x011C) {
        f = CARD_ACCESS, len = sizeof CARD_ACCESS;
    } else if (c->selected == 0x0101) {
        if (!secure) {
            put_sw(o, 0x6982);
            return;
        }
        f = c->ef, len = c->ef_len;
    } else {
        put_sw(o, 0x6986);
        return;
    }
    if (off > len) {
        put_sw(o, 0x6B00);
        return;
    }
    size_t end = off + want < len ? off + want : len;
    put(o, f + off, end - off);
    put_sw(o, end - off < want ? 0x6282 : 0x9000);
}

static void reset_retry_counter(struct card *c, const struct apdu *a, int secure, struct out *o) {
    if (!secure || a->p2 != 0x03) {
        put_sw(o, 0x6982);
    } else if (a->p1 == 0x02 && c->sm_ref == REF_PIN && a->lc >= 5 && a->lc <= 6) {
        memcpy(c->pin, a->data, a->lc);
        c->pin[a->lc] = 0;
        put_sw(o, 0x9000);
    } else if (a->p1 == 0x03 && c->sm_ref == REF_PUK && a->lc == 0) {
        c->pin_retries = 3;
        put_sw(o, 0x9000);
    } else {
        put_sw(o, 0x6982);
    }
}

/* Processes a plain (or unwrapped) command; returns 1 when PACE just succeeded. */
static int process(struct card *c, const struct apdu *a, int secure, struct out *o) {
    switch (a->ins) {
    case 0xA4:
        if (a->p1 == 0x02 && a->lc == 2) {
            int fid = (a->data[0] << 8) | a->data[1];
            if (fid == 0x011C || fid == 0x0101) {
                c->selected = fid;
                put_sw(o, 0x9000);
            } else {
                put_sw(o, 0x6A82);
            }
        } else {
            c->selected = 0;
            put_sw(o, 0x9000);
        }
        return 0;
    case 0xB0:
        read_binary(c, a, secure, o);
        return 0;
    case 0x22:
        mse_set_at(c, a, o);
        return 0;
    case 0x86:
        return general_authenticate(c, a, o);
    case 0x2C:
        reset_retry_counter(c, a, secure, o);
        return 0;
    default:
        put_sw(o, 0x6D00);
        return 0;
    }
}

/* ---- secure messaging ------------------------------------------------------------ */

static BUF_MEM *padded_mac_input(EAC_CTX *sm, const unsigned char *p, size_t n) {
    BUF_MEM *m = bm(p, n), *padded = m ? EAC_add_iso_pad(sm, m) : NULL;
    BUF_MEM_free(m);
    return padded;
}

/* Unwraps a protected command into `plain` (data copied into `buf`); 0 on any failure. */
static int sm_unwrap(struct card *c, const struct apdu *a, struct apdu *plain, unsigned char *buf) {
    size_t n87 = 0, n97 = 0, n8e = 0, r87 = 0, r97 = 0;
    const unsigned char *raw87 = NULL, *raw97 = NULL;
    const unsigned char *v87 = find_tlv(a->data, a->lc, 0x87, &n87, &raw87, &r87);
    const unsigned char *v97 = find_tlv(a->data, a->lc, 0x97, &n97, &raw97, &r97);
    const unsigned char *v8e = find_tlv(a->data, a->lc, 0x8E, &n8e, NULL, NULL);
    struct out m = {.n = 0};
    unsigned char hdr[16] = {a->cla, a->ins, a->p1, a->p2, 0x80};
    BUF_MEM *in = NULL, *mac = NULL;
    int ok = 0;
    if (!v8e || n8e != 8 || !EAC_increment_ssc(c->sm))
        return 0;
    put(&m, hdr, sizeof hdr);
    if (v87)
        put(&m, raw87, r87);
    if (v97)
        put(&m, raw97, r97);
    in = padded_mac_input(c->sm, m.b, m.n);
    mac = bm(v8e, 8);
    ok = in && mac && EAC_verify_authentication(c->sm, in, mac) == 1;
    BUF_MEM_free(in);
    BUF_MEM_free(mac);
    if (!ok) {
        logf_("command MAC does not verify");
        return 0;
    }
    *plain = *a;
    plain->cla = a->cla & ~0x0C;
    plain->data = NULL, plain->lc = 0, plain->has_le = 0;
    if (v87) {
        BUF_MEM *ct, *pt, *unpadded;
        if (n87 < 17 || v87[0] != 0x01)
            return 0;
        ct = bm(v87 + 1, n87 - 1);
        pt = ct ? EAC_decrypt(c->sm, ct) : NULL;
        unpadded = pt ? EAC_remove_iso_pad(pt) : NULL;
        BUF_MEM_free(ct);
        BUF_MEM_clear_free(pt);
        if (!unpadded || unpadded->length > 65535)
            return 0;
        memcpy(buf, unpadded->data, unpadded->length);
        plain->data = buf, plain->lc = unpadded->length;
        BUF_MEM_clear_free(unpadded);
    }
    if (v97) {
        size_t le = 0;
        for (size_t i = 0; i < n97; i++)
            le = (le << 8) | v97[i];
        plain->has_le = 1;
        plain->le = le ? le : (n97 == 1 ? 256 : 65536);
    }
    return 1;
}

/* Wraps a plain response (data + SW in `plain`) into `o`. */
static int sm_wrap(struct card *c, const struct out *plain, struct out *o) {
    struct out body = {.n = 0};
    size_t n = plain->n - 2;
    unsigned sw = (plain->b[n] << 8) | plain->b[n + 1];
    BUF_MEM *mac_in, *mac;
    if (!EAC_increment_ssc(c->sm))
        return 0;
    if (n > 0) {
        BUF_MEM *m = bm(plain->b, n), *padded = m ? EAC_add_iso_pad(c->sm, m) : NULL;
        BUF_MEM *ct = padded ? EAC_encrypt(c->sm, padded) : NULL;
        BUF_MEM_clear_free(m);
        BUF_MEM_clear_free(padded);
        if (!ct)
            return 0;
        unsigned char *v = malloc(ct->length + 1);
        v[0] = 0x01;
        memcpy(v + 1, ct->data, ct->length);
        put_tlv(&body, 0x87, v, ct->length + 1);
        free(v);
        BUF_MEM_free(ct);
    }
    put_tlv(&body, 0x99, plain->b + n, 2);
    mac_in = padded_mac_input(c->sm, body.b, body.n);
    mac = mac_in ? EAC_authenticate(c->sm, mac_in) : NULL;
    BUF_MEM_free(mac_in);
    if (!mac || mac->length < 8) {
        BUF_MEM_free(mac);
        return 0;
    }
    if (c->corrupt_mac)
        mac->data[7] ^= 0x01;
    put(o, body.b, body.n);
    put_tlv(o, 0x8E, (unsigned char *)mac->data, 8);
    put_sw(o, sw);
    BUF_MEM_free(mac);
    return 1;
}

static void answer(struct card *c, const unsigned char *msg, size_t n, struct out *o) {
    struct apdu a, plain;
    static unsigned char buf[MAX_MSG];
    static struct out inner;
    if (!parse_apdu(msg, n, &a)) {
        put_sw(o, 0x6700);
        return;
    }
    if ((a.cla & 0x0C) == 0) {
        sm_end(c); /* a plain command ends secure messaging */
        if (process(c, &a, 0, o))
            pace_done(c);
        return;
    }
    if (!c->sm) {
        put_sw(o, 0x6882);
        return;
    }
    if (!sm_unwrap(c, &a, &plain, buf)) {
        sm_end(c);
        pace_abort(c);
        put_sw(o, 0x6988);
        return;
    }
    inner.n = 0;
    int established = process(c, &plain, 1, &inner);
    if (!sm_wrap(c, &inner, o)) {
        sm_end(c);
        o->n = 0;
        put_sw(o, 0x6F00);
        return;
    }
    if (established)
        pace_done(c);
}

/* ---- vpcd ---------------------------------------------------------------------------- */

static int read_all(int fd, unsigned char *p, size_t n) {
    /* vpcd writes the length and the payload separately; without quick ACKs its Nagle
     * algorithm waits for our delayed ACK (~40 ms) before sending the payload. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return 0;
        p += r, n -= (size_t)r;
    }
    return 1;
}

static int send_msg(int fd, const unsigned char *p, size_t n) {
    unsigned char len[2] = {n >> 8, n & 0xFF};
    return write(fd, len, 2) == 2 && write(fd, p, n) == (ssize_t)n;
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int main(int argc, char **argv) {
    static struct card c;
    static unsigned char msg[MAX_MSG];
    static struct out o;
    int port = 35964;
    c.pin_retries = 3;
    debug = getenv("PACE_CARD_DEBUG") != NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(argv[i], "--port"))
            port = atoi(v), i++;
        else if (!strcmp(argv[i], "--can"))
            snprintf(c.can, sizeof c.can, "%s", v), i++;
        else if (!strcmp(argv[i], "--pin"))
            snprintf(c.pin, sizeof c.pin, "%s", v), i++;
        else if (!strcmp(argv[i], "--puk"))
            snprintf(c.puk, sizeof c.puk, "%s", v), i++;
        else if (!strcmp(argv[i], "--ef")) {
            size_t l = strlen(v);
            for (size_t k = 0; k + 1 < l && c.ef_len < sizeof c.ef; k += 2)
                c.ef[c.ef_len++] = (unsigned char)(hexval(v[k]) * 16 + hexval(v[k + 1]));
            i++;
        } else if (!strcmp(argv[i], "--corrupt-mac"))
            c.corrupt_mac = 1;
        else if (!strcmp(argv[i], "--cipher")) /* 2 AES-128, 3 AES-192, 4 AES-256 */
            CARD_ACCESS[CIPHER_AT] = (unsigned char)atoi(v), i++;
        else if (!strcmp(argv[i], "--param")) /* standardized domain parameter id */
            CARD_ACCESS[PARAM_AT] = (unsigned char)atoi(v), i++;
        else if (!strcmp(argv[i], "--log-keys"))
            c.log_keys = 1;
        else if (!strcmp(argv[i], "--deactivated"))
            c.deactivated = 1;
        else {
            fprintf(stderr, "pace_card: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    EAC_init();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("pace_card: connect to vpcd");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        unsigned char len[2];
        if (!read_all(fd, len, 2))
            break;
        size_t n = ((size_t)len[0] << 8) | len[1];
        if (!read_all(fd, msg, n))
            break;
        if (n == 1) {
            if (msg[0] == 4) {
                if (!send_msg(fd, ATR, sizeof ATR))
                    break;
            } else { /* off, on, reset: the card starts over */
                sm_end(&c);
                pace_abort(&c);
                c.selected = 0;
            }
            continue;
        }
        o.n = 0;
        answer(&c, msg, n, &o);
        if (!send_msg(fd, o.b, o.n))
            break;
    }
    sm_end(&c);
    pace_abort(&c);
    close(fd);
    return 0;
}
