/*
 * test_ipc.c: unit tests for common/ipc.c: the 12-byte frame header
 * (ipc_hdr_parse / ipc_hdr_encode: byte order, short input, unknown
 * flags, oversize length), the payload builder (ipcb_*: layout, growth,
 * size limit, sticky error) and the reader over untrusted bytes
 * (ipcr_*: truncation at every byte, NUL in strings, oversize string
 * lengths, leftovers), plus one frame with an fd over a socketpair.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"

static void test_hdr_encode_layout(void **state)
{
	(void)state;
	struct ipc_hdr h = { 0x0102, IPC_F_FD, 0x00030405, 0xA0B0C0D0 };
	uint8_t b[IPC_HDR_LEN];
	static const uint8_t want[IPC_HDR_LEN] = {
		0x01, 0x02, 0x00, 0x01, 0x00, 0x03, 0x04, 0x05, 0xA0, 0xB0, 0xC0, 0xD0 };
	ipc_hdr_encode(&h, b);
	assert_memory_equal(b, want, IPC_HDR_LEN);

	struct ipc_hdr g;
	memset(&g, 0xee, sizeof(g));
	assert_int_equal(ipc_hdr_parse(b, sizeof(b), &g), IPC_OK);
	assert_int_equal(g.type, 0x0102);
	assert_int_equal(g.flags, IPC_F_FD);
	assert_int_equal(g.len, 0x00030405);
	assert_int_equal(g.reqid, 0xA0B0C0D0);
}

static void test_hdr_roundtrip(void **state)
{
	(void)state;
	uint16_t types[] = { 0, 1, 100, 0x7fff, 0xffff };
	uint32_t lens[] = { 0, 1, 4096, IPC_MAX_PAYLOAD };
	uint32_t reqids[] = { 0, 1, 0xffffffff };
	for (size_t a = 0; a < 5; a++)
		for (size_t l = 0; l < 4; l++)
			for (size_t r = 0; r < 3; r++)
				for (uint16_t f = 0; f <= IPC_F_FD; f++) {
					struct ipc_hdr h = { types[a], f, lens[l], reqids[r] }, g;
					uint8_t b[IPC_HDR_LEN + 4];
					ipc_hdr_encode(&h, b);
					assert_int_equal(ipc_hdr_parse(b, sizeof(b), &g), IPC_OK);
					assert_int_equal(g.type, h.type);
					assert_int_equal(g.flags, h.flags);
					assert_int_equal(g.len, h.len);
					assert_int_equal(g.reqid, h.reqid);
				}
}

static void test_hdr_short(void **state)
{
	(void)state;
	struct ipc_hdr h = { 7, 0, 3, 9 }, g;
	uint8_t b[IPC_HDR_LEN];
	ipc_hdr_encode(&h, b);
	for (size_t n = 0; n < IPC_HDR_LEN; n++)
		assert_int_equal(ipc_hdr_parse(b, n, &g), IPC_NEED_MORE);
	assert_int_equal(ipc_hdr_parse(b, IPC_HDR_LEN, &g), IPC_OK);
}

static void test_hdr_bad(void **state)
{
	(void)state;
	struct ipc_hdr h = { 1, 0, 0, 0 }, g;
	uint8_t b[IPC_HDR_LEN];

	/* every flag bit but IPC_F_FD is unknown */
	for (int bit = 0; bit < 16; bit++) {
		h.flags = (uint16_t)(1u << bit);
		ipc_hdr_encode(&h, b);
		assert_int_equal(ipc_hdr_parse(b, sizeof(b), &g),
		    h.flags == IPC_F_FD ? IPC_OK : IPC_BAD);
	}
	h.flags = IPC_F_FD | 0x8000;
	ipc_hdr_encode(&h, b);
	assert_int_equal(ipc_hdr_parse(b, sizeof(b), &g), IPC_BAD);

	h.flags = 0;
	h.len = IPC_MAX_PAYLOAD;
	ipc_hdr_encode(&h, b);
	assert_int_equal(ipc_hdr_parse(b, sizeof(b), &g), IPC_OK);
	h.len = IPC_MAX_PAYLOAD + 1;
	ipc_hdr_encode(&h, b);
	assert_int_equal(ipc_hdr_parse(b, sizeof(b), &g), IPC_BAD);
	h.len = 0xffffffff;
	ipc_hdr_encode(&h, b);
	assert_int_equal(ipc_hdr_parse(b, sizeof(b), &g), IPC_BAD);
	h.len = 0x80000000;
	ipc_hdr_encode(&h, b);
	assert_int_equal(ipc_hdr_parse(b, sizeof(b), &g), IPC_BAD);
}

static void test_builder_layout(void **state)
{
	(void)state;
	struct ipc_buf b;
	ipcb_init(&b);
	assert_false(b.err);
	assert_int_equal(b.len, 0);
	ipcb_u8(&b, 0xAB);
	ipcb_u16(&b, 0x1234);
	ipcb_u32(&b, 0xDEADBEEF);
	ipcb_u64(&b, 0x0102030405060708ULL);
	ipcb_str(&b, "hi\0x", 4); /* a builder copies bytes; the reader judges */
	ipcb_cstr(&b, "abc");
	ipcb_cstr(&b, "");
	static const uint8_t want[] = {
		0xAB,
		0x12, 0x34,
		0xDE, 0xAD, 0xBE, 0xEF,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0, 0, 0, 4, 'h', 'i', 0, 'x',
		0, 0, 0, 3, 'a', 'b', 'c',
		0, 0, 0, 0,
	};
	assert_false(b.err);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	ipcb_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_builder_growth(void **state)
{
	(void)state;
	struct ipc_buf b;
	ipcb_init(&b);
	for (uint32_t i = 0; i < 20000; i++)
		ipcb_u32(&b, i * 2654435761u);
	assert_false(b.err);
	assert_int_equal(b.len, 80000);
	struct ipc_rd r;
	ipcr_init(&r, b.data, b.len);
	for (uint32_t i = 0; i < 20000; i++)
		assert_int_equal(ipcr_u32(&r), i * 2654435761u);
	assert_true(ipcr_done(&r));
	ipcb_free(&b);
}

static void test_builder_limit(void **state)
{
	(void)state;
	struct ipc_buf b;
	char *big = malloc(IPC_MAX_PAYLOAD + 1);
	assert_non_null(big);
	memset(big, 'x', IPC_MAX_PAYLOAD + 1);

	/* a string that exactly fills the payload (with its length) fits */
	ipcb_init(&b);
	ipcb_str(&b, big, IPC_MAX_PAYLOAD - 4);
	assert_false(b.err);
	assert_int_equal(b.len, IPC_MAX_PAYLOAD);
	/* one more byte does not, and the error is sticky */
	ipcb_u8(&b, 1);
	assert_true(b.err);
	assert_int_equal(b.len, IPC_MAX_PAYLOAD);
	ipcb_free(&b);

	ipcb_init(&b);
	ipcb_str(&b, big, IPC_MAX_PAYLOAD - 3);
	assert_true(b.err);
	ipcb_free(&b);

	ipcb_init(&b);
	ipcb_str(&b, big, IPC_MAX_PAYLOAD + 1);
	assert_true(b.err);
	ipcb_free(&b);

	/* huge lengths never wrap around */
	ipcb_init(&b);
	ipcb_u8(&b, 1);
	ipcb_str(&b, big, SIZE_MAX);
	assert_true(b.err);
	ipcb_u32(&b, 5); /* sticky: nothing more is added */
	assert_true(b.err);
	assert_int_equal(b.len, 1);
	ipcb_free(&b);

	/* sticky after an error even for small fields */
	ipcb_init(&b);
	ipcb_str(&b, big, IPC_MAX_PAYLOAD);
	assert_true(b.err);
	size_t len = b.len;
	ipcb_cstr(&b, "a");
	ipcb_u64(&b, 1);
	assert_true(b.err);
	assert_int_equal(b.len, len);
	ipcb_free(&b);
	free(big);
}

static void build_sample(struct ipc_buf *b)
{
	ipcb_init(b);
	ipcb_u8(b, 200);
	ipcb_u16(b, 65000);
	ipcb_u32(b, 4000000000u);
	ipcb_u64(b, 0xFEDCBA9876543210ULL);
	ipcb_cstr(b, "hello world");
	ipcb_cstr(b, "");
	ipcb_u8(b, 7);
}

static void test_reader_roundtrip(void **state)
{
	(void)state;
	struct ipc_buf b;
	struct ipc_rd r;
	char s[64];
	build_sample(&b);
	assert_false(b.err);
	ipcr_init(&r, b.data, b.len);
	assert_int_equal(ipcr_u8(&r), 200);
	assert_int_equal(ipcr_u16(&r), 65000);
	assert_int_equal(ipcr_u32(&r), 4000000000u);
	assert_int_equal(ipcr_u64(&r), 0xFEDCBA9876543210ULL);
	assert_false(ipcr_done(&r)); /* more to come */
	assert_int_equal(ipcr_str(&r, s, sizeof(s)), 11);
	assert_string_equal(s, "hello world");
	memset(s, 'z', sizeof(s));
	assert_int_equal(ipcr_str(&r, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	assert_int_equal(ipcr_u8(&r), 7);
	assert_false(r.err);
	assert_true(ipcr_done(&r));
	/* reading past the end sets err and yields 0 */
	assert_int_equal(ipcr_u8(&r), 0);
	assert_true(r.err);
	assert_false(ipcr_done(&r));
	ipcb_free(&b);
}

/* Reads the sample's fields; returns true if every one came out right. */
static bool read_sample(struct ipc_rd *r)
{
	char s[64];
	bool ok = ipcr_u8(r) == 200;
	ok &= ipcr_u16(r) == 65000;
	ok &= ipcr_u32(r) == 4000000000u;
	ok &= ipcr_u64(r) == 0xFEDCBA9876543210ULL;
	ok &= ipcr_str(r, s, sizeof(s)) == 11 && strcmp(s, "hello world") == 0;
	ok &= ipcr_str(r, s, sizeof(s)) == 0 && s[0] == '\0';
	ok &= ipcr_u8(r) == 7;
	return ok;
}

static void test_reader_truncated(void **state)
{
	(void)state;
	struct ipc_buf b;
	build_sample(&b);
	for (size_t n = 0; n < b.len; n++) {
		/* a copy of exactly n bytes so ASan would see any overread */
		uint8_t *cut = malloc(n ? n : 1);
		assert_non_null(cut);
		memcpy(cut, b.data, n);
		struct ipc_rd r;
		ipcr_init(&r, cut, n);
		assert_false(read_sample(&r));
		assert_true(r.err);
		assert_false(ipcr_done(&r));
		free(cut);
	}
	/* one extra byte: every field fine, but not done */
	uint8_t *more = malloc(b.len + 1);
	assert_non_null(more);
	memcpy(more, b.data, b.len);
	more[b.len] = 0;
	struct ipc_rd r;
	ipcr_init(&r, more, b.len + 1);
	assert_true(read_sample(&r));
	assert_false(r.err);
	assert_false(ipcr_done(&r));
	free(more);
	ipcb_free(&b);
}

static void test_reader_errors_are_zero(void **state)
{
	(void)state;
	uint8_t three[3] = { 0xff, 0xff, 0xff };
	struct ipc_rd r;
	ipcr_init(&r, three, sizeof(three));
	assert_int_equal(ipcr_u32(&r), 0);
	assert_true(r.err);
	/* once in error, even a field that would fit yields 0 */
	assert_int_equal(ipcr_u8(&r), 0);
	assert_int_equal(ipcr_u16(&r), 0);

	uint8_t seven[7] = { 1, 2, 3, 4, 5, 6, 7 };
	ipcr_init(&r, seven, sizeof(seven));
	assert_int_equal(ipcr_u64(&r), 0);
	assert_true(r.err);

	ipcr_init(&r, NULL, 0);
	assert_true(ipcr_done(&r));
	assert_int_equal(ipcr_u8(&r), 0);
	assert_false(ipcr_done(&r));
}

static void test_reader_str(void **state)
{
	(void)state;
	struct ipc_rd r;
	char out[8];

	/* exactly outcap-1 bytes fit */
	uint8_t seven[] = { 0, 0, 0, 7, 'a', 'b', 'c', 'd', 'e', 'f', 'g' };
	ipcr_init(&r, seven, sizeof(seven));
	assert_int_equal(ipcr_str(&r, out, sizeof(out)), 7);
	assert_string_equal(out, "abcdefg");
	assert_true(ipcr_done(&r));

	/* outcap bytes do not */
	uint8_t eight[] = { 0, 0, 0, 8, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h' };
	ipcr_init(&r, eight, sizeof(eight));
	memset(out, 'z', sizeof(out));
	assert_int_equal(ipcr_str(&r, out, sizeof(out)), 0);
	assert_true(r.err);
	assert_string_equal(out, "");

	/* NUL inside the string */
	uint8_t nul[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	ipcr_init(&r, nul, sizeof(nul));
	memset(out, 'z', sizeof(out));
	assert_int_equal(ipcr_str(&r, out, sizeof(out)), 0);
	assert_true(r.err);
	assert_string_equal(out, "");
	uint8_t nul_end[] = { 0, 0, 0, 1, 0 };
	ipcr_init(&r, nul_end, sizeof(nul_end));
	assert_int_equal(ipcr_str(&r, out, sizeof(out)), 0);
	assert_true(r.err);

	/* length beyond the data, and huge lengths */
	uint8_t shortdata[] = { 0, 0, 0, 5, 'a', 'b' };
	ipcr_init(&r, shortdata, sizeof(shortdata));
	assert_int_equal(ipcr_str(&r, out, sizeof(out)), 0);
	assert_true(r.err);
	uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 'a' };
	char big[256];
	ipcr_init(&r, huge, sizeof(huge));
	assert_int_equal(ipcr_str(&r, big, sizeof(big)), 0);
	assert_true(r.err);
	uint8_t huge2[] = { 0x80, 0, 0, 0, 'a' };
	ipcr_init(&r, huge2, sizeof(huge2));
	assert_int_equal(ipcr_str(&r, big, sizeof(big)), 0);
	assert_true(r.err);

	/* truncated length prefix */
	uint8_t lenonly[] = { 0, 0, 1 };
	ipcr_init(&r, lenonly, sizeof(lenonly));
	memset(out, 'z', sizeof(out));
	assert_int_equal(ipcr_str(&r, out, sizeof(out)), 0);
	assert_true(r.err);
	assert_string_equal(out, "");

	/* no room at all */
	uint8_t empty[] = { 0, 0, 0, 0 };
	ipcr_init(&r, empty, sizeof(empty));
	assert_int_equal(ipcr_str(&r, out, 0), 0);
	assert_true(r.err);
	ipcr_init(&r, empty, sizeof(empty));
	assert_int_equal(ipcr_str(&r, out, 1), 0);
	assert_false(r.err);
	assert_true(ipcr_done(&r));

	/* after an error, a well-formed string is not read */
	uint8_t two[] = { 0, 0, 0, 9, 'x', 0, 0, 0, 1, 'y' };
	ipcr_init(&r, two, sizeof(two));
	assert_int_equal(ipcr_str(&r, out, sizeof(out)), 0);
	assert_true(r.err);
	memset(out, 'z', sizeof(out));
	assert_int_equal(ipcr_str(&r, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

/* ipcr_bytes: raw bytes, NULs allowed, bounded by max */
static void test_reader_bytes(void **state)
{
	(void)state;
	struct ipc_buf b;
	struct ipc_rd r;
	size_t len;
	ipcb_init(&b);
	ipcb_str(&b, "a\0b", 3);
	ipcb_str(&b, "", 0);
	ipcb_str(&b, "toolong", 7);
	ipcr_init(&r, b.data, b.len);
	const uint8_t *p = ipcr_bytes(&r, 3, &len);
	assert_non_null(p);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "a\0b", 3);
	p = ipcr_bytes(&r, 3, &len);
	assert_int_equal(len, 0);
	assert_false(r.err);
	p = ipcr_bytes(&r, 6, &len);
	assert_null(p);
	assert_int_equal(len, 0);
	assert_true(r.err);
	assert_false(ipcr_done(&r));
	/* a length running past the payload */
	ipcr_init(&r, b.data, 6);
	assert_null(ipcr_bytes(&r, 100, &len));
	assert_true(r.err);
	ipcb_free(&b);
}

static void test_send_recv_fd(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	int fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);

	struct ipc_buf b;
	build_sample(&b);
	assert_int_equal(ipc_send_fd(sv[0], 150, 42, b.data, b.len, fd), 0);
	struct ipc_hdr h;
	uint8_t *payload;
	int got_fd;
	assert_int_equal(ipc_recv(sv[1], &h, &payload, &got_fd), 1);
	assert_int_equal(h.type, 150);
	assert_int_equal(h.reqid, 42);
	assert_int_equal(h.flags, IPC_F_FD);
	assert_int_equal(h.len, b.len);
	assert_true(got_fd >= 0);
	assert_true(got_fd != fd);
	struct ipc_rd r;
	ipcr_init(&r, payload, h.len);
	assert_true(read_sample(&r));
	assert_true(ipcr_done(&r));
	free(payload);
	close(got_fd);
	close(fd);

	/* no payload, no fd */
	assert_int_equal(ipc_send_fd(sv[0], 7, 1, NULL, 0, -1), 0);
	assert_int_equal(ipc_recv(sv[1], &h, &payload, &got_fd), 1);
	assert_int_equal(h.len, 0);
	assert_int_equal(h.flags, 0);
	assert_int_equal(got_fd, -1);
	free(payload);

	/* a header claiming an fd that does not come: protocol violation */
	struct ipc_hdr lie = { 7, IPC_F_FD, 0, 1 };
	uint8_t hb[IPC_HDR_LEN];
	ipc_hdr_encode(&lie, hb);
	assert_int_equal(write(sv[0], hb, sizeof(hb)), (ssize_t)sizeof(hb));
	assert_int_equal(ipc_recv(sv[1], &h, &payload, &got_fd), -1);
	assert_null(payload);
	assert_int_equal(got_fd, -1);

	/* a header with an unknown flag */
	struct ipc_hdr bad = { 7, 0x4, 0, 1 };
	ipc_hdr_encode(&bad, hb);
	assert_int_equal(write(sv[0], hb, sizeof(hb)), (ssize_t)sizeof(hb));
	assert_int_equal(ipc_recv(sv[1], &h, &payload, &got_fd), -1);

	/* EOF in the middle of a payload is an error; clean EOF is 0 */
	struct ipc_hdr part = { 7, 0, 10, 1 };
	ipc_hdr_encode(&part, hb);
	assert_int_equal(write(sv[0], hb, sizeof(hb)), (ssize_t)sizeof(hb));
	assert_int_equal(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	assert_int_equal(ipc_recv(sv[1], &h, &payload, &got_fd), -1);
	assert_null(payload);
	assert_int_equal(ipc_recv(sv[1], &h, &payload, &got_fd), 0);
	close(sv[1]);
	ipcb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_encode_layout),
		cmocka_unit_test(test_hdr_roundtrip),
		cmocka_unit_test(test_hdr_short),
		cmocka_unit_test(test_hdr_bad),
		cmocka_unit_test(test_builder_layout),
		cmocka_unit_test(test_builder_growth),
		cmocka_unit_test(test_builder_limit),
		cmocka_unit_test(test_reader_roundtrip),
		cmocka_unit_test(test_reader_truncated),
		cmocka_unit_test(test_reader_errors_are_zero),
		cmocka_unit_test(test_reader_str),
		cmocka_unit_test(test_reader_bytes),
		cmocka_unit_test(test_send_recv_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
