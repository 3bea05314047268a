/*
 * test_usock.c: unit tests for common/usock.c: a listener and a
 * connection through it (blocking and not, with timeouts), the mode of
 * the socket file, a stale socket replaced, and the errors a caller
 * tells apart (ENAMETOOLONG, ENOENT, ECONNREFUSED).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "usock.h"

static char dir[] = "/tmp/postern-usock-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof(path), "%s/sock", dir);
	unlink(path);
	return rmdir(dir);
}

static void test_listen_and_connect(void **state)
{
	(void)state;
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/sock", dir);
	int l = usock_listen(path);
	assert_true(l >= 0);
	assert_true(fcntl(l, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(l, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	int c = usock_connect(path, false, 3);
	assert_true(c >= 0);
	assert_false(fcntl(c, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);
	struct timeval tv;
	socklen_t tl = sizeof(tv);
	assert_int_equal(getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl), 0);
	assert_int_equal(tv.tv_sec, 3);
	tl = sizeof(tv);
	assert_int_equal(getsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl), 0);
	assert_int_equal(tv.tv_sec, 3);
	int a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(c, "x", 1), 1);
	char ch = 0;
	assert_int_equal(read(a, &ch, 1), 1);
	assert_int_equal(ch, 'x');
	close(a);
	close(c);

	c = usock_connect(path, true, 0);
	assert_true(c >= 0);
	assert_true(fcntl(c, F_GETFL) & O_NONBLOCK);
	close(c);

	/* a socket left by a stopped daemon is replaced, not an error */
	close(l);
	l = usock_listen(path);
	assert_true(l >= 0);
	close(l);
	/* nobody listening now */
	errno = 0;
	assert_int_equal(usock_connect(path, false, 0), -1);
	assert_int_equal(errno, ECONNREFUSED);
	unlink(path);
}

static void test_errors(void **state)
{
	(void)state;
	char path[256], longpath[200];
	snprintf(path, sizeof(path), "%s/missing", dir);
	errno = 0;
	assert_int_equal(usock_connect(path, false, 1), -1);
	assert_int_equal(errno, ENOENT);

	/* one byte more than sun_path holds */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	errno = 0;
	assert_int_equal(usock_connect(longpath, false, 0), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	errno = 0;
	assert_int_equal(usock_listen(longpath), -1);
	assert_int_equal(errno, ENAMETOOLONG);

	/* a directory in the way is not removed */
	snprintf(path, sizeof(path), "%s/sock", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(usock_listen(path), -1);
	assert_int_equal(rmdir(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_and_connect),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
