# postern: one make builds everything. See README.md.
#   make            build (gcc, -Werror, hardening flags) into build/
#   make check      install what is missing, unit tests, integration tests,
#                   then the integration tests again on an ASan+UBSan build
#   make run        the demo mail host on loopback, state under demo/
#   make fuzz       build and briefly run the libFuzzer targets (clang)

CC       = gcc
BUILD   ?= build
PREFIX  ?= /usr/local
# systemd reads units from /usr/local/lib/systemd/system too
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SAN     ?=

PKGS     = libbsd libevent libevent_openssl libcrypt lmdb libssl libcrypto
# libunbound: the resolver alone links it
UNBOUND_LIBS = $(shell pkg-config --libs libunbound 2>/dev/null || echo -lunbound)
CPPFLAGS += -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -Icommon -Ismtpd -Iqueued -Ipop3d -Iresolver -Irelay -Ictl \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
OPT     ?= -O2 -g
CFLAGS  += $(OPT) -std=c17 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
           -fstack-protector-strong -fPIE $(SAN)
LDFLAGS += -pie -Wl,-z,relro,-z,now $(SAN)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lbsd -levent -levent_openssl -lcrypt -llmdb -lssl -lcrypto)

ifneq ($(SAN),)
CPPFLAGS := $(filter-out -D_FORTIFY_SOURCE=2,$(CPPFLAGS))
endif

COMMON_SRC = common/util.c common/log.c common/ipc.c common/addr.c \
             common/config.c common/config_reload.c common/tables.c common/privsep.c \
             common/monitor.c common/auth.c common/netserver.c \
             common/ticket.c common/maildir.c common/sasl.c common/tls.c common/authfail.c \
             common/pidfile.c common/ctlmsg.c common/msgfilter.c common/usock.c
SMTPD_SRC  = smtpd/smtpd.c smtpd/session.c smtpd/smtp_parse.c smtpd/data_filter.c smtpd/hdr_scan.c
QUEUED_SRC = queued/queued.c queued/qmgr.c queued/local.c queued/qrecord.c queued/qindex.c queued/dsn.c queued/bounce.c queued/submit_begin.c \
             queued/control.c queued/submit.c queued/submit_client.c queued/pickup.c
POP3D_SRC  = pop3d/pop3d.c pop3d/login.c pop3d/session.c pop3d/maildrop.c pop3d/pop3_parse.c
# the remote delivery agent's pure parts, and the agent (run by queued)
RELAY_LIB  = relay/smtp_reply.c relay/mx.c relay/rdeliver.c
RELAY_SRC  = relay/agent.c relay/client.c relay/route.c relay/dnsc.c relay/relay_tls.c
CTL_SRC    = ctl/posternctl.c ctl/ctl_queue.c ctl/queue_list.c queued/qrecord.c queued/qindex.c
# the sendmail command: runs as the invoking user; sendmail_parse.c is
# its pure header-recipient parser (unit-tested, fuzzed)
SENDMAIL_SRC = ctl/sendmail.c ctl/sendmail_parse.c queued/submit_client.c
RESOLVER_SRC = resolver/resolver.c resolver/worker.c
# the resolver's pure parts, shared with its clients (posternctl)
DNS_SRC    = resolver/dns_name.c resolver/dns_rdata.c resolver/dns_proto.c resolver/dns_conf.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMMON_OBJ = $(call obj,$(COMMON_SRC))

PROGS = $(BUILD)/smtpd $(BUILD)/queued $(BUILD)/pop3d $(BUILD)/posternctl $(BUILD)/resolver $(BUILD)/sendmail
UNIT_TESTS = $(patsubst tests/unit/%.c,$(BUILD)/%,$(wildcard tests/unit/test_*.c))

all: $(PROGS)

$(BUILD)/obj/%.o: %.c $(wildcard common/*.h smtpd/*.h queued/*.h pop3d/*.h resolver/*.h relay/*.h ctl/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/smtpd: $(call obj,$(SMTPD_SRC)) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/queued: $(call obj,$(QUEUED_SRC) $(RELAY_SRC) $(RELAY_LIB) $(DNS_SRC)) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/pop3d: $(call obj,$(POP3D_SRC)) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/posternctl: $(call obj,$(CTL_SRC) $(DNS_SRC)) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# sendmail runs once per message (cron, PHP): it links only what it
# uses, so that loading it resolves no OpenSSL, LMDB or libcrypt
SENDMAIL_COMMON = common/addr.c common/config.c common/ipc.c common/util.c common/log.c common/msgfilter.c \
                  common/usock.c
$(BUILD)/sendmail: $(call obj,$(SENDMAIL_SRC) $(SENDMAIL_COMMON))
	$(CC) $(LDFLAGS) -o $@ $^ -lbsd -levent
$(BUILD)/resolver: $(call obj,$(RESOLVER_SRC) $(DNS_SRC)) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(UNBOUND_LIBS)

# unit tests link the parsers they test and everything in common/
LIB_OBJ = $(COMMON_OBJ) $(call obj,smtpd/smtp_parse.c smtpd/data_filter.c smtpd/hdr_scan.c queued/qrecord.c queued/qindex.c queued/dsn.c queued/submit_begin.c queued/submit_client.c pop3d/pop3_parse.c ctl/sendmail_parse.c ctl/queue_list.c $(DNS_SRC) $(RELAY_LIB))
$(BUILD)/test_%: $(call obj,tests/unit/test_%.c) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t; done

PYTEST = /usr/bin/python3 -m pytest

integration: all
	POSTERN_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q -ra tests/integration

check:
	sh tests/install-deps.sh
	$(MAKE) all unit
	$(MAKE) integration
	$(MAKE) BUILD=build-asan SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" OPT="-O1 -g" all
	POSTERN_BUILD=$(CURDIR)/build-asan POSTERN_SANITIZER=1 $(PYTEST) -q -ra tests/integration
	$(MAKE) CC=clang BUILD=build-clang all
	$(MAKE) fuzz-build

run:
	sh tests/install-deps.sh
	$(MAKE) all
	sh etc/demo-run.sh $(CURDIR)/$(BUILD) $(CURDIR)/demo

FUZZ_TARGETS = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SRC = $(COMMON_SRC) smtpd/smtp_parse.c smtpd/data_filter.c smtpd/hdr_scan.c queued/qrecord.c queued/dsn.c queued/submit_begin.c queued/submit_client.c pop3d/pop3_parse.c ctl/sendmail_parse.c $(DNS_SRC) $(RELAY_LIB)
fuzz-build:
	@mkdir -p build-fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	  clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c17 $(filter-out -D_FORTIFY_SOURCE=2,$(CPPFLAGS)) \
	    -o build-fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c $(FUZZ_SRC) $(LDLIBS); done
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do echo "== fuzz $$t"; \
	  mkdir -p build-fuzz/corpus-$$t; \
	  ./build-fuzz/fuzz_$$t -max_total_time=$${FUZZ_SECONDS:-20} -max_len=4096 build-fuzz/corpus-$$t; done

install: all
	install -d $(DESTDIR)$(PREFIX)/libexec/postern $(DESTDIR)$(PREFIX)/sbin
	install -m 755 $(BUILD)/smtpd $(BUILD)/queued $(BUILD)/pop3d $(BUILD)/resolver $(DESTDIR)$(PREFIX)/libexec/postern/
	install -m 755 $(BUILD)/posternctl $(DESTDIR)$(PREFIX)/sbin/
	install -d $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 644 docs/postern.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 docs/posternctl.8 docs/sendmail.8 docs/pop3d.8 docs/smtpd.8 docs/resolver.8 docs/queued.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	@# supervisor files, with the daemons' path made $(PREFIX)'s: the systemd
	@# units where systemd finds them (not enabled), the others as examples
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	for f in etc/systemd/*; do \
	  sed 's|/usr/local/libexec/postern/|$(PREFIX)/libexec/postern/|g' $$f > $(DESTDIR)$(SYSTEMDUNITDIR)/$${f##*/} && \
	  chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${f##*/} || exit 1; done
	for f in etc/runit/*/run etc/runit/*/log/run etc/s6/*/run etc/s6/*/log/run etc/s6/*/timeout-kill etc/supervisord/postern.conf; do \
	  d=$(DESTDIR)$(PREFIX)/share/postern/$${f#etc/}; install -d $${d%/*} && \
	  sed 's|/usr/local/libexec/postern/|$(PREFIX)/libexec/postern/|g' $$f > $$d && \
	  chmod $$(stat -c %a $$f) $$d || exit 1; done
	@# the system users, group postern-admin and /etc/postern with its
	@# owners and modes; not when staging into DESTDIR or without root
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	  install -d -m 755 /etc/postern && \
	  { [ -e /etc/postern/postern.conf ] || install -m 644 etc/postern.conf /etc/postern/; } && \
	  { [ -e /etc/postern/aliases ] || install -m 644 etc/aliases /etc/postern/; } && \
	  $(PREFIX)/sbin/posternctl -f /etc/postern/postern.conf setup; fi

# the sendmail command (and mailq), where cron, PHP and scripts look for
# them; not part of install, since it replaces another MTA's sendmail
install-sendmail: $(BUILD)/sendmail
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/sendmail $(DESTDIR)$(PREFIX)/sbin/sendmail
	ln -sf ../sbin/sendmail $(DESTDIR)$(PREFIX)/bin/mailq

clean:
	rm -rf build build-asan build-clang build-fuzz

.PHONY: all unit integration check run fuzz fuzz-build install install-sendmail clean
