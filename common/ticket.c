/*
 * ticket.c: HMAC-SHA256 login tickets from the auth helper
 * (postern-auth) to the root monitor, carried by the login process
 * that cannot forge them. See ticket.h.
 */
#include "ticket.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint8_t key[32];
static bool have_key;
static uint64_t issued;   /* helper: last counter handed out */
static uint64_t accepted; /* monitor: highest counter accepted */
static uint64_t window;   /* monitor: bit i set = counter accepted - i used */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static bool mac(const char *user, const uint8_t head[16], uint8_t out[32])
{
	uint8_t msg[16 + 256];
	size_t ul = strlen(user);
	unsigned int olen = 0;
	if (ul >= sizeof(msg) - 16)
		return false;
	memcpy(msg, head, 16);
	memcpy(msg + 16, user, ul);
	return HMAC(EVP_sha256(), key, sizeof(key), msg, 16 + ul, out, &olen) != NULL &&
	    olen == 32;
}

void ticket_key_new(void)
{
	size_t got = 0;
	while (got < sizeof(key)) {
		ssize_t n = getrandom(key + got, sizeof(key) - got, 0);
		if (n <= 0)
			continue;
		got += (size_t)n;
	}
	have_key = true;
	issued = 0;
	accepted = 0;
	window = 0;
}

bool ticket_issue(const char *user, uint8_t out[TICKET_LEN])
{
	if (!have_key)
		return false;
	put_u64(out, ++issued);
	put_u64(out + 8, mono_ms() + TICKET_LIFETIME_MS);
	return mac(user, out, out + 16);
}

bool ticket_verify(const char *user, const uint8_t *t, size_t len)
{
	uint8_t want[32];
	if (!have_key || len != TICKET_LEN || !mac(user, t, want))
		return false;
	if (CRYPTO_memcmp(want, t + 16, 32) != 0)
		return false;
	uint64_t counter = get_u64(t), expiry = get_u64(t + 8);
	if (counter == 0 || expiry < mono_ms())
		return false;
	/* Each counter once. Logins may reach the monitor a little out of
	 * order (one client reads its replies more slowly), so a window of
	 * the last 64 counters is kept, as IPsec does against replays. */
	if (counter > accepted) {
		uint64_t shift = counter - accepted;
		window = shift >= 64 ? 1 : (window << shift) | 1;
		accepted = counter;
		return true;
	}
	uint64_t behind = accepted - counter;
	if (behind >= 64 || (window >> behind) & 1)
		return false;
	window |= 1ULL << behind;
	return true;
}
